#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/cache/cache_policy.hpp"
#include "strata/cache/detail/segmented_table.hpp"
#include "strata/cache/detail/sharded_cache.hpp"
#include "strata/cache/detail/tiny_lfu_shard.hpp"
#include "strata/core/record.hpp"

namespace strata {

// W-TinyLFU (Caffeine's policy): a small LRU admission window in front of a
// segmented LRU, with a 4-bit count-min frequency sketch deciding which of
// two keys deserves the space. Keeps the frequently used set through large
// one-off scans (batch jobs, listings, backfills) that flush a plain LRU,
// and beats LRU on skewed (Zipf-like) traffic. Lookups and inserts both
// count as uses.
class TinyLfuCache {
public:
    explicit TinyLfuCache(std::size_t capacity) : core_(capacity) {}

    std::optional<std::string> lookup(std::string_view key) { return core_.lookup(key); }

    void insert(std::string_view key, std::string_view value,
                std::optional<Clock::time_point> expires_at = std::nullopt) {
        core_.insert(key, value, detail::expiry_or_never(expires_at));
    }

    void invalidate(std::string_view key) { core_.invalidate(key); }
    void clear() { core_.clear(); }

    std::size_t size() const { return core_.size(); }
    std::size_t capacity() const noexcept { return core_.capacity(); }
    std::uint64_t hits() const noexcept { return core_.hits(); }
    std::uint64_t misses() const noexcept { return core_.misses(); }

private:
    detail::ShardedCache<detail::TinyLfuShard> core_;
};

static_assert(check_cache_policy<TinyLfuCache>());

}  // namespace strata
