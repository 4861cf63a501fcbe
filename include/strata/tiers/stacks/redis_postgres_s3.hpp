#pragma once

// Redis (hot) over PostgreSQL (warm, durable) over S3 (cold, durable):
// component strata::redis_postgres_s3.
//   auto mgr = strata::make_redis_postgres_s3_manager({}, {.conninfo = "host=db dbname=app"},
//                                                     {.endpoint = "https://s3.eu-west-1.amazonaws.com",
//                                                      .region = "eu-west-1", .bucket = "app-state"});

#include <utility>  // move

#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"
#include "strata/tiers/s3.hpp"
#include "strata/tiers/stacks/stack.hpp"

namespace strata {

using RedisPostgresS3Manager = StateManager<LruCache, AccessCountPromotion, RedisTier, PostgresTier, S3Tier>;

inline RedisPostgresS3Manager make_redis_postgres_s3_manager(RedisOptions redis = {}, PostgresOptions postgres = {},
                                                             S3Options s3 = {}, StackOptions stack = {}) {
    return make_stack(stack, RedisTier{std::move(redis)}, PostgresTier{std::move(postgres)}, S3Tier{std::move(s3)});
}

}  // namespace strata
