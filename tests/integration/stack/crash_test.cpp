// kill -9 crash test over RedisTier + PostgresTier, checkpoints kept in a
// second PostgreSQL table through TierCheckpointStore (in chunks, so a
// checkpoint cut short leaves a part behind): a worker killed at random
// moments, the tiers and the checkpoints reopened by a new process each time
// (tests/common/crash_harness.hpp). The servers live on; the clients die.
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "common/crash_harness.hpp"
#include "common/eventually.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/tier_store.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"

namespace {

namespace crash = strata::testing::crash;
namespace rt = strata_test::redis;

constexpr const char* prefix_var = "STRATA_CRASH_REDIS_PREFIX";
constexpr const char* table_var = "STRATA_CRASH_PG_TABLE";
constexpr const char* store_table_var = "STRATA_CRASH_PG_STORE_TABLE";

strata::PostgresOptions pg(const char* table_var_name) {
    auto o = strata::pgtest::options();
    o.table = crash::env_or_empty(table_var_name);
    o.pool_size = 2;
    return o;
}

struct StackWorld {
    using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::RedisTier, strata::PostgresTier>;
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::RedisTier{rt::options(crash::env_or_empty(prefix_var))},
                strata::PostgresTier{pg(table_var)}};
    strata::Checkpointer<Manager, strata::TierCheckpointStore<strata::PostgresTier>> ckpt{
        mgr,
        strata::TierCheckpointStore<strata::PostgresTier>{strata::PostgresTier{pg(store_table_var)},
                                                          {.chunk_size = 64 * 1024}},
        {.batch_size = 16}};

    // Both tiers: the Redis server keeps its data when the client dies.
    strata::CheckpointInfo checkpoint(strata::CaptureOptions capture) {
        return ckpt.create(strata::CheckpointType::manual, capture);
    }

    template <class F>
    void each_tier(F&& f) {
        f(mgr.tier<strata::RedisTier>(), 0);
        f(mgr.tier<strata::PostgresTier>(), 1);
    }

    std::vector<std::string> problems() { return {}; }
};

}  // namespace

TEST(StackCrashTest, RedisPostgresChild) {
    if (!crash::in_child()) GTEST_SKIP() << "a process of StackCrashTest.RedisPostgresKill9";
    crash::child<StackWorld>();
}

// The workers' PostgreSQL sessions carry this name, so the parent can wait
// for a killed worker's statement to end before it checks the tiers: the
// model has a killed call land before the next process starts, and a
// statement PostgreSQL is still executing for a dead client lands when it
// ends (on a loaded machine, after the next worker's first calls).
constexpr const char* worker_application = "strata_crash_worker";

std::string with_application_name(const std::string& conninfo) {
    const bool uri = conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
    if (uri) return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + "application_name=" + worker_application;
    return conninfo + " application_name=" + worker_application;
}

void wait_for_killed_sessions(const std::string& conninfo) {
    pqxx::connection c(conninfo);
    const auto gone = strata::testing::eventually(
        [&] {
            pqxx::nontransaction tx(c);
            return tx.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                  std::string(worker_application))[0][0]
                       .as<long>() == 0;
        },
        std::chrono::seconds{10}, std::chrono::milliseconds{5});
    EXPECT_TRUE(gone) << "a killed worker's PostgreSQL session still runs 10 s after the kill";
}

TEST(StackCrashTest, RedisPostgresKill9) {
    const auto prefix = rt::unique_prefix("crash");
    const auto table = strata::pgtest::unique_table("crash");
    const auto store_table = strata::pgtest::unique_table("crash_ckpt");
    // The children find the same servers: the fixture's, or this process's own.
    crash::run({.child_test = "StackCrashTest.RedisPostgresChild",
                .env = {std::string(prefix_var) + '=' + prefix, std::string(table_var) + '=' + table,
                        std::string(store_table_var) + '=' + store_table,
                        "STRATA_REDIS_PORT=" + std::to_string(rt::shared_port()),
                        "STRATA_PG_CONNINFO=" + with_application_name(strata::pgtest::shared_conninfo())},
                .tiers = 2,
                .refuses_older = 0b10,  // PostgreSQL (newer_versions_only)
                .longest_run = std::chrono::milliseconds{600},
                .longest_delay = std::chrono::milliseconds{200},
                .settle = [conninfo = strata::pgtest::shared_conninfo()] { wait_for_killed_sessions(conninfo); }});
    // Opened only now, once every child is gone: what the test left behind goes.
    strata::RedisTier redis{rt::options(prefix)};
    const auto left = redis.keys("*");
    redis.erase_many(left);
    for (const auto& t : {table, store_table}) {
        auto o = strata::pgtest::options();
        o.table = t;
        strata::pgtest::drop_table(o);
    }
}
