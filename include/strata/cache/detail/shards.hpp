#pragma once

#include <atomic>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <memory>   // unique_ptr
#include <vector>

#include "strata/cache/detail/key_hash.hpp"

namespace strata::detail {

// How many shards a structure of `capacity` entries gets: a power of two, at
// most `max_shards`, and never so many that a shard holds fewer than
// `min_per_shard` entries (tiny shards make eviction decisions poor and let
// hot keys of one shard evict each other while other shards sit idle).
constexpr std::size_t shard_count_for(std::size_t capacity, std::size_t min_per_shard,
                                      std::size_t max_shards = 16) noexcept {
    std::size_t n = 1;
    while (n * 2 <= max_shards && capacity / (n * 2) >= min_per_shard) n *= 2;
    return n;
}

// The share of `capacity` that shard `index` of `count` holds; the shares add
// up to exactly `capacity`, so the whole never holds more than asked for.
constexpr std::size_t shard_share(std::size_t capacity, std::size_t count, std::size_t index) noexcept {
    return capacity / count + (index < capacity % count ? 1 : 0);
}

// A statistic bumped under its shard's lock and read without it: a plain
// load-add-store, no locked instruction on the hot path.
class ShardCounter {
public:
    void bump() noexcept { n_.store(n_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return n_.load(std::memory_order_relaxed); }
    void reset() noexcept { n_.store(0, std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> n_{0};
};

// A fixed set of `count` shards (a power of two, see shard_count_for), each
// constructed from its share of `capacity` followed by `args`, and picked by
// key hash. Each shard carries its own lock; the shards live behind
// unique_ptrs so the set moves, and each is cache-line aligned by its own
// type so two locks never share a line.
template <class Shard>
class Shards {
public:
    template <class... Args>
    Shards(std::size_t capacity, std::size_t count, const Args&... args) : mask_(count - 1) {
        shards_.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
            shards_.push_back(std::make_unique<Shard>(shard_share(capacity, count, i), args...));
    }

    Shard& for_hash(std::size_t hash) noexcept { return *shards_[(mix64(hash) >> 32) & mask_]; }

    std::size_t count() const noexcept { return shards_.size(); }

    template <class F>
    void for_each(F&& f) const {
        for (const auto& s : shards_) f(*s);
    }

private:
    std::size_t mask_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace strata::detail
