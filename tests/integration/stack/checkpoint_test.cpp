// Checkpoints over a real stack: RedisTier (hot) + PostgresTier (warm), the
// servers of the Redis and PostgreSQL suites (CTest fixtures). Checkpoints go
// to a directory, and to a second PostgreSQL table through TierCheckpointStore.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/checkpoint/tier_store.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"
#include "common/temp_dir.hpp"
#include "common/record_snapshot.hpp"

namespace {

namespace fs = std::filesystem;
namespace rt = strata_test::redis;
using strata::CheckpointType;
using Manager = strata::StateManager<strata::LruCache, strata::AccessCountPromotion, strata::RedisTier,
                                     strata::PostgresTier>;

using strata::testing::TempDir;

using strata::testing::expect_same;
using strata::testing::snapshot;

class StackCheckpointTest : public ::testing::Test {
protected:
    strata::PostgresOptions pg = strata::pgtest::options();
    strata::PostgresOptions pg_store = strata::pgtest::options();
    TempDir dir;
    // Promotes on the first read from PostgreSQL: any read through the
    // manager's path would show in Redis.
    Manager mgr{strata::LruCache{1000}, strata::AccessCountPromotion{1, std::chrono::minutes{5}},
                strata::RedisTier{rt::options()}, strata::PostgresTier{pg}};
    strata::Checkpointer<Manager, strata::DirectoryCheckpointStore> ckpt{
        mgr, strata::DirectoryCheckpointStore{dir.path, {.fsync = false}}, {.batch_size = 200}};

    ~StackCheckpointTest() override {
        strata::pgtest::drop_table(pg);
        strata::pgtest::drop_table(pg_store);
    }

    strata::RedisTier& redis() { return mgr.tier<strata::RedisTier>(); }
    strata::PostgresTier& postgres() { return mgr.tier<strata::PostgresTier>(); }

    void fill(int n) {
        std::vector<std::pair<std::string, std::string>> kv;
        for (int i = 0; i < n; ++i) kv.emplace_back("order:" + std::to_string(i), "state " + std::to_string(i));
        mgr.set_many(kv);
    }
};

}  // namespace

TEST_F(StackCheckpointTest, RollbackRestoresBothTiersExactly) {
    fill(1000);
    mgr.set("session:ttl", "short", strata::SetOptions{.ttl = std::chrono::hours{1}});
    const auto redis_before = snapshot(redis());
    const auto pg_before = snapshot(postgres());
    ASSERT_EQ(redis_before.size(), 1001u);
    ASSERT_EQ(pg_before.size(), 1001u);
    const auto info = ckpt.create(CheckpointType::pre_upgrade);
    EXPECT_EQ(info.key_count, 2002u);
    EXPECT_TRUE(ckpt.verify(info.id));

    for (int i = 0; i < 50; ++i) mgr.set("order:" + std::to_string(i), "changed");  // newer versions
    for (int i = 50; i < 80; ++i) mgr.erase("order:" + std::to_string(i));
    for (int i = 0; i < 20; ++i) mgr.set("order:new:" + std::to_string(i), "new");
    ASSERT_EQ(mgr.get("order:1"), "changed");

    const auto report = ckpt.rollback(info.id);
    ASSERT_EQ(report.tiers.size(), 2u);
    for (const auto& t : report.tiers) {
        EXPECT_EQ(t.restored, 80u) << t.name;
        EXPECT_EQ(t.removed, 20u) << t.name;
    }
    EXPECT_EQ(mgr.cache().size(), 0u);
    expect_same(snapshot(redis()), redis_before);
    expect_same(snapshot(postgres()), pg_before);  // older versions went back in despite newer_versions_only
    EXPECT_EQ(mgr.get("order:1"), "state 1");
    EXPECT_EQ(mgr.get("order:new:3"), std::nullopt);
}

