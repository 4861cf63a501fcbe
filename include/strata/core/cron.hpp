#pragma once

#include <array>
#include <bit>  // countr_zero
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/record.hpp"  // Clock

namespace strata {

namespace detail::cron {

struct Field {
    std::string_view name;
    int min, max;  // max of the values written; day-of-week also takes 7 for Sunday
    int span_max;  // the last value '*' covers (6 for day-of-week: 7 is 0 again)
    std::array<std::string_view, 12> names;  // names[i] is min + i, for months and weekdays
};

inline constexpr std::array<Field, 5> fields{{
    {"minute", 0, 59, 59, {}},
    {"hour", 0, 23, 23, {}},
    {"day-of-month", 1, 31, 31, {}},
    {"month", 1, 12, 12, {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
    {"day-of-week", 0, 7, 6, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}};

struct Parsed {
    std::uint64_t bits = 0;
    bool star = false;  // the field is '*' or '*/step'
};

[[noreturn]] inline void fail(std::string_view text, const std::string& why) {
    // Bounded: the expression may be anything a configuration file holds.
    const std::string shown = text.size() > 64 ? std::string(text.substr(0, 64)) + "..." : std::string(text);
    throw std::invalid_argument("strata: cron expression '" + shown + "': " + why);
}

[[noreturn]] inline void fail(std::string_view text, std::string_view field, const std::string& why) {
    fail(text, std::string(field) + " field: " + why);
}

inline char upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// A number or (for months and weekdays) a three-letter name, within the
// field's bounds.
inline int value(std::string_view text, const Field& f, std::string_view v) {
    if (v.empty()) fail(text, f.name, "a value is missing");
    if (v[0] >= '0' && v[0] <= '9') {
        int n = 0;
        for (const char c : v) {
            if (c < '0' || c > '9') fail(text, f.name, "'" + std::string(v) + "' is not a number");
            n = n * 10 + (c - '0');
            if (n > f.max) fail(text, f.name, std::string(v) + " is out of range " + std::to_string(f.min) + "-" + std::to_string(f.max));
        }
        if (n < f.min) fail(text, f.name, std::string(v) + " is out of range " + std::to_string(f.min) + "-" + std::to_string(f.max));
        return n;
    }
    for (std::size_t i = 0; i < f.names.size() && !f.names[i].empty(); ++i)
        if (v.size() == 3 && upper(v[0]) == f.names[i][0] && upper(v[1]) == f.names[i][1] && upper(v[2]) == f.names[i][2])
            return f.min + static_cast<int>(i);
    fail(text, f.name, "'" + std::string(v) + "' is " + (f.names[0].empty() ? "not a number" : "neither a number nor a name"));
}

// One field: '*', or a list of values, ranges 'a-b' and steps 'x/n'
// ('*/n', 'a-b/n', 'a/n' = a to the field's end).
inline Parsed field(std::string_view text, const Field& f, std::string_view s) {
    Parsed out;
    const int span = f.span_max - f.min + 1;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = s.find(',', start);
        const std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
        if (item.empty()) fail(text, f.name, "an element of the list is empty");
        const std::size_t slash = item.find('/');
        const std::string_view base = item.substr(0, slash);
        int step = 1;
        if (slash != std::string_view::npos) {
            const std::string_view st = item.substr(slash + 1);
            if (st.empty() || st.size() > 2 || st.find_first_not_of("0123456789") != st.npos)
                fail(text, f.name, "step '" + std::string(st) + "' is not a number from 1 to " + std::to_string(span));
            step = std::stoi(std::string(st));
            if (step < 1 || step > span)
                fail(text, f.name, "step " + std::to_string(step) + " is not from 1 to " + std::to_string(span));
        }
        int lo = 0, hi = 0;
        if (base == "*") {
            // Only alone: '*' in a list would make the day-of-month and
            // day-of-week rule depend on where it stands.
            if (start != 0 || comma != std::string_view::npos) fail(text, f.name, "'*' must be the whole field");
            out.star = true;
            lo = f.min;
            hi = f.span_max;
        } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
            lo = value(text, f, base.substr(0, dash));
            hi = value(text, f, base.substr(dash + 1));
            if (hi < lo) fail(text, f.name, "range " + std::string(base) + " runs backwards");
        } else {
            lo = value(text, f, base);
            hi = slash == std::string_view::npos ? lo : f.max;
        }
        for (int v = lo; v <= hi; v += step) out.bits |= std::uint64_t{1} << (v == 7 && f.span_max == 6 ? 0 : v);
        if (comma == std::string_view::npos) return out;
        start = comma + 1;
    }
}

// The field as to_string writes it: '*' or '*/n' for a star field, else the
// values as ranges of consecutive runs.
inline std::string format(const Field& f, const Parsed& p, bool keep_star) {
    const int first = std::countr_zero(p.bits);
    const std::uint64_t all = ((std::uint64_t{2} << f.span_max) - 1) & ~((std::uint64_t{1} << f.min) - 1);
    if (p.star || (!keep_star && p.bits == all)) {
        if (p.bits == all) return "*";
        const std::uint64_t rest = p.bits & (p.bits - 1);
        const int step = rest ? std::countr_zero(rest) - first : f.span_max - f.min + 1;
        return "*/" + std::to_string(step);
    }
    std::string out;
    for (int v = first; v <= f.span_max;) {
        if (!(p.bits >> v & 1)) {
            ++v;
            continue;
        }
        int end = v;
        while (end < f.span_max && (p.bits >> (end + 1) & 1)) ++end;
        if (!out.empty()) out += ',';
        out += std::to_string(v);
        if (end > v) out += '-' + std::to_string(end);
        v = end + 1;
    }
    return out;
}

}  // namespace detail::cron

// A standard five-field cron expression, "minute hour day-of-month month
// day-of-week": '*', lists 'a,b', ranges 'a-b', steps '*/n' and 'a-b/n',
// month names JAN-DEC and day names SUN-SAT (any case), 0 and 7 both Sunday,
// and the macros @yearly (@annually), @monthly, @weekly, @daily (@midnight)
// and @hourly. As in cron, when both day fields are restricted (neither is
// '*' or '*/n') a day matches if either does. Times are UTC.
class CronExpression {
public:
    // Malformed input throws std::invalid_argument naming the field and why.
    static CronExpression parse(std::string_view text) {
        static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> macros{{
            {"@yearly", "0 0 1 1 *"},
            {"@annually", "0 0 1 1 *"},
            {"@monthly", "0 0 1 * *"},
            {"@weekly", "0 0 * * 0"},
            {"@daily", "0 0 * * *"},
            {"@midnight", "0 0 * * *"},
            {"@hourly", "0 * * * *"},
        }};
        std::vector<std::string_view> parts;
        for (std::size_t i = 0; i < text.size();) {
            if (text[i] == ' ' || text[i] == '\t') {
                ++i;
                continue;
            }
            const std::size_t end = text.find_first_of(" \t", i);
            parts.push_back(text.substr(i, end == text.npos ? text.npos : end - i));
            i = end == text.npos ? text.size() : end;
        }
        if (parts.size() == 1 && parts[0].starts_with('@')) {
            for (const auto& [name, expansion] : macros)
                if (parts[0] == name) return parse(expansion);
            detail::cron::fail(text, "'" + std::string(parts[0]) + "' is not one of @yearly, @annually, @monthly, "
                                     "@weekly, @daily, @midnight, @hourly");
        }
        if (parts.size() != detail::cron::fields.size())
            detail::cron::fail(text, "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                                                  std::to_string(parts.size()));
        CronExpression e;
        for (std::size_t i = 0; i < parts.size(); ++i) e.fields_[i] = detail::cron::field(text, detail::cron::fields[i], parts[i]);
        return e;
    }

    // Whether the minute holding `t` (UTC) matches.
    bool matches(Clock::time_point t) const {
        using namespace std::chrono;
        const auto m = floor<minutes>(t);
        const auto day = floor<days>(m);
        const auto tod = m - day;
        return bit(0, static_cast<int>(tod.count() % 60)) && bit(1, static_cast<int>(tod.count() / 60)) &&
               day_matches(day);
    }

    // The first matching minute strictly after `t` (UTC), or nullopt when
    // there is none (0 0 30 2 *) or it lies beyond what Clock can hold. The
    // calendar repeats every 400 years, so the search stops there.
    std::optional<Clock::time_point> next_after(Clock::time_point t) const {
        using namespace std::chrono;
        const auto from = floor<minutes>(t) + minutes{1};
        sys_days day = floor<days>(from);
        int minute_of_day = static_cast<int>((from - day).count());
        const sys_days limit = day + days{146097 + 1};
        while (day < limit) {
            const year_month_day ymd{day};
            if (!bit(3, static_cast<int>(static_cast<unsigned>(ymd.month())))) {
                day = sys_days{(year_month{ymd.year(), ymd.month()} + months{1}) / 1};
                minute_of_day = 0;
                continue;
            }
            if (day_matches(day))
                if (const auto at = first_time(minute_of_day)) {
                    const auto found = day + minutes{*at};
                    if (found > floor<minutes>(Clock::time_point::max())) return std::nullopt;
                    return time_point_cast<Clock::duration>(found);
                }
            day += days{1};
            minute_of_day = 0;
        }
        return std::nullopt;
    }

    // A canonical form that parses back to an equal expression.
    std::string to_string() const {
        std::string out;
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i) out += ' ';
            // A full day field written as a list keeps the either-day rule.
            out += detail::cron::format(detail::cron::fields[i], fields_[i], i == 2 || i == 4);
        }
        return out;
    }

