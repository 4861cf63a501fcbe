// Batcher over a real StateManager (MemoryTier + FileTier).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <strata/manager/batcher.hpp>
#include <strata/strata.hpp>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::testing::eventually;
using strata::testing::Switchable;
using strata::testing::TempDir;

namespace {

using Hot = Switchable<strata::MemoryTier>;
using Warm = Switchable<strata::FileTier>;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Hot, Warm>;

static_assert(strata::BatchTarget<Manager>);
static_assert(!strata::BatchTarget<int>, "a type without set_many/erase_many is not a batch target");

// Generous: only a broken batcher ever waits this long.
constexpr auto bound = 10s;

bool ready(const std::future<void>& f, std::chrono::milliseconds wait = 0ms) {
    return f.wait_for(wait) == std::future_status::ready;
}

class BatcherTest : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                Warm{strata::FileTier{dir.path}}};
    Hot& hot() { return mgr.tier<0>(); }
    Warm& warm() { return mgr.tier<1>(); }
    // Only a full batch, flush() or the destructor apply: the delay never passes.
    static constexpr strata::BatcherOptions manual{.max_items = 1000, .max_delay = 1h};
};

}  // namespace

TEST_F(BatcherTest, DeducesTheManagerFromItsArguments) {
    strata::Batcher batch{mgr, {.max_items = 1000, .max_delay = 5ms}};
    static_assert(std::is_same_v<decltype(batch), strata::Batcher<Manager>>);
}

TEST_F(BatcherTest, AFullBatchIsAppliedAsOneSetMany) {
    strata::Batcher batch{mgr, {.max_items = 3, .max_delay = 1h}};
    const int writes_before = hot().switches().store_many_calls;
    auto a = batch.set("a", "1");
    auto b = batch.set("b", "2");
    EXPECT_FALSE(ready(a)) << "two calls of three must wait for the third";
    EXPECT_FALSE(mgr.get("a"));
    auto c = batch.set("c", "3");
    ASSERT_TRUE(ready(a, bound) && ready(b, bound) && ready(c, bound));
    a.get();
    EXPECT_EQ(mgr.get("a"), "1");
    EXPECT_EQ(mgr.get("b"), "2");
    EXPECT_EQ(mgr.get("c"), "3");
    EXPECT_EQ(hot().switches().store_many_calls - writes_before, 1);
}

TEST_F(BatcherTest, ACallIsAppliedOnceMaxDelayPassesWithoutFlush) {
    strata::Batcher batch{mgr, {.max_items = 1000, .max_delay = 5ms}};
    auto f = batch.set("k", "v");
    ASSERT_TRUE(ready(f, bound));
    f.get();
    EXPECT_EQ(warm().inner().fetch("k")->value, "v");
}

TEST_F(BatcherTest, FlushReturnsOnceEveryEarlierCallIsApplied) {
    strata::Batcher batch{mgr, manual};
    std::vector<std::future<void>> done;
    for (int i = 0; i < 10; ++i) done.push_back(batch.set("k" + std::to_string(i), std::to_string(i)));
    done.push_back(batch.erase("k3"));
    EXPECT_EQ(batch.pending(), 11U);
    batch.flush();
    EXPECT_EQ(batch.pending(), 0U);
    for (auto& f : done) {
        ASSERT_TRUE(ready(f));
        f.get();
    }
    EXPECT_EQ(warm().inner().fetch("k9")->value, "9");
    EXPECT_FALSE(mgr.get("k3"));
    batch.flush();  // nothing pending: returns at once
}

TEST_F(BatcherTest, TheDestructorAppliesWhatIsPending) {
    std::vector<std::future<void>> done;
    {
        strata::Batcher batch{mgr, manual};
        done.push_back(batch.set("x", "1"));
        done.push_back(batch.set("y", "2"));
    }
    for (auto& f : done) {
        ASSERT_TRUE(ready(f));
        f.get();
    }
    EXPECT_EQ(warm().inner().fetch("x")->value, "1");
    EXPECT_EQ(warm().inner().fetch("y")->value, "2");
}

