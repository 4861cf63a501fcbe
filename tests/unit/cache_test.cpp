#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "strata/cache/lru_cache.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/cache/tiny_lfu_cache.hpp"
#include "strata/cache/ttl_cache.hpp"
#include "strata/cache/detail/shards.hpp"

namespace {

using namespace std::chrono_literals;
using strata::Clock;

static_assert(strata::CachePolicy<strata::NoCache>);
static_assert(strata::CachePolicy<strata::LruCache>);
static_assert(strata::CachePolicy<strata::TtlCache>);
static_assert(strata::CachePolicy<strata::TinyLfuCache>);

// Near misses the concept must reject.
struct NoInvalidate {
    std::optional<std::string> lookup(std::string_view);
    void insert(std::string_view, std::string_view, std::optional<Clock::time_point>);
    void clear();
    std::size_t size() const;
    std::size_t capacity() const;
};
struct WrongLookup {
    std::string lookup(std::string_view);
    void insert(std::string_view, std::string_view, std::optional<Clock::time_point>);
    void invalidate(std::string_view);
    void clear();
    std::size_t size() const;
    std::size_t capacity() const;
};
static_assert(!strata::CachePolicy<NoInvalidate>);
static_assert(!strata::CachePolicy<WrongLookup>);

static_assert(strata::CacheListsKeys<strata::LruCache>);
static_assert(strata::CacheListsKeys<strata::TtlCache>);
static_assert(strata::CacheListsKeys<strata::TinyLfuCache>);
static_assert(!strata::CacheListsKeys<strata::NoCache>);
static_assert(strata::CacheCountsEvictions<strata::LruCache>);
static_assert(strata::CacheCountsEvictions<strata::TtlCache>);
static_assert(strata::CacheCountsEvictions<strata::TinyLfuCache>);
static_assert(!strata::CacheCountsEvictions<strata::NoCache>);

// Every storing policy, built with a capacity. TtlCache gets a ttl long
// enough never to matter except in its own tests.
template <class C>
C make_cache(std::size_t capacity) {
    if constexpr (std::is_same_v<C, strata::TtlCache>)
        return C(capacity, 1h);
    else
        return C(capacity);
}

std::string key(std::size_t i) { return "key:" + std::to_string(i); }

template <class C>
class CachePolicyTest : public ::testing::Test {};

using StoringCaches = ::testing::Types<strata::LruCache, strata::TtlCache, strata::TinyLfuCache>;
TYPED_TEST_SUITE(CachePolicyTest, StoringCaches);

TYPED_TEST(CachePolicyTest, MissThenHitAfterInsert) {
    auto cache = make_cache<TypeParam>(100);
    EXPECT_EQ(cache.lookup("a"), std::nullopt);
    cache.insert("a", "1", std::nullopt);
    EXPECT_EQ(cache.lookup("a"), "1");
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(cache.capacity(), 100u);
}

TYPED_TEST(CachePolicyTest, InsertReplacesValue) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("a", "1", std::nullopt);
    cache.insert("a", "2", std::nullopt);
    EXPECT_EQ(cache.lookup("a"), "2");
    EXPECT_EQ(cache.size(), 1u);
}

TYPED_TEST(CachePolicyTest, ValuesAreBytes) {
    auto cache = make_cache<TypeParam>(100);
    const std::string value("a\0b\xff", 4);
    cache.insert("k", value, std::nullopt);
    EXPECT_EQ(cache.lookup("k"), value);
}

TYPED_TEST(CachePolicyTest, InvalidateRemovesOnlyThatKey) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("a", "1", std::nullopt);
    cache.insert("b", "2", std::nullopt);
    cache.invalidate("a");
    cache.invalidate("never-inserted");
    EXPECT_EQ(cache.lookup("a"), std::nullopt);
    EXPECT_EQ(cache.lookup("b"), "2");
    EXPECT_EQ(cache.size(), 1u);
}

TYPED_TEST(CachePolicyTest, InvalidatingManyKeysKeepsEveryOtherOne) {
    // Enough keys to grow the index several times, then every third removed.
    auto cache = make_cache<TypeParam>(10000);
    for (std::size_t i = 0; i < 3000; ++i) cache.insert(key(i), "v" + std::to_string(i), std::nullopt);
    for (std::size_t i = 0; i < 3000; i += 3) cache.invalidate(key(i));
    for (std::size_t i = 0; i < 3000; ++i) {
        if (i % 3 == 0)
            ASSERT_EQ(cache.lookup(key(i)), std::nullopt) << i;
        else
            ASSERT_EQ(cache.lookup(key(i)), "v" + std::to_string(i)) << i;
    }
    EXPECT_EQ(cache.size(), 2000u);
}