    friend bool operator==(const CronExpression& a, const CronExpression& b) noexcept {
        for (std::size_t i = 0; i < a.fields_.size(); ++i) {
            const bool star_matters = i == 2 || i == 4;
            if (a.fields_[i].bits != b.fields_[i].bits || (star_matters && a.fields_[i].star != b.fields_[i].star))
                return false;
        }
        return true;
    }

private:
    CronExpression() = default;

    bool bit(std::size_t field, int v) const noexcept { return fields_[field].bits >> v & 1; }

    bool day_matches(std::chrono::sys_days day) const {
        const std::chrono::year_month_day ymd{day};
        if (!bit(3, static_cast<int>(static_cast<unsigned>(ymd.month())))) return false;
        const bool dom = bit(2, static_cast<int>(static_cast<unsigned>(ymd.day())));
        const bool dow = bit(4, static_cast<int>(std::chrono::weekday{day}.c_encoding()));
        return fields_[2].star || fields_[4].star ? dom && dow : dom || dow;
    }

    // The first matching minute of a day at or after `from` (minutes since midnight).
    std::optional<int> first_time(int from) const {
        for (int h = from / 60; h < 24; ++h) {
            if (!bit(1, h)) continue;
            const int m0 = h == from / 60 ? from % 60 : 0;
            if (const std::uint64_t left = fields_[0].bits >> m0 << m0) return h * 60 + std::countr_zero(left);
        }
        return std::nullopt;
    }

    std::array<detail::cron::Parsed, 5> fields_{};
};

}  // namespace strata