TEST_F(BatcherTest, ALaterSetOfAKeyInTheSameBatchWins) {
    strata::Batcher batch{mgr, manual};
    auto first = batch.set("k", "old");
    auto second = batch.set("k", "new");
    batch.flush();
    ASSERT_TRUE(ready(first) && ready(second));
    first.get();
    second.get();
    EXPECT_EQ(mgr.get("k"), "new");
    EXPECT_EQ(hot().inner().fetch("k")->value, "new");
}

TEST_F(BatcherTest, SetThenEraseInOneBatchLeavesTheKeyErased) {
    mgr.set("k", "stored");
    strata::Batcher batch{mgr, manual};
    auto set = batch.set("k", "new");
    auto erase = batch.erase("k");
    batch.flush();
    set.get();
    erase.get();
    EXPECT_FALSE(mgr.get("k"));
    EXPECT_FALSE(hot().inner().fetch("k"));
    EXPECT_FALSE(warm().inner().fetch("k"));
}

TEST_F(BatcherTest, EraseThenSetInOneBatchLeavesTheKeySet) {
    mgr.set("k", "stored");
    strata::Batcher batch{mgr, manual};
    auto erase = batch.erase("k");
    auto set = batch.set("k", "new");
    batch.flush();
    erase.get();
    set.get();
    EXPECT_EQ(mgr.get("k"), "new");
    EXPECT_EQ(warm().inner().fetch("k")->value, "new");
}

TEST_F(BatcherTest, OrderBetweenBatchesIsKept) {
    strata::Batcher batch{mgr, {.max_items = 2, .max_delay = 1h}};
    auto a = batch.set("k", "1");
    auto b = batch.erase("other");  // the first batch is full: applied
    auto c = batch.erase("k");
    auto d = batch.set("j", "2");  // the second, erasing k
    batch.flush();
    for (auto* f : {&a, &b, &c, &d}) f->get();
    EXPECT_FALSE(mgr.get("k"));
    EXPECT_EQ(mgr.get("j"), "2");
}

TEST_F(BatcherTest, ManyThreadsEveryFutureReadyAndTheLastUpdatePerKeyKept) {
    constexpr int threads = 8, updates = 1000, keys_per_thread = 37;
    strata::Batcher batch{mgr, {.max_items = 250, .max_delay = 2ms}};
    std::vector<std::vector<std::future<void>>> done(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < updates; ++i) {
                const auto key = "t" + std::to_string(t) + ":" + std::to_string(i % keys_per_thread);
                done[t].push_back(i % 5 == 4 ? batch.erase(key) : batch.set(key, std::to_string(i)));
            }
        });
    }
    for (auto& w : workers) w.join();
    for (auto& per_thread : done) {
        for (auto& f : per_thread) {
            ASSERT_TRUE(ready(f, bound));
            f.get();
        }
    }
    mgr.invalidate_cache();
    for (int t = 0; t < threads; ++t) {
        for (int k = 0; k < keys_per_thread; ++k) {
            int last = k;  // the last update of key k is the largest i with i % keys_per_thread == k
            while (last + keys_per_thread < updates) last += keys_per_thread;
            const auto key = "t" + std::to_string(t) + ":" + std::to_string(k);
            if (last % 5 == 4)
                EXPECT_FALSE(mgr.get(key)) << key;
            else
                EXPECT_EQ(mgr.get(key), std::to_string(last)) << key;
        }
    }
}

TEST_F(BatcherTest, AFailedBatchFailsEveryFutureInItAndLosesNothingElse) {
    strata::Batcher batch{mgr, manual};
    auto before = batch.set("before", "kept");
    auto doomed = batch.set("doomed", "x");
    batch.flush();
    before.get();
    doomed.get();

    warm().switches().down = true;
    std::vector<std::future<void>> failed;
    failed.push_back(batch.set("a", "1"));
    failed.push_back(batch.set("a", "2"));  // supersedes the first
    failed.push_back(batch.set("b", "1", {.ttl = 1h}));
    failed.push_back(batch.erase("doomed"));
    batch.flush();
    for (auto& f : failed) {
        ASSERT_TRUE(ready(f));
        EXPECT_THROW(f.get(), strata::Error);
    }

    warm().switches().down = false;
    auto after = batch.set("after", "applied");
    batch.flush();
    after.get();
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("before"), "kept");
    EXPECT_EQ(mgr.get("after"), "applied");
    EXPECT_FALSE(warm().inner().fetch("a"));
}

