#pragma once

// Redis (hot) over PostgreSQL (warm, durable): component strata::redis_postgres.
//   auto mgr = strata::make_redis_postgres_manager({.host = "redis"}, {.conninfo = "host=db dbname=app"});

#include <utility>  // move

#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"
#include "strata/tiers/stacks/stack.hpp"

namespace strata {

using RedisPostgresManager = StateManager<LruCache, AccessCountPromotion, RedisTier, PostgresTier>;

inline RedisPostgresManager make_redis_postgres_manager(RedisOptions redis = {}, PostgresOptions postgres = {},
                                                        StackOptions stack = {}) {
    return make_stack(stack, RedisTier{std::move(redis)}, PostgresTier{std::move(postgres)});
}

}  // namespace strata