// A capture reads through peek_many: PostgreSQL's last_accessed never moves,
// and Redis's idle times stay where the server offers CLIENT NO-TOUCH (7.2+).
TEST(StackCheckpoint, ACaptureLeavesAccessBookkeepingAlone) {
    auto pg = strata::pgtest::options();
    pg.access_resolution = std::chrono::milliseconds{1};
    pg.touch_interval = std::chrono::milliseconds{0};  // a noted read is written at once
    struct Drop {
        const strata::PostgresOptions& o;
        ~Drop() { strata::pgtest::drop_table(o); }
    } drop{pg};
    TempDir dir;
    Manager mgr{strata::LruCache{1000}, strata::AccessCountPromotion{1, std::chrono::minutes{5}},
                strata::RedisTier{rt::options()}, strata::PostgresTier{pg}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path, {.fsync = false}}};
    mgr.set_many(std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}, {"c", "3"}});
    const auto last_accessed = [&] {
        pqxx::connection c(pg.conninfo);
        pqxx::nontransaction tx(c);
        std::vector<long long> out;
        for (const auto& row : tx.exec("SELECT last_accessed FROM \"" + pg.table + "\" ORDER BY key"))
            out.push_back(row[0].as<long long>());
        return out;
    };
    const auto before = last_accessed();
    ASSERT_EQ(before.size(), 3u);
    std::this_thread::sleep_for(std::chrono::milliseconds{2100});  // OBJECT IDLETIME counts whole seconds

    EXPECT_EQ(ckpt.create().key_count, 6u);  // three keys in each tier
    (void)mgr.tier<strata::PostgresTier>().idle_keys(std::chrono::hours{1});  // flushes noted reads, if any
    EXPECT_EQ(last_accessed(), before) << "the capture wrote last_accessed";

    auto& redis = mgr.tier<strata::RedisTier>();
    std::string no_touch;
    for (const auto& [k, v] : redis.stats().details)
        if (k == "no_touch") no_touch = v;
    if (no_touch == "yes") {
        EXPECT_EQ(redis.idle_keys(std::chrono::seconds{2}), (std::vector<std::string>{"a", "b", "c"}))
            << "the capture reset Redis idle times";
    } else {
        EXPECT_EQ(no_touch, "no");
        EXPECT_TRUE(redis.idle_keys(std::chrono::seconds{2}).empty())
            << "without NO-TOUCH a capture must read (and so touch) every key";
    }
    // The control: an ordinary read does move last_accessed.
    ASSERT_TRUE(mgr.tier<strata::PostgresTier>().fetch("a"));
    (void)mgr.tier<strata::PostgresTier>().idle_keys(std::chrono::hours{1});
    EXPECT_GT(last_accessed()[0], before[0]);
}

TEST_F(StackCheckpointTest, WarmOnlyCaptureBypassesCacheAndPromotion) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (int i = 0; i < 300; ++i) kv.emplace_back("cold:" + std::to_string(i), "v");
    mgr.set_many(kv, strata::warm);
    ASSERT_TRUE(redis().keys("*").empty());
    const auto info = ckpt.create<strata::temperature_t<strata::Temperature::warm>>();
    ASSERT_EQ(info.tiers.size(), 1u);
    EXPECT_EQ(info.tiers[0].name, "postgres");
    EXPECT_EQ(info.key_count, 300u);
    EXPECT_TRUE(redis().keys("*").empty());  // nothing promoted
    EXPECT_EQ(mgr.cache().size(), 0u);       // nothing cached

    mgr.erase("cold:5");
    EXPECT_EQ(ckpt.rollback(info.id).keys_restored, 1u);
    EXPECT_TRUE(redis().keys("*").empty());
    EXPECT_EQ(mgr.get("cold:5"), "v");
}

TEST_F(StackCheckpointTest, DamagedCheckpointChangesNothing) {
    fill(200);
    const auto info = ckpt.create();
    mgr.set("order:1", "after");
    {
        std::fstream f(dir.path / (info.id + ".ckpt"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(info.stored_bytes / 2));
        f.put('\x5a');
    }
    EXPECT_FALSE(ckpt.verify(info.id));
    EXPECT_THROW(ckpt.rollback(info.id), strata::Error);
    EXPECT_EQ(postgres().fetch("order:1")->value, "after");
    EXPECT_EQ(redis().fetch("order:1")->value, "after");
}

TEST_F(StackCheckpointTest, CheckpointsKeptInAPostgresTable) {
    fill(500);
    strata::Checkpointer in_pg{mgr,
                               strata::TierCheckpointStore{strata::PostgresTier{pg_store}, {.chunk_size = 16 * 1024}}};
    const auto info = in_pg.create(CheckpointType::daily);
    ASSERT_EQ(in_pg.list().size(), 1u);
    EXPECT_EQ(in_pg.list()[0].id, info.id);
    EXPECT_TRUE(in_pg.verify(info.id));
    mgr.set("order:7", "changed");
    EXPECT_EQ(in_pg.rollback(info.id).keys_restored, 2u);
    EXPECT_EQ(mgr.get("order:7"), "state 7");
    EXPECT_TRUE(in_pg.remove(info.id));
    EXPECT_TRUE(in_pg.list().empty());
}