TEST_F(BatcherTest, AMalformedKeyIsThrownByTheCallWithoutSpoilingTheBatch) {
    strata::Batcher batch{mgr, manual};
    auto good = batch.set("good", "v");
    EXPECT_THROW((void)batch.set("", "v"), std::invalid_argument);
    EXPECT_THROW((void)batch.erase(std::string("nul\0key", 7)), std::invalid_argument);
    EXPECT_EQ(batch.pending(), 1U);
    batch.flush();
    good.get();
    EXPECT_EQ(mgr.get("good"), "v");
}

TEST_F(BatcherTest, RejectsOptionsThatCannotWork) {
    EXPECT_THROW((strata::Batcher{mgr, {.max_items = 0}}), std::invalid_argument);
    EXPECT_THROW((strata::Batcher{mgr, {.max_delay = 0ms}}), std::invalid_argument);
    EXPECT_THROW((strata::Batcher{mgr, {.max_items = 10, .max_pending = 5}}), std::invalid_argument);
}

namespace {

// Holds the hot tier's batch writes until released, and says when one is held.
struct HeldWrites {
    std::latch release{1};
    std::atomic<bool> holding{false};
    void install(Hot& tier) {
        tier.switches().before = [this](std::string_view op) {
            if (op != "store_many") return;
            holding = true;
            release.wait();
        };
    }
};

}  // namespace

TEST_F(BatcherTest, PastMaxPendingACallFailsWhenSoConfigured) {
    HeldWrites held;
    held.install(hot());
    strata::Batcher batch{mgr, {.max_items = 2, .max_delay = 1h, .max_pending = 2, .on_full = strata::OnFull::fail}};
    auto a = batch.set("a", "1");
    auto b = batch.set("b", "2");  // a full batch: being applied, held
    ASSERT_TRUE(eventually([&] { return held.holding.load(); }, bound));
    try {
        (void)batch.set("c", "3");
        ADD_FAILURE() << "a third call past max_pending = 2 was accepted";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::rejected);
    }
    held.release.count_down();
    a.get();
    b.get();
    auto c = batch.set("c", "3");  // room again
    batch.flush();
    c.get();
    EXPECT_EQ(mgr.get("c"), "3");
}

TEST_F(BatcherTest, PastMaxPendingACallBlocksUntilABatchIsApplied) {
    HeldWrites held;
    held.install(hot());
    strata::Batcher batch{mgr, {.max_items = 2, .max_delay = 1h, .max_pending = 2}};
    auto a = batch.set("a", "1");
    auto b = batch.set("b", "2");
    ASSERT_TRUE(eventually([&] { return held.holding.load(); }, bound));
    std::atomic<bool> returned{false};
    std::future<void> c;
    std::thread caller([&] {
        c = batch.set("c", "3");
        returned = true;
    });
    // A batcher that does not block lets the call return within this time.
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(returned) << "the call returned while max_pending calls were pending";
    EXPECT_EQ(batch.pending(), 2U);
    held.release.count_down();
    caller.join();
    EXPECT_TRUE(returned);
    batch.flush();
    a.get();
    b.get();
    c.get();
    EXPECT_EQ(mgr.get("c"), "3");
}

TEST_F(BatcherTest, EachCallKeepsItsTtl) {
    strata::Batcher batch{mgr, manual};
    const int writes_before = hot().switches().store_many_calls;
    auto brief = batch.set("brief", "v", {.ttl = 200ms});
    auto forever = batch.set("forever", "v");
    auto also_brief = batch.set("also-brief", "v", {.ttl = 200ms});
    batch.flush();
    brief.get();
    forever.get();
    also_brief.get();
    EXPECT_EQ(hot().switches().store_many_calls - writes_before, 2) << "one set_many per distinct SetOptions";
    ASSERT_TRUE(warm().inner().fetch("brief"));
    EXPECT_TRUE(warm().inner().fetch("brief")->expires_at);
    EXPECT_TRUE(warm().inner().fetch("also-brief")->expires_at);
    EXPECT_FALSE(warm().inner().fetch("forever")->expires_at);
    EXPECT_TRUE(eventually([&] { return !mgr.get("brief") && !mgr.get("also-brief"); }, bound));
    EXPECT_EQ(mgr.get("forever"), "v");
}