TYPED_TEST(CachePolicyTest, ClearEmptiesAndStaysUsable) {
    auto cache = make_cache<TypeParam>(1000);
    for (std::size_t i = 0; i < 500; ++i) cache.insert(key(i), "v", std::nullopt);
    cache.clear();
    EXPECT_EQ(cache.size(), 0u);
    for (std::size_t i = 0; i < 500; ++i) EXPECT_EQ(cache.lookup(key(i)), std::nullopt);
    cache.insert("a", "1", std::nullopt);
    EXPECT_EQ(cache.lookup("a"), "1");
}

TYPED_TEST(CachePolicyTest, CapacityIsNeverExceeded) {
    for (std::size_t capacity : {1u, 2u, 7u, 100u, 1000u, 5000u}) {
        auto cache = make_cache<TypeParam>(capacity);
        for (std::size_t i = 0; i < capacity * 10 + 50; ++i) {
            cache.insert(key(i), "v", std::nullopt);
            ASSERT_LE(cache.size(), capacity) << "capacity " << capacity << " after " << i + 1 << " inserts";
            // Every distinct key inserted is held or was evicted for room.
            ASSERT_EQ(cache.size() + cache.evictions(), i + 1) << "capacity " << capacity;
        }
        // The cache is used, not just bounded: sharding leaves at most a small
        // share of the capacity idle.
        EXPECT_GE(cache.size(), capacity / 2) << "capacity " << capacity;
    }
}

TYPED_TEST(CachePolicyTest, ZeroCapacityStoresNothing) {
    auto cache = make_cache<TypeParam>(0);
    cache.insert("a", "1", std::nullopt);
    EXPECT_EQ(cache.lookup("a"), std::nullopt);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.evictions(), 0u);  // nothing was held, so nothing made room
}

TYPED_TEST(CachePolicyTest, EvictionsCountOnlyEntriesDroppedForRoom) {
    auto cache = make_cache<TypeParam>(1000);
    for (std::size_t i = 0; i < 500; ++i) cache.insert(key(i), "v", std::nullopt);
    for (std::size_t i = 0; i < 500; ++i) cache.insert(key(i), "replaced", std::nullopt);
    for (std::size_t i = 0; i < 100; ++i) cache.invalidate(key(i));
    cache.insert("gone", "x", Clock::now() - 1s);
    cache.clear();
    EXPECT_EQ(cache.evictions(), 0u);
}

TYPED_TEST(CachePolicyTest, AlreadyExpiredValueIsNotServedAndDropsTheOldOne) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("a", "old", std::nullopt);
    cache.insert("a", "new", Clock::now() - 1s);
    EXPECT_EQ(cache.lookup("a"), std::nullopt);
    cache.insert("b", "x", Clock::now() - 1ms);
    EXPECT_EQ(cache.lookup("b"), std::nullopt);
    EXPECT_EQ(cache.size(), 0u);
}

TYPED_TEST(CachePolicyTest, FutureExpiryIsServedUntilItPasses) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("far", "1", Clock::now() + 1h);
    EXPECT_EQ(cache.lookup("far"), "1");
    cache.insert("soon", "2", Clock::now() + 30ms);
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(cache.lookup("soon"), std::nullopt);
    EXPECT_EQ(cache.lookup("far"), "1");
}

TYPED_TEST(CachePolicyTest, MovedCacheKeepsEntries) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("a", "1", std::nullopt);
    TypeParam moved(std::move(cache));
    EXPECT_EQ(moved.lookup("a"), "1");
}

TYPED_TEST(CachePolicyTest, HitAndMissCounters) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("a", "1", std::nullopt);
    (void)cache.lookup("a");
    (void)cache.lookup("a");
    (void)cache.lookup("b");
    EXPECT_EQ(cache.hits(), 2u);
    EXPECT_EQ(cache.misses(), 1u);
}

