#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "strata/promotion/access_count_promotion.hpp"
#include "strata/promotion/always_promote.hpp"
#include "strata/promotion/never_promote.hpp"

namespace {

using namespace std::chrono_literals;
using strata::Clock;

static_assert(strata::PromotionPolicy<strata::NeverPromote>);
static_assert(strata::PromotionPolicy<strata::AlwaysPromote>);
static_assert(strata::PromotionPolicy<strata::AccessCountPromotion>);

struct NoTierIndex {
    bool should_promote(std::string_view, Clock::time_point);
};
static_assert(!strata::PromotionPolicy<NoTierIndex>);

// A fixed starting point, so every test passes explicit times and never sleeps.
const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(24 * 365 * 50);

TEST(NeverPromote, NeverPromotes) {
    strata::NeverPromote p;
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(p.should_promote("k", 2, t0));
}

TEST(AlwaysPromote, PromotesFromEveryColderTier) {
    strata::AlwaysPromote p;
    EXPECT_TRUE(p.should_promote("k", 1, t0));
    EXPECT_TRUE(p.should_promote("k", 3, t0));
    EXPECT_FALSE(p.should_promote("k", 0, t0));  // already in the hottest tier
}

TEST(AccessCountPromotion, PromotesOnTheCountthAccessWithinWindow) {
    strata::AccessCountPromotion p(3, 5min);
    EXPECT_FALSE(p.should_promote("k", 1, t0));
    EXPECT_FALSE(p.should_promote("k", 1, t0 + 1min));
    EXPECT_TRUE(p.should_promote("k", 1, t0 + 4min));
    EXPECT_TRUE(p.should_promote("k", 1, t0 + 4min + 1s));
}

TEST(AccessCountPromotion, KeysAreCountedSeparately) {
    strata::AccessCountPromotion p(2, 1min);
    EXPECT_FALSE(p.should_promote("a", 1, t0));
    EXPECT_FALSE(p.should_promote("b", 1, t0));
    EXPECT_FALSE(p.should_promote("c", 1, t0));
    EXPECT_TRUE(p.should_promote("a", 1, t0 + 1s));
    EXPECT_FALSE(p.should_promote("d", 1, t0 + 1s));
}

TEST(AccessCountPromotion, AccessesOlderThanTheWindowAreForgotten) {
    strata::AccessCountPromotion p(3, 1min);
    EXPECT_FALSE(p.should_promote("k", 1, t0));
    EXPECT_FALSE(p.should_promote("k", 1, t0 + 1s));
    // Both earlier accesses are two windows old: counting restarts.
    EXPECT_FALSE(p.should_promote("k", 1, t0 + 2min + 1s));
    EXPECT_FALSE(p.should_promote("k", 1, t0 + 2min + 2s));
    EXPECT_TRUE(p.should_promote("k", 1, t0 + 2min + 3s));
}

TEST(AccessCountPromotion, AccessesSpreadOverTheWholeWindowCount) {
    // Every access within the window counts, across the sketch's time slices.
    strata::AccessCountPromotion p(5, 1min);
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(p.should_promote("k", 1, t0 + i * 14s));
    EXPECT_TRUE(p.should_promote("k", 1, t0 + 59s));
}

TEST(AccessCountPromotion, ReadsFromTheHottestTierAreNotPromoted) {
    strata::AccessCountPromotion p(1, 1min);
    EXPECT_FALSE(p.should_promote("k", 0, t0));
    EXPECT_TRUE(p.should_promote("k", 2, t0));
}

TEST(AccessCountPromotion, RejectsBadArguments) {
    EXPECT_THROW(strata::AccessCountPromotion(3, 0s), std::invalid_argument);
    EXPECT_THROW(strata::AccessCountPromotion(3, -1s), std::invalid_argument);
    EXPECT_THROW(strata::AccessCountPromotion(strata::AccessCountPromotion::max_count + 1, 1min),
                 std::invalid_argument);
}

TEST(AccessCountPromotion, MemoryStaysBoundedOverAMillionKeys) {
    strata::AccessCountPromotion p(3, 1min);
    const std::size_t before = p.memory_bytes();
    EXPECT_GT(before, 0u);
    EXPECT_LT(before, 1u << 20);
    // A million one-off keys, about 6,000 per window (under the default
    // sizing of 8,192): old slices must be recycled, or the counters would
    // fill up and every key would look popular.
    std::size_t promoted = 0;
    for (std::size_t i = 0; i < 1'000'000; ++i)
        promoted += p.should_promote("key:" + std::to_string(i), 1, t0 + std::chrono::milliseconds(10 * i));
    EXPECT_EQ(p.memory_bytes(), before);
    EXPECT_LT(promoted, 10'000u);
    // Counting still works after the flood.
    const auto later = t0 + std::chrono::hours(3);
    EXPECT_FALSE(p.should_promote("fresh", 1, later));
    EXPECT_FALSE(p.should_promote("fresh", 1, later));
    EXPECT_TRUE(p.should_promote("fresh", 1, later));
}

TEST(AccessCountPromotion, OneOffKeysWithinItsSizeAreNotPromoted) {
    strata::AccessCountPromotion p(2, 1min, 8192);
    std::size_t promoted = 0;
    for (std::size_t i = 0; i < 2000; ++i) promoted += p.should_promote("key:" + std::to_string(i), 1, t0);
    EXPECT_LT(promoted, 20u);
}

TEST(AccessCountPromotion, MovedPolicyKeepsCounts) {
    strata::AccessCountPromotion p(2, 1min);
    EXPECT_FALSE(p.should_promote("k", 1, t0));
    strata::AccessCountPromotion moved(std::move(p));
    EXPECT_TRUE(moved.should_promote("k", 1, t0));
}

TEST(AccessCountPromotion, ConcurrentAccessesAreAllCounted) {
    // Threads hammer one key at the same instant: with no lost update exactly
    // count - 1 calls answer false, whatever the interleaving.
    constexpr std::size_t count = 50;
    strata::AccessCountPromotion p(count, 1min);
    std::atomic<std::size_t> refused{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                if (!p.should_promote("shared", 1, t0)) ++refused;
                // Private keys on the side, in other shards.
                (void)p.should_promote("own:" + std::to_string(t) + ":" + std::to_string(i % 10), 1, t0);
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(refused.load(), count - 1);
    for (int t = 0; t < 4; ++t) EXPECT_TRUE(p.should_promote("own:" + std::to_string(t) + ":3", 1, t0));
}

}  // namespace
