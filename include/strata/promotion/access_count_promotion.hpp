#pragma once

#include <algorithm>  // clamp
#include <bit>        // bit_ceil
#include <cstddef>    // size_t
#include <mutex>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>

#include "strata/cache/detail/key_hash.hpp"
#include "strata/cache/detail/shards.hpp"
#include "strata/core/record.hpp"
#include "strata/promotion/detail/windowed_sketch.hpp"
#include "strata/promotion/promotion_policy.hpp"

namespace strata {

// Promotes a key read from a colder tier once it has been read at least
// `count` times within `window`: a key read once by a scan stays cold, a key
// in steady use moves up. Counts are approximate (count-min sketches over
// slices of the window, see detail::WindowedSketch: accesses up to a quarter
// window older than `window` may still count, and hash collisions may add)
// and memory is fixed at construction however many distinct keys are read:
// size it with `expected_keys`, the distinct keys read from colder tiers per
// window.
class AccessCountPromotion {
public:
    static constexpr std::size_t max_count = detail::WindowedSketch::max_count;
    static constexpr unsigned generations = 4;

    AccessCountPromotion(std::size_t count, Clock::duration window, std::size_t expected_keys = 8192)
        : count_(count), window_(window), shards_(make_shards(count, window, expected_keys)) {}

    bool should_promote(std::string_view key, std::size_t tier_index, Clock::time_point now) {
        const detail::HashedKey k = detail::hashed(key);
        Shard& s = shards_.for_hash(k.hash);
        unsigned seen;
        {
            std::lock_guard lock(s.mutex);
            seen = s.sketch.record(k.hash, now);
        }
        return tier_index > 0 && seen >= count_;
    }

    std::size_t count() const noexcept { return count_; }
    Clock::duration window() const noexcept { return window_; }

    // Bytes held by the counters; fixed at construction.
    std::size_t memory_bytes() const {
        std::size_t n = 0;
        shards_.for_each([&n](Shard& s) { n += s.sketch.memory_bytes(); });
        return n;
    }

private:
    // Each shard holds a slice of the sketch width and sees only its own
    // keys, so the accuracy is that of one sketch of the whole width.
    struct alignas(64) Shard {
        Shard(std::size_t width, Clock::duration window) : sketch(width, window, generations) {}
        std::mutex mutex;
        detail::WindowedSketch sketch;
    };

    static detail::Shards<Shard> make_shards(std::size_t count, Clock::duration window, std::size_t expected_keys) {
        if (count > max_count)
            throw std::invalid_argument("strata::AccessCountPromotion: count must be at most " +
                                        std::to_string(max_count));
        if (window <= Clock::duration::zero())
            throw std::invalid_argument("strata::AccessCountPromotion: window must be positive");
        const std::size_t width = std::bit_ceil(std::clamp<std::size_t>(expected_keys, 1024, std::size_t{1} << 26));
        return detail::Shards<Shard>(width, detail::shard_count_for(width, 512, 8), window);
    }

    std::size_t count_;
    Clock::duration window_;
    detail::Shards<Shard> shards_;
};

static_assert(check_promotion_policy<AccessCountPromotion>());

}  // namespace strata
