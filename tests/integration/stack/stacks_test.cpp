// The named stacks (strata/tiers/stacks/): each built in one line, its
// policies set from StackOptions, its tiers from their options. Redis and
// PostgreSQL are the servers of their suites (CTest fixtures). This binary
// has no S3 server (the stack fixtures start Redis and PostgreSQL only), so
// the S3 stack's S3Tier points at a port nobody listens on: its composition
// is checked at compile time, and reads and writes that never reach the cold
// tier run against the real Redis and PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/temp_dir.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/tiers/stacks/memory_file.hpp"
#include "strata/tiers/stacks/redis_postgres.hpp"
// This suite is built wherever Redis and PostgreSQL are; the S3 stack's part
// only where the s3 component's libraries are too.
#if __has_include(<curl/curl.h>) && __has_include(<expat.h>)
#define STRATA_TEST_S3_STACK 1
#include "strata/tiers/stacks/redis_postgres_s3.hpp"
#endif

namespace {

namespace rt = strata_test::redis;
using namespace std::chrono_literals;

static_assert(std::is_same_v<strata::RedisPostgresManager,
                             strata::StateManager<strata::LruCache, strata::AccessCountPromotion, strata::RedisTier,
                                                  strata::PostgresTier>>);
static_assert(std::is_same_v<strata::MemoryFileManager,
                             strata::StateManager<strata::LruCache, strata::AccessCountPromotion, strata::MemoryTier,
                                                  strata::FileTier>>);
#ifdef STRATA_TEST_S3_STACK
static_assert(std::is_same_v<strata::RedisPostgresS3Manager,
                             strata::StateManager<strata::LruCache, strata::AccessCountPromotion, strata::RedisTier,
                                                  strata::PostgresTier, strata::S3Tier>>);
// Hottest first: hot, warm, cold each name the tier they should.
static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<strata::RedisPostgresS3Manager&>().tier<2>())>,
                             strata::S3Tier>);
static_assert(strata::RedisTier::temperature == strata::Temperature::hot &&
              strata::PostgresTier::temperature == strata::Temperature::warm &&
              strata::S3Tier::temperature == strata::Temperature::cold);
static_assert(std::is_same_v<decltype(strata::make_redis_postgres_s3_manager()), strata::RedisPostgresS3Manager>);
static_assert(!std::is_polymorphic_v<strata::RedisPostgresS3Manager>);
#endif

class NamedStacks : public ::testing::Test {
protected:
    strata::PostgresOptions pg = strata::pgtest::options();
    ~NamedStacks() override { strata::pgtest::drop_table(pg); }
};

}  // namespace

TEST_F(NamedStacks, RedisPostgresTakesItsPoliciesFromStackOptions) {
    auto mgr = strata::make_redis_postgres_manager(rt::options(), pg,
                                                   {.cache_capacity = 100, .promote_after = 1, .window = 1min});
    EXPECT_EQ(mgr.cache().capacity(), 100u);
    EXPECT_EQ(mgr.promotion().count(), 1u);
    EXPECT_EQ(mgr.promotion().window(), std::chrono::duration_cast<strata::Clock::duration>(1min));
    EXPECT_EQ(mgr.tier<strata::PostgresTier>().options().table, pg.table);

    mgr.set("order:1", "open");
    // Written into Redis, and through to PostgreSQL before set returned.
    ASSERT_TRUE(mgr.tier<strata::RedisTier>().fetch("order:1"));
    ASSERT_TRUE(mgr.tier<strata::PostgresTier>().fetch("order:1"));

    // promote_after = 1: the first read from PostgreSQL copies the record
    // back into Redis.
    mgr.tier<strata::RedisTier>().erase("order:1");
    mgr.cache().clear();
    EXPECT_EQ(mgr.get("order:1"), "open");
    const auto promoted = mgr.tier<strata::RedisTier>().fetch("order:1");
    ASSERT_TRUE(promoted);
    EXPECT_EQ(promoted->value, "open");
}

TEST_F(NamedStacks, RedisPostgresDefaults) {
    auto mgr = strata::make_redis_postgres_manager(rt::options(), pg);
    const strata::StackOptions defaults;
    EXPECT_EQ(mgr.cache().capacity(), defaults.cache_capacity);
    EXPECT_EQ(mgr.promotion().count(), defaults.promote_after);
    EXPECT_EQ(mgr.promotion().window(), defaults.window);

    std::vector<std::pair<std::string, std::string>> kv{{"a", "1"}, {"b", "2"}};
    mgr.set_many(kv);
    const std::vector<std::string> keys{"a", "b", "c"};
    const auto got = mgr.get_many(keys);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], "1");
    EXPECT_EQ(got[1], "2");
    EXPECT_FALSE(got[2]);
}

#ifdef STRATA_TEST_S3_STACK
// The S3 tier is never reached here: writes go to Redis and through to
// PostgreSQL (the first durable tier), and reads find them in the cache or
// Redis.
TEST_F(NamedStacks, RedisPostgresS3RoutesEachTiersOptions) {
    strata::S3Options s3;
    s3.endpoint = "http://127.0.0.1:1";
    s3.bucket = "named-stack";
    s3.prefix = "stacks/";
    auto mgr = strata::make_redis_postgres_s3_manager(rt::options(), pg, s3, {.cache_capacity = 7});
    EXPECT_EQ(mgr.cache().capacity(), 7u);
    EXPECT_EQ(mgr.tier<strata::S3Tier>().options().bucket, "named-stack");
    EXPECT_EQ(mgr.tier<strata::S3Tier>().options().prefix, "stacks/");
    EXPECT_EQ(mgr.tier<strata::PostgresTier>().options().table, pg.table);

    mgr.set("session:1", "alive");
    EXPECT_TRUE(mgr.tier<strata::PostgresTier>().fetch("session:1"));
    mgr.cache().clear();
    EXPECT_EQ(mgr.get("session:1"), "alive");
}
#endif

TEST(NamedStacksServerless, MemoryFileKeepsWritesInTheDirectory) {
    strata::testing::TempDir dir;
    {
        auto mgr = strata::make_memory_file_manager(dir.path, {.cache_capacity = 50});
        EXPECT_EQ(mgr.cache().capacity(), 50u);
        mgr.set("job:1", "done");
        EXPECT_TRUE(mgr.tier<strata::MemoryTier>().fetch("job:1"));
    }
    // A new process over the same directory: memory is empty, the file tier
    // has the write.
    auto later = strata::make_memory_file_manager(dir.path);
    EXPECT_FALSE(later.tier<strata::MemoryTier>().fetch("job:1"));
    EXPECT_EQ(later.get("job:1"), "done");
}
