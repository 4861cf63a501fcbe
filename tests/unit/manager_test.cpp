// StateManager over the real MemoryTier and FileTier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <strata/strata.hpp>
#include <thread>

#include "common/tier_wrappers.hpp"
#include "common/temp_dir.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using strata::testing::Switchable;

namespace {

using strata::testing::TempDir;

using Hot = Switchable<strata::MemoryTier>;
using Warm = Switchable<strata::FileTier>;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Hot, Warm>;

class ManagerTest : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                Warm{strata::FileTier{dir.path}}};
    Hot& hot() { return mgr.tier<0>(); }
    Warm& warm() { return mgr.tier<1>(); }
};

static_assert(!std::is_polymorphic_v<Manager>);
static_assert(std::is_same_v<decltype(std::declval<Manager&>().tier<strata::in_t<Hot>>()), Hot&>);
static_assert(std::is_same_v<decltype(std::declval<Manager&>().tier<strata::temperature_t<strata::Temperature::warm>>()), Warm&>);

}  // namespace

TEST_F(ManagerTest, SetWritesTheHotTierAndThroughToTheDurableOne) {
    mgr.set("order:1", "open");
    ASSERT_TRUE(hot().inner().fetch("order:1"));
    ASSERT_TRUE(warm().inner().fetch("order:1"));
    EXPECT_EQ(hot().inner().fetch("order:1")->version, warm().inner().fetch("order:1")->version);
    EXPECT_EQ(mgr.get("order:1"), "open");
}

TEST_F(ManagerTest, ValuesAreBytes) {
    const std::string value("\0\x01\xff binary", 10);
    mgr.set("bin", value);
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("bin"), value);
}

TEST_F(ManagerTest, WriteIntoAColderTierErasesHotterCopies) {
    mgr.set("k", "v1");
    mgr.set("k", "v2", strata::warm);
    EXPECT_FALSE(hot().inner().fetch("k"));
    EXPECT_EQ(mgr.get("k"), "v2");
    mgr.set("k", "v3", strata::in<Hot>);
    EXPECT_EQ(mgr.get("k"), "v3");
    EXPECT_GT(warm().inner().fetch("k")->version, 0u);
    EXPECT_EQ(warm().inner().fetch("k")->value, "v3");  // write-through
}

TEST_F(ManagerTest, BadInputFailsBeforeAnyTierIsTouched) {
    for (const std::string& key : {std::string(), std::string(1025, 'k'), std::string("a\0b", 3)}) {
        EXPECT_THROW(mgr.set(key, "v"), std::invalid_argument);
        EXPECT_THROW(mgr.get(key), std::invalid_argument);
        EXPECT_THROW(mgr.erase(key), std::invalid_argument);
        std::vector<std::string> batch{"fine", key};
        EXPECT_THROW(mgr.get_many(batch), std::invalid_argument);
        std::vector<std::pair<std::string, std::string>> pairs{{"fine", "v"}, {key, "v"}};
        EXPECT_THROW(mgr.set_many(pairs), std::invalid_argument);
    }
    EXPECT_FALSE(warm().inner().fetch("fine"));  // the good half of a bad batch was not written
    EXPECT_THROW(mgr.keys("[unclosed"), std::invalid_argument);
    EXPECT_THROW(mgr.set("k", "v", strata::SetOptions{0ms}), std::invalid_argument);
    EXPECT_EQ(hot().switches().store_many_calls, 0);
}

TEST_F(ManagerTest, GetManyMakesOneBatchedCallPerTier) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::vector<std::string> keys;
    for (int i = 0; i < 300; ++i) {
        keys.push_back("k" + std::to_string(i));
        if (i % 3 != 2) pairs.emplace_back(keys.back(), "v" + std::to_string(i));
    }
    mgr.set_many(pairs);
    std::vector<std::string> cold_keys(keys.begin(), keys.begin() + 100);
    mgr.erase_many(cold_keys, strata::hot);  // now only in the warm tier
    mgr.invalidate_cache();
    hot().switches().fetch_many_calls = 0;
    warm().switches().fetch_many_calls = 0;
    const auto values = mgr.get_many(keys);
    EXPECT_EQ(hot().switches().fetch_many_calls, 1);
    EXPECT_EQ(warm().switches().fetch_many_calls, 1);
    for (int i = 0; i < 300; ++i) {
        if (i % 3 == 2)
            EXPECT_FALSE(values[i]) << i;
        else
            EXPECT_EQ(values[i], "v" + std::to_string(i));
    }
    // All found values are cached now: a second read asks no tier.
    std::vector<std::string> present;
    for (int i = 0; i < 300; ++i)
        if (i % 3 != 2) present.push_back(keys[i]);
    mgr.get_many(present);
    EXPECT_EQ(hot().switches().fetch_many_calls, 1);
}

