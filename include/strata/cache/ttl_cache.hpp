#pragma once

#include <algorithm>  // min
#include <cstddef>    // size_t
#include <optional>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>

#include "strata/cache/cache_policy.hpp"
#include "strata/cache/detail/lru_shard.hpp"
#include "strata/cache/detail/cache_front.hpp"
#include "strata/core/record.hpp"

namespace strata {

// An LruCache whose entries also expire `ttl` after they were inserted (or at
// their own expiry, whichever comes first). Bounds staleness when another
// process may write the tiers behind this cache's back.
class TtlCache : public detail::CacheFront<detail::LruShard> {
public:
    TtlCache(std::size_t capacity, Clock::duration ttl) : CacheFront(capacity), ttl_(ttl) {
        if (ttl <= Clock::duration::zero()) throw std::invalid_argument("strata::TtlCache: ttl must be positive");
    }

    // Hides CacheFront::insert: the stored expiry is capped at now + ttl.
    void insert(std::string_view key, std::string_view value,
                std::optional<Clock::time_point> expires_at = std::nullopt) {
        const Clock::time_point now = Clock::now();
        // A ttl too long to add to the clock means "never" rather than overflow.
        const Clock::time_point limit = ttl_ < Clock::time_point::max() - now ? now + ttl_ : Clock::time_point::max();
        core_.insert(key, value, expires_at ? std::min(*expires_at, limit) : limit);
    }

    Clock::duration ttl() const noexcept { return ttl_; }

private:
    Clock::duration ttl_;
};

static_assert(check_cache_policy<TtlCache>());
static_assert(CacheListsKeys<TtlCache>);
static_assert(CacheCountsEvictions<TtlCache>);

}  // namespace strata
