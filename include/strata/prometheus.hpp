#pragma once

// Component strata::prometheus: strata's figures served by prometheus-cpp
// (Debian's prometheus-cpp-dev 1.0). A PrometheusCollectable reads its
// sources only when prometheus-cpp scrapes it, so nothing is registered or
// updated per operation: the hot path costs what the sources already count.
//
//     auto metrics = strata::make_prometheus_collectable(mgr, checkpointer, backups, recovery);
//     prometheus::Exposer exposer{"127.0.0.1:9464"};
//     exposer.RegisterCollectable(metrics);  // keeps a weak_ptr: hold `metrics`
//
// A manager's figures include those of its Instrumented tiers: listing the
// tiers again would give each of their series twice, which is refused (and
// counted as a collection error).
//
// The collectable refers to its sources: remove it from the exposer
// (RemoveCollectable waits for a scrape in progress) or destroy the exposer
// before the sources go.

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <atomic>
#include <cstdint>  // uint64_t
#include <limits>   // infinity
#include <memory>   // shared_ptr
#include <string>
#include <tuple>
#include <utility>  // index_sequence
#include <vector>

#include "strata/metrics/metric_family.hpp"

namespace strata {

namespace detail {

inline prometheus::MetricType prometheus_type(MetricType type) noexcept {
    switch (type) {
        case MetricType::counter: return prometheus::MetricType::Counter;
        case MetricType::gauge: return prometheus::MetricType::Gauge;
        case MetricType::histogram: return prometheus::MetricType::Histogram;
    }
    return prometheus::MetricType::Untyped;
}

// prometheus-cpp 1.0 escapes label values but writes HELP verbatim, so a
// backslash or newline in a help text would break the exposition.
inline std::string prometheus_help(const std::string& help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

inline prometheus::ClientMetric prometheus_metric(const MetricSample& sample, MetricType type) {
    prometheus::ClientMetric metric;
    metric.label.reserve(sample.labels.size());
    for (const auto& l : sample.labels) metric.label.push_back({l.name, l.value});
    switch (type) {
        case MetricType::counter: metric.counter.value = sample.value; break;
        case MetricType::gauge: metric.gauge.value = sample.value; break;
        case MetricType::histogram: {
            auto& hist = metric.histogram;
            hist.sample_count = sample.count;
            hist.sample_sum = sample.sum;
            hist.bucket.reserve(sample.buckets.size() + 1);
            for (const auto& b : sample.buckets) hist.bucket.push_back({b.cumulative_count, b.upper_bound});
            // strata leaves the +Inf bucket implied by the count; prometheus-cpp's
            // own histograms list it, so its collectables' readers may expect it.
            hist.bucket.push_back({sample.count, std::numeric_limits<double>::infinity()});
            break;
        }
    }
    return metric;
}

inline prometheus::MetricFamily prometheus_family(const MetricFamily& family) {
    prometheus::MetricFamily out{family.name, prometheus_help(family.help), prometheus_type(family.type), {}};
    out.metric.reserve(family.samples.size());
    for (const auto& sample : family.samples) out.metric.push_back(prometheus_metric(sample, family.type));
    return out;
}

}  // namespace detail

// The figures of `sources` (each a MetricSource: a manager, an Instrumented
// tier, a checkpointer...) as a prometheus-cpp Collectable, merged by family
// name, the families without samples left out, as strata::write_prometheus
// writes them. prometheus-cpp prints numbers to 16 significant digits where
// write_prometheus gives the shortest form that reads back exactly, so a
// value needing 17 (a sum of seconds, say) may differ in its last digit.
//
// A source that throws while collected does not reach the exposer's thread:
// what the other sources (and the failing one, up to its throw) added is
// served, and `strata_metrics_collect_errors_total` counts the failures.
template <MetricSource... Sources>
class PrometheusCollectable final : public prometheus::Collectable {
    static_assert(sizeof...(Sources) > 0, "PrometheusCollectable needs at least one MetricSource");

public:
    explicit PrometheusCollectable(Sources&... sources) noexcept : sources_{&sources...} {}

    // The one virtual function strata implements: prometheus::Collectable is
    // the third-party interface the exposer and registry call at scrape time.
    std::vector<prometheus::MetricFamily> Collect() const override {
        MetricFamilies families;
        collect_each(families, std::index_sequence_for<Sources...>{});
        families.add("strata_metrics_collect_errors_total",
                     "Times a metric source threw while collected for a scrape (its figures are partial or missing)",
                     MetricType::counter, {}, static_cast<double>(errors_.load(std::memory_order_relaxed)));

        std::vector<prometheus::MetricFamily> out;
        out.reserve(families.families().size());
        for (const auto& family : families.families())
            if (!family.samples.empty()) out.push_back(detail::prometheus_family(family));
        return out;
    }

private:
    template <std::size_t... I>
    void collect_each(MetricFamilies& families, std::index_sequence<I...>) const {
        (collect_one(*std::get<I>(sources_), families), ...);
    }

    template <class Source>
    void collect_one(Source& source, MetricFamilies& families) const {
        try {
            collect_metrics(source, families);
        } catch (...) {
            errors_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    std::tuple<Sources*...> sources_;
    mutable std::atomic<std::uint64_t> errors_{0};
};

// A collectable for prometheus::Exposer::RegisterCollectable, which keeps only
// a weak_ptr: the caller holds the shared_ptr as long as it is to be served.
template <MetricSource... Sources>
std::shared_ptr<PrometheusCollectable<Sources...>> make_prometheus_collectable(Sources&... sources) {
    return std::make_shared<PrometheusCollectable<Sources...>>(sources...);
}

}  // namespace strata