TYPED_TEST(CachePolicyTest, ConcurrentUseKeepsBoundAndValues) {
    constexpr std::size_t capacity = 2000;
    auto cache = make_cache<TypeParam>(capacity);
    constexpr int threads = 4;
    std::atomic<bool> wrong{false};
    std::atomic<bool> over{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (std::size_t i = 0; i < 20000; ++i) {
                // Keys shared by all threads; a key's value is derived from
                // the key, so any value read must match it.
                const std::string k = key((i * 7919 + static_cast<std::size_t>(t) * 104729) % 5000);
                if (auto v = cache.lookup(k)) {
                    if (*v != "value-of-" + k) wrong = true;
                } else {
                    cache.insert(k, "value-of-" + k, std::nullopt);
                }
                if (i % 97 == 0) cache.invalidate(k);
                if (i % 1000 == 0 && cache.size() > capacity) over = true;
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_FALSE(wrong);
    EXPECT_FALSE(over);
    EXPECT_LE(cache.size(), capacity);
    EXPECT_GT(cache.size(), 0u);
    EXPECT_EQ(cache.hits() + cache.misses(), threads * 20000u);
}

// Recency order, for the policies that are plain LRU underneath. Capacity 3
// is one shard, so the order is exact.
template <class C>
class LruOrderTest : public ::testing::Test {};
using LruCaches = ::testing::Types<strata::LruCache, strata::TtlCache>;
TYPED_TEST_SUITE(LruOrderTest, LruCaches);

TYPED_TEST(LruOrderTest, EvictsLeastRecentlyUsed) {
    auto cache = make_cache<TypeParam>(3);
    cache.insert("a", "1", std::nullopt);
    cache.insert("b", "2", std::nullopt);
    cache.insert("c", "3", std::nullopt);
    EXPECT_EQ(cache.lookup("a"), "1");  // b is now the least recent
    cache.insert("d", "4", std::nullopt);
    EXPECT_EQ(cache.lookup("b"), std::nullopt);
    EXPECT_EQ(cache.lookup("a"), "1");
    EXPECT_EQ(cache.lookup("c"), "3");
    EXPECT_EQ(cache.lookup("d"), "4");    EXPECT_EQ(cache.evictions(), 1u);
}

TEST(NoCache, StoresNothing) {
    strata::NoCache cache;
    cache.insert("a", "1", std::nullopt);
    EXPECT_EQ(cache.lookup("a"), std::nullopt);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.capacity(), 0u);
    cache.invalidate("a");
    cache.clear();
}

TEST(TtlCache, EntriesExpireAfterTtl) {
    strata::TtlCache cache(100, 30ms);
    cache.insert("plain", "1", std::nullopt);
    cache.insert("longer", "2", Clock::now() + 1h);  // the ttl is shorter and wins
    EXPECT_EQ(cache.lookup("plain"), "1");
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(cache.lookup("plain"), std::nullopt);
    EXPECT_EQ(cache.lookup("longer"), std::nullopt);
}

TEST(TtlCache, OwnExpiryShorterThanTtlWins) {
    strata::TtlCache cache(100, 1h);
    cache.insert("a", "1", Clock::now() + 20ms);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(cache.lookup("a"), std::nullopt);
}

TEST(TtlCache, RejectsNonPositiveTtl) {
    EXPECT_THROW(strata::TtlCache(10, 0s), std::invalid_argument);
    EXPECT_THROW(strata::TtlCache(10, -1s), std::invalid_argument);
}

// The workload W-TinyLFU exists for: a hot set in steady use, then one pass
// over many keys that are never read again.
template <class C>
std::size_t hot_keys_surviving_scan(C& cache, std::size_t hot, std::size_t scan) {
    auto access = [&cache](const std::string& k) {
        if (!cache.lookup(k)) cache.insert(k, "v", std::nullopt);
    };
    for (int round = 0; round < 5; ++round)
        for (std::size_t i = 0; i < hot; ++i) access("hot:" + std::to_string(i));
    for (std::size_t i = 0; i < scan; ++i) access("scan:" + std::to_string(i));
    std::size_t survivors = 0;
    for (std::size_t i = 0; i < hot; ++i) survivors += cache.lookup("hot:" + std::to_string(i)).has_value();
    return survivors;
}

TEST(TinyLfuCache, HotSetSurvivesOneOffScan) {
    for (std::size_t capacity : {100u, 1000u, 10000u}) {
        strata::TinyLfuCache cache(capacity);
        const std::size_t hot = capacity / 2;
        const std::size_t survivors = hot_keys_surviving_scan(cache, hot, capacity * 10);
        EXPECT_GE(survivors, hot * 9 / 10) << "capacity " << capacity;
    }
}

TEST(TinyLfuCache, ScanFlushesPlainLru) {
    // The control for the test above: the same trace empties an LRU.
    strata::LruCache cache(1000);
    EXPECT_EQ(hot_keys_surviving_scan(cache, 500, 10000), 0u);
}

TEST(TinyLfuCache, AgingLetsANewHotSetReplaceAnOldOne) {
    // Both sets saturate their 4-bit counters; only the periodic halving of
    // the sketch lets the new set outrank the old one (without it, about one
    // new key in nine gets in: the window and the slots main had free).
    strata::TinyLfuCache cache(1000);
    auto access = [&cache](const std::string& k) {
        if (!cache.lookup(k)) cache.insert(k, "v", std::nullopt);
    };
    for (int round = 0; round < 30; ++round)
        for (std::size_t i = 0; i < 900; ++i) access("old:" + std::to_string(i));
    for (int round = 0; round < 30; ++round)
        for (std::size_t i = 0; i < 900; ++i) access("new:" + std::to_string(i));
    std::size_t present = 0;
    for (std::size_t i = 0; i < 900; ++i) present += cache.lookup("new:" + std::to_string(i)).has_value();
    EXPECT_GE(present, 800u);
}

TEST(TinyLfuCache, FrequentNewcomerDisplacesRarelyUsedEntry) {
    // Admission is by frequency, not a frozen first-come set: a key that
    // keeps being asked for gets in once it beats the main region's victim.
    strata::TinyLfuCache cache(100);
    for (std::size_t i = 0; i < 200; ++i) cache.insert(key(i), "v", std::nullopt);
    bool admitted = false;
    for (int attempt = 0; attempt < 20 && !admitted; ++attempt) {
        if (!cache.lookup("newcomer")) cache.insert("newcomer", "n", std::nullopt);
        // Push it out of the admission window so it has to face the main region.
        cache.insert("filler:" + std::to_string(attempt), "f", std::nullopt);
        cache.insert("filler2:" + std::to_string(attempt), "f", std::nullopt);
        admitted = cache.lookup("newcomer").has_value();
    }
    EXPECT_TRUE(admitted);
    EXPECT_LE(cache.size(), 100u);
}

// keys(limit): what recovery re-warms a tier with.

std::vector<std::string> keys_in_order(std::size_t first, std::size_t last_exclusive) {
    std::vector<std::string> ks;
    for (std::size_t i = first; i < last_exclusive; ++i) ks.push_back(key(i));
    return ks;
}

std::size_t position_of(const std::vector<std::string>& listing, const std::string& k) {
    return static_cast<std::size_t>(std::find(listing.begin(), listing.end(), k) - listing.begin());
}

TYPED_TEST(CachePolicyTest, KeysRespectTheLimitAndListEachKeyOnce) {
    auto cache = make_cache<TypeParam>(1000);
    for (std::size_t i = 0; i < 300; ++i) cache.insert(key(i), "v", std::nullopt);
    EXPECT_TRUE(cache.keys(0).empty());
    EXPECT_EQ(cache.keys(7).size(), 7u);
    const std::vector<std::string> all = cache.keys(100000);
    const std::set<std::string> distinct(all.begin(), all.end());
    const std::vector<std::string> inserted = keys_in_order(0, 300);
    EXPECT_EQ(all.size(), 300u);
    EXPECT_EQ(distinct, std::set<std::string>(inserted.begin(), inserted.end()));
}

TYPED_TEST(CachePolicyTest, KeysLeaveOutExpiredEntries) {
    auto cache = make_cache<TypeParam>(100);
    cache.insert("lasting", "1", std::nullopt);
    const Clock::time_point expiry = Clock::now() + 100ms;
    cache.insert("passing", "2", expiry);
    while (Clock::now() <= expiry) std::this_thread::sleep_for(5ms);
    // Still stored (nothing has looked it up since it expired), but not listed.
    ASSERT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.keys(10), std::vector<std::string>{"lasting"});
}

