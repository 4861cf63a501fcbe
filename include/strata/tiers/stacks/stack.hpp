#pragma once

// Named stacks: the common shapes of a StateManager (an LRU cache and
// access-count promotion over a fixed list of tiers) with defaults, so that
// one line builds one. Each backend combination has its own header next to
// this one (redis_postgres.hpp, redis_postgres_s3.hpp, memory_file.hpp) and
// includes only the backend headers it needs.

#include <chrono>
#include <cstddef>  // size_t
#include <utility>  // move

#include "strata/cache/lru_cache.hpp"
#include "strata/core/tier.hpp"
#include "strata/manager/options.hpp"
#include "strata/manager/state_manager.hpp"
#include "strata/promotion/access_count_promotion.hpp"

namespace strata {

// The policies of a named stack.
struct StackOptions {
    std::size_t cache_capacity = 10'000;  // records held by the LruCache
    // A record read this many times within `window` from a colder tier is
    // copied into the hottest one.
    std::size_t promote_after = 3;
    Clock::duration window = std::chrono::minutes{5};
    ManagerOptions manager{};
};

// The manager of a named stack over `tiers`, hottest first. Managers cannot
// be moved; the result initialises the caller's variable in place
// (`auto mgr = make_stack(...)`).
template <Tier... Ts>
StateManager<LruCache, AccessCountPromotion, Ts...> make_stack(const StackOptions& options, Ts... tiers) {
    return StateManager<LruCache, AccessCountPromotion, Ts...>{
        options.manager, LruCache{options.cache_capacity},
        AccessCountPromotion{options.promote_after, options.window}, std::move(tiers)...};
}

}  // namespace strata
