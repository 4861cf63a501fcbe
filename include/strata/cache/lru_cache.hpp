#pragma once

#include <cstddef>  // size_t

#include "strata/cache/cache_policy.hpp"
#include "strata/cache/detail/cache_front.hpp"
#include "strata/cache/detail/lru_shard.hpp"

namespace strata {

// Keeps the `capacity` most recently used entries (least recently used goes
// first). Locks are sharded by key hash, so recency is exact within a shard
// and approximate across shards. The right default for workloads without
// large one-off scans; see TinyLfuCache for those.
class LruCache : public detail::CacheFront<detail::LruShard> {
public:
    explicit LruCache(std::size_t capacity) : CacheFront(capacity) {}
};

static_assert(check_cache_policy<LruCache>());
static_assert(CacheListsKeys<LruCache>);
static_assert(CacheCountsEvictions<LruCache>);

}  // namespace strata