TEST_F(ManagerTest, SetManyKeepsTheLastValueOfARepeatedKey) {
    std::vector<std::pair<std::string, std::string>> pairs{{"a", "1"}, {"b", "2"}, {"a", "3"}};
    mgr.set_many(pairs);
    EXPECT_EQ(mgr.get("a"), "3");
    EXPECT_EQ(mgr.get("b"), "2");
    std::map<std::string, std::string> as_map{{"m1", "x"}, {"m2", "y"}};
    mgr.set_many(as_map, strata::warm);
    EXPECT_EQ(mgr.get("m2"), "y");
    EXPECT_FALSE(hot().inner().fetch("m2"));
}

TEST_F(ManagerTest, CorruptCopiesAreSkippedCountedAndRepaired) {
    mgr.set("acct", "balance=10");
    auto bad = *hot().inner().fetch("acct");
    bad.value = "balance=99999";  // the checksum no longer matches
    hot().inner().store("acct", bad);
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("acct"), "balance=10");
    const auto h = mgr.health();
    EXPECT_EQ(h[0].corrupt, 1u);
    EXPECT_EQ(h[0].repairs, 1u);
    EXPECT_TRUE(hot().inner().fetch("acct")->intact());
    EXPECT_EQ(hot().inner().fetch("acct")->value, "balance=10");
}

TEST_F(ManagerTest, WhenEveryCopyIsCorruptTheReadFailsInsteadOfSayingAbsent) {
    mgr.set("acct", "balance=10");
    auto bad = *hot().inner().fetch("acct");
    bad.value = "tampered";
    hot().inner().store("acct", bad);
    warm().inner().store("acct", bad);
    mgr.invalidate_cache();
    try {
        mgr.get("acct");
        FAIL() << "a corrupt record was returned or reported absent";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
    }
}

TEST_F(ManagerTest, TtlExpiresInEveryTierAndLeavesNoOlderCopyBehind) {
    mgr.set("session", "old", strata::warm);  // an immortal older copy in the warm tier
    mgr.set("session", "new", strata::SetOptions{30ms});
    EXPECT_EQ(mgr.get("session"), "new");
    ASSERT_TRUE(warm().inner().fetch("session"));
    EXPECT_TRUE(warm().inner().fetch("session")->expires_at);
    std::this_thread::sleep_for(60ms);
    EXPECT_FALSE(mgr.get("session"));
    EXPECT_THAT(mgr.keys("sess*"), ::testing::IsEmpty());
}

TEST_F(ManagerTest, KeysAreSortedAndUniqueAcrossTiers) {
    mgr.set("b", "1");
    mgr.set("a", "1", strata::warm);
    mgr.set("c", "1");
    mgr.set("x", "1");
    EXPECT_THAT(mgr.keys("[a-c]*"), ::testing::ElementsAre("a", "b", "c"));
}

TEST_F(ManagerTest, EraseRemovesEveryCopyAndTheCachedValue) {
    mgr.set("k", "v");
    EXPECT_EQ(mgr.get("k"), "v");
    EXPECT_TRUE(mgr.erase("k"));
    EXPECT_FALSE(mgr.get("k"));
    EXPECT_FALSE(warm().inner().fetch("k"));
    EXPECT_FALSE(mgr.erase("k"));
    mgr.set("a", "1");
    mgr.set("b", "1");
    std::vector<std::string> ks{"a", "b", "zz"};
    EXPECT_EQ(mgr.erase_many(ks), 2u);
    EXPECT_THAT(mgr.keys("*"), ::testing::IsEmpty());
}

