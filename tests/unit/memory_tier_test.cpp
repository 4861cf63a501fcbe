// MemoryTier: the Tier contract, and what only it has (idle times, sweeps).
#include <gtest/gtest.h>

#include <algorithm>
#include <strata/tiers/memory.hpp>
#include <thread>

#include "common/tier_conformance.hpp"

using namespace std::chrono_literals;

namespace {

struct MemoryTierFactory {
    static strata::MemoryTier make() { return strata::MemoryTier{}; }
};

}  // namespace

namespace strata::conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, TierConformance, ::testing::Types<MemoryTierFactory>);
}

TEST(MemoryTier, ReportsKeysIdleLongerThanABound) {
    strata::MemoryTier tier;
    tier.store("old", strata::make_record("v", 1));
    std::this_thread::sleep_for(30ms);
    tier.store("new", strata::make_record("v", 2));
    EXPECT_EQ(tier.idle_keys(15ms), std::vector<std::string>{"old"});
    tier.fetch("old");  // a read counts as use
    EXPECT_TRUE(tier.idle_keys(15ms).empty());
}

TEST(MemoryTier, PeekingLeavesIdleTimesAlone) {
    strata::MemoryTier tier;
    tier.store("k", strata::make_record("v", 1));
    std::this_thread::sleep_for(30ms);
    const std::vector<std::string> keys{"k", "absent"};
    const auto got = tier.peek_many(keys);
    ASSERT_TRUE(got[0]);
    EXPECT_EQ(got[0]->value, "v");
    EXPECT_FALSE(got[1]);
    EXPECT_EQ(tier.idle_keys(15ms), std::vector<std::string>{"k"});  // a peek is not a use
}

TEST(MemoryTier, IdleKeysLeaveOutExpiredRecords) {
    strata::MemoryTier tier;
    tier.store("gone", strata::make_record("v", 1, strata::Clock::now() + 10ms));
    tier.store("kept", strata::make_record("v", 1));
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(tier.idle_keys(15ms), std::vector<std::string>{"kept"});
}

TEST(MemoryTier, ChangedSinceListsLiveKeysAboveTheVersion) {
    strata::MemoryTier tier;
    tier.store("v1", strata::make_record("a", 1));
    tier.store("v2", strata::make_record("b", 2));
    tier.store("v3", strata::make_record("c", 3));
    tier.store("v9-expired", strata::make_record("d", 9, strata::Clock::now() - 1ms));
    auto changed = tier.changed_since(1);
    std::sort(changed.begin(), changed.end());
    EXPECT_EQ(changed, (std::vector<std::string>{"v2", "v3"}));
    EXPECT_TRUE(tier.changed_since(3).empty());
}

TEST(MemoryTier, TakesItsNameFromItsOptions) {
    EXPECT_EQ(strata::MemoryTier{}.name(), "memory");
    EXPECT_EQ(strata::MemoryTier{strata::MemoryTierOptions{.name = "sessions"}}.name(), "sessions");
}

TEST(MemoryTier, SweepRemovesExpiredRecords) {
    strata::MemoryTier tier;
    const auto now = strata::Clock::now();
    tier.store("gone", strata::make_record("v", 1, now - 1ms, now));
    tier.store("kept", strata::make_record("v", 1, now + 1h, now));
    EXPECT_EQ(tier.sweep_expired(), 1u);
    EXPECT_EQ(tier.stats().keys, 1u);
}

TEST(MemoryTier, IsSafeUnderConcurrentWritersAndReaders) {
    strata::MemoryTier tier;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                const auto key = "k" + std::to_string(i % 50);
                if (t % 2) {
                    tier.store(key, strata::make_record(std::to_string(i), static_cast<std::uint64_t>(i)));
                } else if (auto r = tier.fetch(key)) {
                    EXPECT_TRUE(r->intact());
                }
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(tier.stats().keys, 50u);
}
