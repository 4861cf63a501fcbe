#pragma once

#include <cstddef>  // size_t

#include "strata/cache/cache_policy.hpp"
#include "strata/cache/detail/cache_front.hpp"
#include "strata/cache/detail/tiny_lfu_shard.hpp"

namespace strata {

// W-TinyLFU (Caffeine's policy): a small LRU admission window in front of a
// segmented LRU, with a 4-bit count-min frequency sketch deciding which of
// two keys deserves the space. Keeps the frequently used set through large
// one-off scans (batch jobs, listings, backfills) that flush a plain LRU,
// and beats LRU on skewed (Zipf-like) traffic. Lookups and inserts both
// count as uses.
class TinyLfuCache : public detail::CacheFront<detail::TinyLfuShard> {
public:
    explicit TinyLfuCache(std::size_t capacity) : CacheFront(capacity) {}
};

static_assert(check_cache_policy<TinyLfuCache>());
static_assert(CacheListsKeys<TinyLfuCache>);
static_assert(CacheCountsEvictions<TinyLfuCache>);

}  // namespace strata
