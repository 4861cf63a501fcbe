#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/cache/cache_policy.hpp"
#include "strata/cache/detail/lru_shard.hpp"
#include "strata/cache/detail/segmented_table.hpp"
#include "strata/cache/detail/sharded_cache.hpp"
#include "strata/core/record.hpp"

namespace strata {

// Keeps the `capacity` most recently used entries (least recently used goes
// first). Locks are sharded by key hash, so recency is exact within a shard
// and approximate across shards. The right default for workloads without
// large one-off scans; see TinyLfuCache for those.
class LruCache {
public:
    explicit LruCache(std::size_t capacity) : core_(capacity) {}

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
    detail::ShardedCache<detail::LruShard> core_;
};

static_assert(check_cache_policy<LruCache>());

}  // namespace strata
