#pragma once

#include <algorithm>  // sort
#include <chrono>
#include <cmath>      // isfinite
#include <concepts>
#include <cstdint>  // uint64_t
#include <map>
#include <set>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

#include "strata/core/record.hpp"  // Clock

// The figures strata exports, as a model that both writers read: the
// Prometheus text (write_prometheus) and the prometheus-cpp bridge. A source
// (a manager, an instrumented tier, a checkpointer...) adds its figures to a
// MetricFamilies through an ADL-found `collect_metrics(source, families)`;
// families of the same name from several sources merge, so HELP and TYPE are
// written once.
namespace strata {

enum class MetricType { counter, gauge, histogram };

struct MetricLabel {
    std::string name;
    std::string value;
    friend bool operator==(const MetricLabel&, const MetricLabel&) = default;
};

// One bucket of a histogram: observations <= upper_bound, cumulative as
// Prometheus wants them; the +Inf bucket is `count` and is not listed.
struct HistogramBucket {
    double upper_bound = 0;
    std::uint64_t cumulative_count = 0;
};

struct MetricSample {
    std::vector<MetricLabel> labels;
    double value = 0;                       // counter or gauge
    std::vector<HistogramBucket> buckets;   // histogram only, ascending bounds
    std::uint64_t count = 0;                // histogram only
    double sum = 0;                         // histogram only
};

struct MetricFamily {
    std::string name;  // base units in the name; counters end in _total
    std::string help;
    MetricType type = MetricType::gauge;
    std::vector<MetricSample> samples;
};

namespace detail {

// Prometheus allows ':' in metric names but keeps it for recording rules
// (promtool refuses it from a target), so strata's names, like label names,
// are [a-zA-Z_][a-zA-Z0-9_]*.
inline bool metric_name_char(char c, bool first) noexcept {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return alpha || (!first && c >= '0' && c <= '9');
}

inline void check_metric_name(std::string_view name, std::string_view what) {
    bool ok = !name.empty();
    for (std::size_t i = 0; ok && i < name.size(); ++i) ok = metric_name_char(name[i], i == 0);
    if (!ok)
        throw std::invalid_argument("strata: invalid Prometheus " + std::string(what) + " name '" + std::string(name) +
                                    "' (allowed: [a-zA-Z_][a-zA-Z0-9_]*)");
}

// Seconds since the Unix epoch (system_clock's epoch since C++20), and a
// duration in seconds: the base unit Prometheus names want.
inline double unix_seconds(Clock::time_point t) noexcept {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}
inline double metric_seconds(Clock::duration d) noexcept { return std::chrono::duration<double>(d).count(); }

// Label names starting "__" are Prometheus's own.
inline void check_label_name(std::string_view name) {
    check_metric_name(name, "label");
    if (name.starts_with("__"))
        throw std::invalid_argument("strata: invalid Prometheus label name '" + std::string(name) +
                                    "' (allowed: [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
}

// A sample's labels, checked, as a key naming its series within a family:
// the same names and values in any order are the same series.
inline std::string series_key(const std::vector<MetricLabel>& labels, std::string_view family) {
    std::vector<const MetricLabel*> sorted;
    for (const auto& l : labels) {
        check_label_name(l.name);
        sorted.push_back(&l);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    std::string key;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0 && sorted[i]->name == sorted[i - 1]->name)
            throw std::invalid_argument("strata: metric '" + std::string(family) + "': label '" + sorted[i]->name +
                                        "' given twice in one sample");
        // Sizes first, so no value can be mistaken for a separator.
        key += std::to_string(sorted[i]->name.size()) + ':' + sorted[i]->name + std::to_string(sorted[i]->value.size()) +
               ':' + sorted[i]->value;
    }
    return key;
}

inline void check_histogram(std::string_view family, const std::vector<MetricLabel>& labels,
                            const std::vector<HistogramBucket>& buckets, std::uint64_t count) {
    for (const auto& l : labels)
        if (l.name == "le")
            throw std::invalid_argument("strata: histogram '" + std::string(family) +
                                        "': label 'le' is the bucket bound's, not a sample's");
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        const bool ascending = i == 0 || (buckets[i].upper_bound > buckets[i - 1].upper_bound &&
                                          buckets[i].cumulative_count >= buckets[i - 1].cumulative_count);
        if (!std::isfinite(buckets[i].upper_bound) || !ascending || buckets[i].cumulative_count > count)
            throw std::invalid_argument("strata: histogram '" + std::string(family) +
                                        "': buckets must have finite, ascending bounds and cumulative counts "
                                        "no greater than the count (+Inf is the count, not listed)");
    }
}

}  // namespace detail

// The families gathered from every source, in the order first added.
class MetricFamilies {
public:
    // The family `name`, made on first use. Adding a name again with another
    // type is a programming error: Prometheus rejects such an exposition.
    MetricFamily& family(std::string_view name, std::string_view help, MetricType type) {
        if (auto it = index_.find(name); it != index_.end()) {
            auto& f = families_[it->second];
            if (f.type != type)
                throw std::invalid_argument("strata: metric family '" + std::string(name) +
                                            "' added with two different types");
            return f;
        }
        detail::check_metric_name(name, "metric");
        if (help.empty())
            throw std::invalid_argument("strata: metric family '" + std::string(name) + "' needs a HELP text");
        index_.emplace(std::string(name), families_.size());
        families_.push_back({std::string(name), std::string(help), type, {}});
        return families_.back();
    }

    // A sample whose family already holds one with the same labels is
    // refused: Prometheus would see one series twice.
    void add(std::string_view name, std::string_view help, MetricType type, std::vector<MetricLabel> labels,
             double value) {
        if (type == MetricType::histogram)
            throw std::invalid_argument("strata: metric '" + std::string(name) + "': a histogram goes in add_histogram");
        const std::string series = detail::series_key(labels, name);
        auto& f = family(name, help, type);
        claim_series(f.name, series);
        f.samples.push_back({std::move(labels), value, {}, 0, 0});
    }

    void add_histogram(std::string_view name, std::string_view help, std::vector<MetricLabel> labels,
                       std::vector<HistogramBucket> buckets, std::uint64_t count, double sum) {
        detail::check_histogram(name, labels, buckets, count);
        const std::string series = detail::series_key(labels, name);
        auto& f = family(name, help, MetricType::histogram);
        claim_series(f.name, series);
        f.samples.push_back({std::move(labels), 0, std::move(buckets), count, sum});
    }

    const std::vector<MetricFamily>& families() const noexcept { return families_; }

private:
    // Checked before a sample is added, so a refused one leaves no trace.
    void claim_series(const std::string& family, const std::string& series) {
        if (!series_.insert(family + '{' + series).second)
            throw std::invalid_argument("strata: metric '" + family +
                                        "': two samples with the same labels (two sources for one series?)");
    }

    std::vector<MetricFamily> families_;
    std::map<std::string, std::size_t, std::less<>> index_;
    std::set<std::string> series_;  // family name, '{', series_key: every series added
};

// Anything whose figures strata can export: found by ADL, so a user's type
// becomes a source with a `collect_metrics(const T&, MetricFamilies&)` (or
// non-const T&, for sources that lock to read) in its own namespace.
template <class S>
concept MetricSource = requires(S& source, MetricFamilies& out) { collect_metrics(source, out); };

// Every source's figures, merged by family name.
template <MetricSource... Sources>
MetricFamilies collect_all(Sources&... sources) {
    MetricFamilies out;
    (collect_metrics(sources, out), ...);
    return out;
}

}  // namespace strata
