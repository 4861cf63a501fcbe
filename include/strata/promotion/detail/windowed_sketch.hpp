#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // int64_t
#include <limits>
#include <vector>

#include "strata/cache/detail/count_min_sketch.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// Approximate per-key access counts over a sliding time window, in memory
// fixed at construction: a ring of `generations + 1` count-min sketches, each
// counting the accesses of one slice (window / generations) of time. The
// count of a key is the sum over the ring, so every access of the last
// `window` is counted and none older than window + one slice; the sketches
// never undercount (they may overcount on hash collisions). A slice is
// cleared when the ring comes back to it. Not thread-safe (see
// AccessCountPromotion's shards).
class WindowedSketch {
public:
    using Sketch = CountMinSketch<8>;
    static constexpr unsigned max_count = Sketch::max_count;

    WindowedSketch(std::size_t width, Clock::duration window, unsigned generations)
        : slice_(window / generations > Clock::duration::zero() ? window / generations : Clock::duration{1}) {
        ring_.reserve(generations + 1);
        for (unsigned i = 0; i <= generations; ++i) ring_.push_back(Generation{never, Sketch(width)});
    }

    // Counts one access of `hash` at `now`; returns its count in the window,
    // this access included. An access older than everything the ring still
    // covers is not counted.
    unsigned record(std::size_t hash, Clock::time_point now) {
        const std::int64_t e = epoch(now);
        Generation& g = ring_[index(e)];
        if (g.epoch < e) {
            g.sketch.clear();
            g.epoch = e;
        }
        if (g.epoch == e) g.sketch.increment(hash);
        unsigned total = 0;
        const auto oldest = e - static_cast<std::int64_t>(ring_.size()) + 1;
        for (const Generation& other : ring_)
            if (other.epoch >= oldest && other.epoch <= e) total += other.sketch.estimate(hash);
        return total;
    }

    std::size_t memory_bytes() const noexcept {
        std::size_t n = 0;
        for (const Generation& g : ring_) n += sizeof(g) + g.sketch.memory_bytes();
        return n;
    }

private:
    static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::min();

    struct Generation {
        std::int64_t epoch;
        Sketch sketch;
    };

    // The number of the slice `now` falls in (floor division: times before
    // the clock's epoch are valid too).
    std::int64_t epoch(Clock::time_point now) const noexcept {
        const auto t = now.time_since_epoch().count();
        const auto s = slice_.count();
        return static_cast<std::int64_t>(t / s - (t % s < 0 ? 1 : 0));
    }

    std::size_t index(std::int64_t e) const noexcept {
        const auto n = static_cast<std::int64_t>(ring_.size());
        return static_cast<std::size_t>(((e % n) + n) % n);
    }

    Clock::duration slice_;
    std::vector<Generation> ring_;
};

}  // namespace strata::detail
