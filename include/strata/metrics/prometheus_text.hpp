#pragma once

#include <charconv>  // to_chars
#include <cmath>     // isnan, isinf, trunc, fabs
#include <cstdint>   // int64_t, uint64_t
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "strata/metrics/metric_family.hpp"

// The Prometheus text exposition format 0.0.4 of any set of metric sources:
//   strata::write_prometheus(std::cout, mgr, checkpointer, backups, recovery);
// Serve it with prometheus_content_type. Every number is written with
// std::to_chars, so the stream's locale never shows in the output.
namespace strata {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

namespace detail {

inline std::string prometheus_integer(std::uint64_t v) {
    char buf[24];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// A whole number in full; anything else in the shortest form that reads back
// as the same double; NaN, +Inf and -Inf as Prometheus spells them.
inline std::string prometheus_number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    // 2^63 and beyond do not fit an int64_t; to_chars writes them exactly too.
    if (v == std::trunc(v) && std::fabs(v) < 9.2e18)
        return std::string(buf, std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v)).ptr);
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// HELP text escapes backslash and newline; a label value also the double quote.
inline void write_escaped(std::ostream& out, std::string_view text, bool label_value) {
    for (const char c : text) {
        if (c == '\\')
            out << "\\\\";
        else if (c == '\n')
            out << "\\n";
        else if (c == '"' && label_value)
            out << "\\\"";
        else
            out << c;
    }
}

// One line: name{labels...,le="bound"} value. `le` is empty except for a bucket.
inline void write_sample_line(std::ostream& out, std::string_view name, std::string_view suffix,
                              const std::vector<MetricLabel>& labels, std::string_view le, std::string_view value) {
    out << name << suffix;
    if (!labels.empty() || !le.empty()) {
        out << '{';
        const char* separator = "";
        for (const auto& l : labels) {
            out << separator << l.name << "=\"";
            write_escaped(out, l.value, true);
            out << '"';
            separator = ",";
        }
        if (!le.empty()) out << separator << "le=\"" << le << '"';
        out << '}';
    }
    out << ' ' << value << '\n';
}

constexpr std::string_view to_string(MetricType t) noexcept {
    switch (t) {
        case MetricType::counter: return "counter";
        case MetricType::gauge: return "gauge";
        case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

}  // namespace detail

// Every family that has samples: HELP and TYPE once, then its samples; a
// histogram as cumulative _bucket lines ending at le="+Inf" (the count),
// then _sum and _count. The families were checked as they were added (see
// MetricFamilies), so what is written here parses.
inline void write_prometheus(std::ostream& out, const MetricFamilies& families) {
    for (const auto& f : families.families()) {
        if (f.samples.empty()) continue;
        out << "# HELP " << f.name << ' ';
        detail::write_escaped(out, f.help, false);
        out << "\n# TYPE " << f.name << ' ' << detail::to_string(f.type) << '\n';
        for (const auto& s : f.samples) {
            if (f.type != MetricType::histogram) {
                detail::write_sample_line(out, f.name, "", s.labels, "", detail::prometheus_number(s.value));
                continue;
            }
            for (const auto& b : s.buckets)
                detail::write_sample_line(out, f.name, "_bucket", s.labels, detail::prometheus_number(b.upper_bound),
                                          detail::prometheus_integer(b.cumulative_count));
            const std::string count = detail::prometheus_integer(s.count);
            detail::write_sample_line(out, f.name, "_bucket", s.labels, "+Inf", count);
            detail::write_sample_line(out, f.name, "_sum", s.labels, "", detail::prometheus_number(s.sum));
            detail::write_sample_line(out, f.name, "_count", s.labels, "", count);
        }
    }
}

// The figures of every source (anything with an ADL collect_metrics, see
// MetricSource), merged by family name.
template <MetricSource... Sources>
void write_prometheus(std::ostream& out, Sources&... sources) {
    write_prometheus(out, collect_all(sources...));
}

}  // namespace strata
