#pragma once

#include <concepts>
#include <cstdint>  // uint64_t
#include <map>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

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

inline bool metric_name_char(char c, bool first) noexcept {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    return alpha || (!first && c >= '0' && c <= '9');
}

inline void check_metric_name(std::string_view name, std::string_view what) {
    bool ok = !name.empty();
    for (std::size_t i = 0; ok && i < name.size(); ++i) ok = metric_name_char(name[i], i == 0);
    if (!ok)
        throw std::invalid_argument("strata: invalid Prometheus " + std::string(what) + " name '" + std::string(name) +
                                    "' (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)");
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
        index_.emplace(std::string(name), families_.size());
        families_.push_back({std::string(name), std::string(help), type, {}});
        return families_.back();
    }

    void add(std::string_view name, std::string_view help, MetricType type, std::vector<MetricLabel> labels,
             double value) {
        for (const auto& l : labels) detail::check_metric_name(l.name, "label");
        family(name, help, type).samples.push_back({std::move(labels), value, {}, 0, 0});
    }

    void add_histogram(std::string_view name, std::string_view help, std::vector<MetricLabel> labels,
                       std::vector<HistogramBucket> buckets, std::uint64_t count, double sum) {
        for (const auto& l : labels) detail::check_metric_name(l.name, "label");
        family(name, help, MetricType::histogram)
            .samples.push_back({std::move(labels), 0, std::move(buckets), count, sum});
    }

    const std::vector<MetricFamily>& families() const noexcept { return families_; }

private:
    std::vector<MetricFamily> families_;
    std::map<std::string, std::size_t, std::less<>> index_;
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
