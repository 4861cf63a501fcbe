#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>  // int64_t
#include <optional>
#include <string_view>

#include "strata/core/record.hpp"  // Clock

// The time requests are signed at. S3 refuses a request whose x-amz-date is
// more than 15 minutes from its own clock (RequestTimeTooSkewed), so a host
// whose clock has drifted would fail every call. As AWS's SDKs do, the
// client then signs by the server's time, read from the refusal's Date.
namespace strata::detail::s3 {

inline std::optional<int> parse_digits(std::string_view s) {
    int v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

template <std::size_t N>
std::optional<unsigned> name_index(const std::array<std::string_view, N>& names, std::string_view s) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<unsigned>(i);
    return std::nullopt;
}

// Seconds since the epoch of an HTTP date in the IMF-fixdate form servers
// send ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110), read without the C
// locale; nullopt for anything else.
inline std::optional<std::int64_t> parse_http_date(std::string_view s) {
    static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    // 0    5  8   12   17 20 23 26
    // Sun, 06 Nov 1994 08:49:37 GMT
    if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
        s[22] != ':' || s.substr(25) != " GMT" || !name_index(days, s.substr(0, 3)))
        return std::nullopt;
    const auto day = parse_digits(s.substr(5, 2));
    const auto month = name_index(months, s.substr(8, 3));
    const auto year = parse_digits(s.substr(12, 4));
    const auto hour = parse_digits(s.substr(17, 2));
    const auto minute = parse_digits(s.substr(20, 2));
    const auto second = parse_digits(s.substr(23, 2));
    if (!day || !month || !year || !hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60)
        return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year{*year}, std::chrono::month{*month + 1},
                                           std::chrono::day{static_cast<unsigned>(*day)}};
    if (!date.ok()) return std::nullopt;
    const auto midnight = std::chrono::sys_days{date}.time_since_epoch();
    return std::chrono::duration_cast<std::chrono::seconds>(midnight).count() + *hour * 3600 + *minute * 60 + *second;
}

// The host's clock plus the offset last learnt from the server. Safe to
// share between threads.
class SigningClock {
public:
    Clock::time_point now() const noexcept { return Clock::now() + offset(); }

    std::chrono::seconds offset() const noexcept {
        return std::chrono::seconds{offset_.load(std::memory_order_relaxed)};
    }

    // Takes the server's time from a response's Date header; false when the
    // header does not parse or names a time Clock cannot hold (before 1970 or
    // after 2262 for nanoseconds: now() would overflow), leaving the clock as
    // it was.
    bool adopt(std::string_view http_date) noexcept {
        constexpr auto latest = std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()).count();
        constexpr std::int64_t day = 86'400;  // room for the host's clock being ahead of the server's
        const auto server = parse_http_date(http_date);
        if (!server || *server < day || *server > latest - day) return false;
        const auto local = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
        offset_.store(*server - local, std::memory_order_relaxed);
        return true;
    }

private:
    std::atomic<std::int64_t> offset_{0};
};

}  // namespace strata::detail::s3
