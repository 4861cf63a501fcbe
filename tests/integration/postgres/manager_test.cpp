// A StateManager over MemoryTier (hot, not durable) and PostgresTier (warm,
// durable): every acknowledged write is in PostgreSQL, so losing the hot tier,
// or having it fail, loses nothing.
#include <gtest/gtest.h>

#include <map>
#include <utility>
#include <vector>

#include "common/tier_wrappers.hpp"
#include "integration/postgres/pg_env.hpp"
#include "strata/strata.hpp"

namespace strata {
namespace {

using namespace std::chrono_literals;

class PostgresManagerTest : public ::testing::Test {
protected:
    void TearDown() override { pgtest::drop_table(options_); }
    PostgresOptions options_ = pgtest::options();
};

std::map<std::string, std::string> sample(int n, const std::string& tag) {
    std::map<std::string, std::string> out;
    for (int i = 0; i < n; ++i)
        out["user:" + std::to_string(i)] = tag + std::string("\0bytes ", 7) + std::to_string(i * i);
    return out;
}

void expect_values(auto& mgr, const std::map<std::string, std::string>& want) {
    std::vector<std::string> keys;
    for (const auto& kv : want) keys.push_back(kv.first);
    const auto got = mgr.get_many(keys);
    ASSERT_EQ(got.size(), keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        ASSERT_TRUE(got[i].has_value()) << keys[i];
        EXPECT_EQ(*got[i], want.at(keys[i])) << keys[i];
    }
}

TEST_F(PostgresManagerTest, LosingTheHotTierLosesNothing) {
    auto want = sample(500, "v1");
    {
        StateManager mgr{NoCache{}, NeverPromote{}, MemoryTier{}, PostgresTier{options_}};
        std::vector<std::pair<std::string, std::string>> pairs(want.begin(), want.end());
        pairs.resize(400);
        mgr.set_many(pairs);
        for (auto it = std::next(want.begin(), 400); it != want.end(); ++it) mgr.set(it->first, it->second);
        mgr.set("user:7", "rewritten");
        want["user:7"] = "rewritten";
        EXPECT_TRUE(mgr.erase("user:8"));
        want.erase("user:8");
        // Written through: PostgreSQL already holds every key.
        EXPECT_EQ(mgr.tier<PostgresTier>().stats().keys, want.size());
    }  // the process "dies": the memory tier and everything in it are gone

    StateManager fresh{LruCache{100}, AlwaysPromote{}, MemoryTier{}, PostgresTier{options_}};
    EXPECT_EQ(fresh.tier<MemoryTier>().stats().keys, 0u);
    expect_values(fresh, want);
    EXPECT_FALSE(fresh.get("user:8").has_value());
    EXPECT_EQ(fresh.keys("user:*").size(), want.size());
    // Promotion copied what was read back into the hot tier.
    EXPECT_EQ(fresh.tier<MemoryTier>().stats().keys, want.size());
}

TEST_F(PostgresManagerTest, AFailingHotTierIsReadAround) {
    using Hot = testing::Switchable<MemoryTier>;
    StateManager mgr{NoCache{}, NeverPromote{}, Hot{MemoryTier{}}, PostgresTier{options_}};
    auto want = sample(200, "v1");
    mgr.set_many(std::vector<std::pair<std::string, std::string>>(want.begin(), want.end()));

    mgr.tier<Hot>().switches().down = true;
    expect_values(mgr, want);  // every read answered by PostgreSQL
    EXPECT_EQ(mgr.get("user:3"), want["user:3"]);
    EXPECT_GT(mgr.health()[0].failures, 0u);

    // Back up, but empty: its contents were lost while it was down.
    mgr.tier<Hot>().inner() = MemoryTier{};
    mgr.tier<Hot>().switches().down = false;
    expect_values(mgr, want);
    mgr.set("user:1", "v2");
    EXPECT_EQ(mgr.tier<PostgresTier>().fetch("user:1")->value, "v2");
}

TEST_F(PostgresManagerTest, TtlReachesPostgres) {
    StateManager mgr{NoCache{}, NeverPromote{}, MemoryTier{}, PostgresTier{options_}};
    mgr.set("session", "token", SetOptions{1h});
    mgr.set("gone", "token", SetOptions{1ms});
    const auto rec = mgr.tier<PostgresTier>().fetch("session");
    ASSERT_TRUE(rec.has_value());
    ASSERT_TRUE(rec->expires_at.has_value());
    EXPECT_GT(*rec->expires_at, Clock::now() + 59min);
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(mgr.tier<PostgresTier>().fetch("gone").has_value());
    EXPECT_EQ(mgr.tier<PostgresTier>().sweep_expired(), 1u);
}

TEST(PostgresNames, EachTierNamesItselfInErrorsAndHealth) {
    auto orders_options = pgtest::options();
    auto sessions_options = pgtest::options();
    orders_options.name = "orders-db";
    sessions_options.name = "sessions-db";
    struct Drop {
        const PostgresOptions& o;
        ~Drop() { pgtest::drop_table(o); }
    } drop_orders{orders_options}, drop_sessions{sessions_options};
    StateManager mgr{NoCache{}, NeverPromote{}, PostgresTier{orders_options}, PostgresTier{sessions_options}};
    mgr.set("k", "v", at<0>);
    mgr.set("k", "v", at<1>);
    {  // the orders table now claims a schema from the future: only that tier refuses
        pqxx::connection c(orders_options.conninfo);
        pqxx::nontransaction tx(c);
        tx.exec_params("UPDATE strata_schema SET version = 99 WHERE table_name = $1", orders_options.table);
    }
    PostgresTier reopened{orders_options};
    try {
        (void)reopened.fetch("k");
        FAIL() << "a schema from the future was used";
    } catch (const Error& e) {
        EXPECT_EQ(e.tier(), "orders-db");
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("strata: orders-db migrate failed"), std::string::npos) << e.what();
    }
    EXPECT_EQ(PostgresTier{sessions_options}.fetch("k")->value, "v");
    const auto health = mgr.health();
    EXPECT_EQ(health[0].name, "orders-db");
    EXPECT_EQ(health[1].name, "sessions-db");
    EXPECT_EQ(PostgresTier{pgtest::options()}.name(), "postgres");
}

}  // namespace
}  // namespace strata
