#pragma once

#include <algorithm>  // lower_bound, is_sorted
#include <array>
#include <atomic>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <vector>

#include "strata/metrics/metric_family.hpp"  // HistogramBucket

namespace strata {

// A histogram's figures: cumulative buckets (+Inf not listed: it is `count`),
// count and sum.
struct HistogramFigures {
    std::vector<HistogramBucket> buckets;
    std::uint64_t count = 0;
    double sum = 0;
};

}  // namespace strata

namespace strata::detail {

// A histogram over integer observations with bucket bounds fixed at compile
// time, recorded with relaxed atomics: an observation is two fetch_adds (its
// bucket and the sum), never a lock, so any number of threads may observe at
// once. Bounds are the inclusive upper bounds, ascending; one more bucket
// holds what exceeds the last (+Inf). The count is the sum of the buckets, so
// the two always agree; taken while others observe, the sum may lag them.
template <const auto& Bounds>
class FixedHistogram {
public:
    static constexpr std::size_t bound_count = Bounds.size();
    static_assert(bound_count > 0, "strata: a histogram needs at least one bucket bound");
    static_assert(std::is_sorted(Bounds.begin(), Bounds.end()), "strata: histogram bounds must ascend");

    void observe(std::uint64_t value) noexcept {
        const auto first_not_below = std::lower_bound(Bounds.begin(), Bounds.end(), value);
        const auto at = static_cast<std::size_t>(first_not_below - Bounds.begin());
        counts_[at].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(value, std::memory_order_relaxed);
    }

    // Cumulative buckets as Prometheus wants them, bounds and sum divided by
    // `unit` (1e9 turns nanoseconds into seconds: dividing keeps 50000 ns
    // exactly the double nearest 50e-6, which multiplying by 1e-9 does not).
    HistogramFigures figures(double unit = 1) const {
        HistogramFigures out;
        out.buckets.reserve(bound_count);
        std::uint64_t running = 0;
        for (std::size_t i = 0; i < bound_count; ++i) {
            running += counts_[i].load(std::memory_order_relaxed);
            out.buckets.push_back({static_cast<double>(Bounds[i]) / unit, running});
        }
        out.count = running + counts_[bound_count].load(std::memory_order_relaxed);
        out.sum = static_cast<double>(sum_.load(std::memory_order_relaxed)) / unit;
        return out;
    }

private:
    std::array<std::atomic<std::uint64_t>, bound_count + 1> counts_{};
    std::atomic<std::uint64_t> sum_{0};
};

}  // namespace strata::detail
