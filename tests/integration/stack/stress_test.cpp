// The concurrent stress test over a real stack: an LRU cache, RedisTier (hot)
// and PostgresTier (warm), the servers of the Redis and PostgreSQL suites
// (CTest fixtures), with checkpoints kept in a second PostgreSQL table. The
// same workload and history checker as the unit variant
// (common/history_checker.hpp): every read is explained by the writes
// around it, and every key ends with its last value in both tiers. The run
// uses a Redis key prefix and PostgreSQL tables of its own, removed after.
#include <gtest/gtest.h>


#include "common/history_checker.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/tier_store.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"

namespace {

namespace history = strata::testing::history;
namespace rt = strata_test::redis;
using Manager = strata::StateManager<strata::LruCache, strata::AlwaysPromote, strata::RedisTier, strata::PostgresTier>;

class StackStress : public ::testing::Test {
protected:
    strata::PostgresOptions pg = strata::pgtest::options();
    strata::PostgresOptions pg_store = strata::pgtest::options();
    Manager mgr{strata::LruCache{32}, strata::AlwaysPromote{}, strata::RedisTier{rt::options(rt::unique_prefix("stress"))},
                strata::PostgresTier{pg}};
    strata::Checkpointer<Manager, strata::TierCheckpointStore<strata::PostgresTier>> ckpt{
        mgr, strata::TierCheckpointStore{strata::PostgresTier{pg_store}, {.chunk_size = 16 * 1024}}};

    ~StackStress() override {
        auto& redis = mgr.tier<strata::RedisTier>();
        redis.erase_many(redis.keys("*"));
        strata::pgtest::drop_table(pg);
        strata::pgtest::drop_table(pg_store);
    }
};

}  // namespace

TEST_F(StackStress, EveryReadIsExplainedByTheWritesAroundIt) {
    // Redis counts idle time in whole seconds, and every key is written well
    // within a second here: at age 0 every key in Redis counts as idle, so
    // demote_idle moves keys while they are written, read and rolled back.
    const history::Workload workload{
        .writer_ops = 1000, .reader_ops = 1500, .tool_rounds = 30, .idle_age = std::chrono::milliseconds{0}};
    history::Log log;
    history::run(mgr, ckpt, workload, log);
    const auto figures = history::check(mgr, log, workload);
    EXPECT_GT(figures.reads_checked, 1000u);  // readers stop with the writers: 2,000-6,000
    EXPECT_GT(figures.rollbacks, 0u);
    EXPECT_GT(figures.idle_demoted, 0u);
    history::report(figures, "redis + postgres");
}