TYPED_TEST(CachePolicyTest, ListingWhileOthersWriteStaysWithinTheLimitAndDistinct) {
    auto cache = make_cache<TypeParam>(2000);
    constexpr std::size_t limit = 500;
    std::atomic<bool> writing{true};
    std::size_t listings = 0;
    bool bad_listing = false;
    // Listings for as long as the writers run: at least one, at most 2000.
    std::thread lister([&] {
        for (; listings < 2000 && (writing || listings == 0); ++listings) {
            const std::vector<std::string> listed = cache.keys(limit);
            const std::set<std::string> distinct(listed.begin(), listed.end());
            if (listed.size() > limit || distinct.size() != listed.size()) bad_listing = true;
        }
    });
    std::vector<std::thread> writers;
    for (std::size_t t = 0; t < 2; ++t) {
        writers.emplace_back([&, t] {
            for (std::size_t i = 0; i < 20000; ++i) {
                const std::string k = key((i * 7919 + t * 104729) % 5000);
                cache.insert(k, "v", i % 3 == 0 ? std::optional(Clock::now() + 1ms) : std::nullopt);
                if (i % 5 == 0) cache.invalidate(k);
                if (i % 7 == 0) (void)cache.lookup(k);
            }
        });
    }
    for (auto& w : writers) w.join();
    writing = false;
    lister.join();
    EXPECT_GT(listings, 0u);
    EXPECT_FALSE(bad_listing);
    const std::vector<std::string> after = cache.keys(limit);
    EXPECT_FALSE(after.empty());
    EXPECT_LE(after.size(), limit);
}