TEST_F(ManagerTest, PromoteAndDemoteMoveCopiesBetweenTiers) {
    mgr.set("k", "v", strata::warm);
    EXPECT_FALSE(hot().inner().fetch("k"));
    EXPECT_TRUE(mgr.promote("k"));
    EXPECT_EQ(hot().inner().fetch("k")->value, "v");
    EXPECT_TRUE(mgr.demote("k", strata::warm));
    EXPECT_FALSE(hot().inner().fetch("k"));
    EXPECT_EQ(warm().inner().fetch("k")->value, "v");
    EXPECT_FALSE(mgr.promote("missing"));
    EXPECT_FALSE(mgr.demote("missing", strata::warm));
    EXPECT_EQ(mgr.get("k"), "v");
}

TEST_F(ManagerTest, DemoteIdleMovesOnlyIdleHotKeys) {
    mgr.set("idle", "1");
    std::this_thread::sleep_for(40ms);
    mgr.set("busy", "2");
    EXPECT_EQ(mgr.demote_idle(20ms, strata::warm), 1u);
    EXPECT_FALSE(hot().inner().fetch("idle"));
    EXPECT_TRUE(hot().inner().fetch("busy"));
    EXPECT_EQ(mgr.get("idle"), "1");
}

TEST_F(ManagerTest, AHotTierThatIsDownIsSkippedAndWritesStillLand) {
    mgr.set("k", "v1");
    hot().switches().down = true;
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("k"), "v1");        // read falls back to the durable tier
    mgr.set("k", "v2");                     // acknowledged: the durable tier has it
    EXPECT_EQ(warm().inner().fetch("k")->value, "v2");
    hot().switches().down = false;          // the hot tier is back with its old copy
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("k"), "v2");          // the stale hot copy is never served
    EXPECT_EQ(mgr.get("k"), "v2");
    EXPECT_EQ(mgr.health()[0].stale_keys, 0u);  // and was cleaned up on that read
    EXPECT_GE(mgr.health()[0].failures, 1u);
}

TEST_F(ManagerTest, HealthSaysWhenATierLastFailedAndLastSucceeded) {
    EXPECT_FALSE(mgr.health()[1].last_failure);
    EXPECT_FALSE(mgr.health()[1].last_success);
    const auto t0 = strata::Clock::now();
    mgr.set("k", "v");
    ASSERT_TRUE(mgr.health()[1].last_success);
    EXPECT_GE(*mgr.health()[1].last_success, t0);
    warm().switches().down = true;
    const auto t1 = strata::Clock::now();
    mgr.invalidate_cache();
    hot().inner().erase("k");
    try {
        mgr.get("k");
        FAIL() << "a read that could not reach the durable tier answered";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.tier(), "file");  // the failing tier's name, through the manager
    }
    const auto h = mgr.health()[1];
    ASSERT_TRUE(h.last_failure);
    EXPECT_GE(*h.last_failure, t1);
    EXPECT_LT(*h.last_success, *h.last_failure);
    EXPECT_FALSE(h.last_call_ok);
}

TEST_F(ManagerTest, AnEraseTheHotTierMissedNeverResurfaces) {
    mgr.set("k", "v");
    hot().switches().down = true;
    EXPECT_TRUE(mgr.erase("k"));  // the durable copy is gone; the hot one is stale
    hot().switches().down = false;
    ASSERT_TRUE(hot().inner().fetch("k"));  // still there, behind the manager's back
    EXPECT_THAT(mgr.keys("*"), ::testing::IsEmpty());
    EXPECT_FALSE(mgr.get("k"));
    EXPECT_FALSE(hot().inner().fetch("k"));  // and removed by that read
}

TEST_F(ManagerTest, AWriteThatReachesNoDurableTierFails) {
    warm().switches().down = true;
    EXPECT_THROW(mgr.set("k", "v"), strata::Error);
    EXPECT_FALSE(hot().inner().fetch("k"));  // nothing unacknowledged is visible
    // Absent keys cannot be told apart from keys the durable tier holds.
    EXPECT_THROW(mgr.get("unknown"), strata::Error);
}

