// The manager's promises over a real Redis + PostgreSQL stack, where only a
// real server shows the failure.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"

namespace {

namespace rt = strata_test::redis;
using namespace std::chrono_literals;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::RedisTier, strata::PostgresTier>;

class StackPromises : public ::testing::Test {
protected:
    strata::PostgresOptions pg = strata::pgtest::options();
    ~StackPromises() override { strata::pgtest::drop_table(pg); }
    Manager make() {
        return Manager{strata::LruCache{100}, strata::NeverPromote{}, strata::RedisTier{rt::options()},
                       strata::PostgresTier{pg}};
    }
};

std::uint64_t micros(strata::Clock::time_point t) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

}  // namespace

// PostgreSQL holds a version from a clock an hour ahead (another process, or
// this one before a restart with the clock set back). PostgresTier refuses to
// replace it (newer_versions_only); the manager must not acknowledge a write
// that was dropped: it raises its version clock past the stored version and
// writes again.
TEST_F(StackPromises, AWriteAfterTheClockWentBackIsNotDropped) {
    const auto ahead = micros(strata::Clock::now() + 1h);
    {
        auto earlier = make();
        earlier.tier<strata::PostgresTier>().store("order:1", strata::make_record("from before", ahead));
    }
    auto mgr = make();  // a new process: its clock starts from the wall clock, an hour behind
    mgr.set("order:1", "after the restart");
    mgr.tier<strata::RedisTier>().erase("order:1");
    mgr.cache().clear();
    EXPECT_EQ(mgr.get("order:1"), "after the restart");
    const auto stored = mgr.tier<strata::PostgresTier>().fetch("order:1");
    ASSERT_TRUE(stored);
    EXPECT_GT(stored->version, ahead);

    std::vector<std::pair<std::string, std::string>> batch{{"order:1", "batch"}, {"order:2", "new"}};
    mgr.set_many(batch);
    EXPECT_EQ(mgr.tier<strata::PostgresTier>().fetch("order:1")->value, "batch");
    EXPECT_EQ(mgr.tier<strata::PostgresTier>().fetch("order:2")->value, "new");
}

// Two managers (two processes) over the same tiers, one with writes stamped
// an hour ahead: the other's later writes still land.
TEST_F(StackPromises, TwoManagersWithSkewedVersionsBothLand) {
    auto a = make();
    auto b = make();
    for (int i = 0; i < 5; ++i) {
        const auto key = "k" + std::to_string(i);
        a.tier<strata::PostgresTier>().store(key, strata::make_record("a", micros(strata::Clock::now() + 1h)));
        b.set(key, "b");
        b.cache().clear();
        b.tier<strata::RedisTier>().erase(key);
        EXPECT_EQ(b.get(key), "b") << key;
    }
}