// LRU lists most recently used first. Capacity 100 is one shard (see
// LruShard::min_capacity), so the order is exact.
TYPED_TEST(LruOrderTest, KeysListMostRecentlyUsedFirst) {
    auto cache = make_cache<TypeParam>(100);
    for (std::size_t i = 0; i < 50; ++i) cache.insert(key(i), "v", std::nullopt);
    std::vector<std::string> expected = keys_in_order(0, 50);
    std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(cache.keys(100), expected);

    // key:0 is the least recent, far enough back that a hit moves it (see
    // SegmentedTable::touch); rewriting key:1 moves it too. Listing is no use:
    // the second listing is the same.
    EXPECT_EQ(cache.lookup(key(0)), "v");
    cache.insert(key(1), "w", std::nullopt);
    expected = keys_in_order(2, 50);
    std::reverse(expected.begin(), expected.end());
    expected.insert(expected.begin(), {key(1), key(0)});
    EXPECT_EQ(cache.keys(100), expected);
    EXPECT_EQ(cache.keys(100), expected);
    EXPECT_EQ(cache.keys(3), std::vector<std::string>(expected.begin(), expected.begin() + 3));
}

TYPED_TEST(LruOrderTest, KeysInterleaveTheShardsSoNoneStarves) {
    // 500 keys in a cache of 1000: several shards, none full, so nothing is
    // evicted. A key with r keys inserted after it has at most r of its shard
    // before it, and round-robin then lists it within the first
    // shards * (r + 1). Shard by shard, the newest key of the last shard
    // would come after every key of the others.
    constexpr std::size_t capacity = 1000;
    constexpr std::size_t count = 500;
    const std::size_t shards = strata::detail::shard_count_for(capacity, strata::detail::LruShard::min_capacity);
    ASSERT_GT(shards, 1u);
    auto cache = make_cache<TypeParam>(capacity);
    for (std::size_t i = 0; i < count; ++i) cache.insert(key(i), "v", std::nullopt);
    const std::vector<std::string> listed = cache.keys(count);
    ASSERT_EQ(listed.size(), count);
    for (std::size_t i = 0; i < count; ++i)
        EXPECT_LT(position_of(listed, key(i)), shards * (count - i)) << key(i);

    // The oldest key, once used, comes first in its shard: within the first round.
    EXPECT_EQ(cache.lookup(key(0)), "v");
    EXPECT_LT(position_of(cache.keys(count), key(0)), shards);
}

TEST(TinyLfuCache, KeysListProtectedThenProbationThenWindow) {
    // Capacity 256 is one shard with a window of 2: of p0..p9, p9 and p8 are
    // still in the window and the rest were admitted to probation (main had
    // room). p0 then p1 hit in probation earn protection.
    strata::TinyLfuCache cache(256);
    for (std::size_t i = 0; i < 10; ++i) cache.insert("p" + std::to_string(i), "v", std::nullopt);
    EXPECT_EQ(cache.lookup("p0"), "v");
    EXPECT_EQ(cache.lookup("p1"), "v");
    const std::vector<std::string> expected{"p1", "p0", "p7", "p6", "p5", "p4", "p3", "p2", "p9", "p8"};
    EXPECT_EQ(cache.keys(100), expected);
    EXPECT_EQ(cache.keys(2), (std::vector<std::string>{"p1", "p0"}));
}

}  // namespace