TEST(ManagerPolicies, AccessCountPromotionCopiesAfterEnoughReads) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::AccessCountPromotion{3, std::chrono::minutes{5}},
                             strata::MemoryTier{}, strata::FileTier{dir.path}};
    mgr.set("k", "v", strata::warm);
    mgr.get("k");
    mgr.get("k");
    EXPECT_FALSE(mgr.tier<0>().fetch("k"));
    mgr.get("k");
    ASSERT_TRUE(mgr.tier<0>().fetch("k"));
    EXPECT_EQ(mgr.health()[0].promotions, 1u);
}

TEST(ManagerPolicies, TiersCanBeNamedByTypeIndexAndTemperature) {
    TempDir dir;
    strata::StateManager mgr{strata::ManagerOptions{.write_through = false}, strata::NoCache{},
                             strata::AlwaysPromote{}, strata::MemoryTier{}, strata::FileTier{dir.path}};
    mgr.set("k", "v");
    EXPECT_FALSE(mgr.tier<strata::FileTier>().fetch("k"));  // write-through off
    EXPECT_TRUE(mgr.tier<strata::MemoryTier>().fetch("k"));
    auto warm_only = mgr.tiers().select<strata::FileTier>();
    static_assert(decltype(warm_only)::size == 1);
    int n = 0;
    mgr.tiers().for_each([&](auto& tier, auto index) {
        EXPECT_EQ(index, static_cast<std::size_t>(n++));
        EXPECT_TRUE(tier.ping());
    });
    EXPECT_EQ(n, 2);
    EXPECT_EQ(&mgr.tiers().select(strata::warm, strata::at<0>).get<1>(), &mgr.tier<0>());
}

TEST(ManagerConcurrency, ReadersNeverSeeAValueGoBackAndTheHottestCopyIsNewest) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{64}, strata::AlwaysPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path, {.fsync = false}}};
    // Each writer owns its keys and writes increasing numbers to them, now and
    // then demoting one; readers check no key's number ever decreases.
    constexpr int writers = 3, keys_per_writer = 4, readers = 3, rounds = 300;
    auto key_of = [](int w, int k) { return "w" + std::to_string(w) + "k" + std::to_string(k); };
    std::atomic<bool> stop{false};
    std::atomic<int> regressions{0}, reads{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int r = 1; r <= rounds; ++r) {
                const auto key = key_of(w, r % keys_per_writer);
                if (r % 10 == 0)
                    mgr.demote(key, strata::warm);
                else
                    mgr.set(key, std::to_string(r));
            }
        });
    for (int i = 0; i < readers; ++i)
        threads.emplace_back([&] {
            std::vector<std::string> all;
            for (int w = 0; w < writers; ++w)
                for (int k = 0; k < keys_per_writer; ++k) all.push_back(key_of(w, k));
            std::vector<int> last(all.size(), 0);
            while (!stop) {
                const auto v = mgr.get_many(all);
                for (std::size_t j = 0; j < v.size(); ++j) {
                    if (!v[j]) continue;
                    const int n = std::stoi(*v[j]);
                    if (n < last[j]) ++regressions;
                    last[j] = n;
                }
                ++reads;
            }
        });
    for (int w = 0; w < writers; ++w) threads[w].join();
    stop = true;
    for (std::size_t i = writers; i < threads.size(); ++i) threads[i].join();
    EXPECT_GT(reads, 0);
    EXPECT_EQ(regressions, 0);
    // The invariant: the copy in the hottest tier holding a key is the newest,
    // and the durable tier has every key.
    for (int w = 0; w < writers; ++w)
        for (int k = 0; k < keys_per_writer; ++k) {
            const auto key = key_of(w, k);
            auto hot = mgr.tier<0>().fetch(key);
            auto warm = mgr.tier<1>().fetch(key);
            ASSERT_TRUE(warm) << key;
            if (hot) {
                EXPECT_GE(hot->version, warm->version) << key;
            }
            mgr.invalidate_cache();
            EXPECT_EQ(mgr.get(key), (hot ? hot : warm)->value);
        }
}
