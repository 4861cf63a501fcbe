// The manager's promises where they break: a tier failing mid-operation, a
// process restart, a read racing a write or a rollback, a clock stepping
// back, hostile arguments. Each test reproduces one audited scenario that
// broke a promise, over the real MemoryTier and FileTier (wrapped only to
// fail or pause on demand).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/strata.hpp>
#include <thread>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::ErrorKind;
using strata::testing::Switchable;
using strata::testing::TempDir;

namespace {

using Hot = Switchable<strata::MemoryTier>;
using Warm = Switchable<strata::FileTier>;
// A FileTier posing as a non-durable hot tier that keeps its data across a
// restart, as Redis with persistence does.
using Persisting = Switchable<strata::FileTier, strata::Temperature::hot, false>;
// A second durable tier, colder.
using Cold = Switchable<strata::FileTier, strata::Temperature::cold>;

strata::FileTierOptions quick(std::string name) { return {.fsync = false, .name = std::move(name)}; }

strata::Error failure(ErrorKind kind, std::string_view op) {
    return strata::Error(kind, "test", std::string(op), "made to fail by the test");
}

template <class F>
ErrorKind kind_of(F&& f) {
    try {
        f();
    } catch (const strata::Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "no strata::Error was thrown";
    return ErrorKind::invalid;
}

}  // namespace

// Scenario 1: v1 demoted to the cold tier, v2 written (hot + warm), the hot
// copy lost, the warm tier failing one read: v1 must not be served, nor
// promoted into the hot tier.
TEST(Promises, AColderCopyIsNotServedWhileAWarmerTierThatMayHoldNewerFails) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::AlwaysPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path / "warm", quick("warm")}},
                             Cold{strata::FileTier{dir.path / "cold", quick("cold")}}};
    mgr.set("k", "v1");
    ASSERT_TRUE(mgr.demote("k", strata::cold));
    mgr.set("k", "v2");
    ASSERT_EQ(mgr.tier<2>().inner().fetch("k")->value, "v1");
    mgr.tier<0>().inner().erase("k");  // evicted, or the process restarted

    mgr.tier<1>().switches().down = true;
    EXPECT_EQ(kind_of([&] { mgr.get("k"); }), ErrorKind::unavailable);
    std::vector<std::string> one{"k"};
    EXPECT_EQ(kind_of([&] { mgr.get_many(one); }), ErrorKind::unavailable);
    EXPECT_FALSE(mgr.tier<0>().inner().fetch("k"));  // v1 was not promoted
    mgr.tier<1>().switches().down = false;
    EXPECT_EQ(mgr.get("k"), "v2");
    EXPECT_EQ(mgr.tier<0>().inner().fetch("k")->value, "v2");
}

// A failing non-durable tier is covered by the durable tier every write into
// it reached: reads go on from there.
TEST(Promises, AFailingHotTierIsCoveredByTheDurableTierBelowIt) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path / "warm", quick("warm")}},
                             Cold{strata::FileTier{dir.path / "cold", quick("cold")}}};
    mgr.set("in-warm", "w");
    mgr.set("in-cold", "c", strata::cold);
    mgr.tier<0>().switches().down = true;
    EXPECT_EQ(mgr.get("in-warm"), "w");
    EXPECT_EQ(mgr.get("in-cold"), "c");
    EXPECT_EQ(mgr.get("absent"), std::nullopt);
}

// Scenario 1, restart: Memory + a non-durable tier that keeps its data +
// FileTier. Write-through must not skip the middle tier, or after a restart
// its older copy is served while the FileTier holds the newer one.
TEST(Promises, WriteThroughReachesEveryTierDownToTheDurableOne) {
    TempDir dir;
    {
        strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                                 Persisting{strata::FileTier{dir.path / "redis", quick("redis")}},
                                 Warm{strata::FileTier{dir.path / "file", quick("file")}}};
        mgr.set("k", "v1");
        ASSERT_TRUE(mgr.demote("k", strata::at<1>));
        mgr.set("k", "v2");
        EXPECT_EQ(mgr.tier<1>().inner().fetch("k")->value, "v2");
    }
    strata::StateManager restarted{strata::LruCache{100}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                                   Persisting{strata::FileTier{dir.path / "redis", quick("redis")}},
                                   Warm{strata::FileTier{dir.path / "file", quick("file")}}};
    EXPECT_EQ(restarted.get("k"), "v2");
}

// Scenario 8: nothing hotter than the durable tier shows a write before the
// durable tier has it, so a write that fails there was never seen.
TEST(Promises, AWriteThatFailsInTheDurableTierIsNeverSeen) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path, quick("warm")}}};
    mgr.set("k", "v0");
    std::optional<std::string> hot_during, seen_by_reader;
    std::thread reader;
    mgr.tier<1>().switches().before = [&](std::string_view op) {
        if (op != "store_many") return;
        hot_during = mgr.tier<0>().inner().fetch("k")->value;
        reader = std::thread([&] { seen_by_reader = mgr.get("k"); });  // another reader, while the write is inside
        throw failure(ErrorKind::unavailable, op);
    };
    EXPECT_THROW(mgr.set("k", "v1"), strata::Error);
    reader.join();
    mgr.tier<1>().switches().before = nullptr;
    EXPECT_EQ(hot_during, "v0");
    EXPECT_EQ(seen_by_reader, "v0");
    EXPECT_EQ(mgr.get("k"), "v0");
}

// Scenario 8: the hot tier applied the write but reported a timeout, and the
// durable write failed too: the never-acknowledged value must not be served.
TEST(Promises, AHotTierThatAppliedAFailedWriteDoesNotServeIt) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path, quick("warm")}}};
    mgr.set("k", "v0");
    mgr.tier<0>().switches().after = [](std::string_view op) {
        if (op == "store_many") throw failure(ErrorKind::timeout, op);
    };
    mgr.tier<1>().switches().before = [](std::string_view op) {
        if (op == "store_many") throw failure(ErrorKind::timeout, op);  // maybe applied, maybe not
    };
    EXPECT_THROW(mgr.set("k", "v1"), strata::Error);
    mgr.tier<0>().switches().after = nullptr;
    mgr.tier<1>().switches().before = nullptr;
    EXPECT_EQ(mgr.get("k"), "v0");
    EXPECT_NE(mgr.tier<0>().inner().fetch("k").value_or(strata::Record{}).value, "v1");
}

// A write the durable tier took but the hot tier failed leaves the hot
// tier's older copy marked: reads skip it until a write there succeeds.
TEST(Promises, AHotTierThatMissedAWriteIsSkippedForThatKey) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path, quick("warm")}}};
    mgr.set("k", "v0");
    mgr.tier<0>().switches().before = [](std::string_view op) {
        if (op == "store_many") throw failure(ErrorKind::unavailable, op);
    };
    mgr.set("k", "v1");  // acknowledged: the durable tier has it
    mgr.tier<0>().switches().before = nullptr;
    EXPECT_EQ(mgr.tier<0>().inner().fetch("k")->value, "v0");
    EXPECT_EQ(mgr.health()[0].stale_keys, 1u);
    EXPECT_EQ(mgr.get("k"), "v1");
    EXPECT_EQ(mgr.health()[0].stale_keys, 0u);  // the read cleaned the old copy up
    EXPECT_FALSE(mgr.tier<0>().inner().fetch("k"));
}

// Writes reach the durable tier first and the hotter tiers after it, so a
// read that runs into the middle of a write (here one that passes over a
// failing hot tier to the durable copy) could return the new value while the
// hot tier still shows others the old one: a value, then an older one. Such
// a read is done again, and waits for the write rather than answer early.
TEST(Promises, AReadThatRacesAWriteDoesNotAnswerBeforeTheWriteEnds) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path, quick("warm")}}};
    mgr.set("k", "v0");
    thread_local bool on_reader = false;
    std::atomic<int> reader_fetches{0};
    mgr.tier<0>().switches().before = [&](std::string_view op) {
        if (on_reader) throw failure(ErrorKind::unavailable, op);  // the hot tier fails for this reader only
    };
    std::atomic<bool> answered{false}, answered_mid_write{false};
    std::optional<std::string> hot_mid_write;
    std::thread reader;
    std::optional<std::string> got;
    std::atomic<bool> armed{true};
    mgr.tier<1>().switches().before = [&](std::string_view op) {
        if (on_reader && op == "fetch_many") ++reader_fetches;
    };
    // Runs once the durable tier has v1, before the hot tier is written.
    mgr.tier<1>().switches().after = [&](std::string_view op) {
        if (op != "store_many" || !armed.exchange(false)) return;
        reader = std::thread([&] {
            on_reader = true;
            got = mgr.get("k");
            answered = true;
        });
        // Until the reader has read twice (and so must wait) or answered.
        while (reader_fetches < 2 && !answered) std::this_thread::yield();
        answered_mid_write = answered.load();
        hot_mid_write = mgr.tier<0>().inner().fetch("k")->value;
    };
    mgr.set("k", "v1");
    reader.join();
    EXPECT_EQ(hot_mid_write, "v0");  // others still read v0 from the hot tier then
    EXPECT_FALSE(answered_mid_write) << "answered " << got.value_or("-") << " while the hot tier showed v0";
    EXPECT_EQ(got, "v1");
}

// Scenario 2: a read that overlaps a rollback must not cache or promote the
// pre-rollback value after the rollback has returned.
TEST(Promises, AReadOverlappingARollbackDoesNotBringBackTheOldValue) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{100}, strata::AlwaysPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path / "tier", quick("warm")}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    mgr.set("k", "v1");
    const auto info = ckpt.create();
    mgr.set("k", "v2", strata::warm);  // only in the warm tier: the reader goes there

    std::promise<void> read_done, go_on;
    auto resume = go_on.get_future().share();
    std::atomic<bool> armed{true};
    mgr.tier<1>().switches().after = [&](std::string_view op) {
        if (op == "fetch_many" && armed.exchange(false)) {
            read_done.set_value();
            resume.wait();
        }
    };
    auto reader = std::async(std::launch::async, [&] { return mgr.get("k"); });
    read_done.get_future().wait();  // the reader holds v2 and has not followed up yet
    ckpt.rollback(info.id);
    go_on.set_value();
    const auto overlapped = reader.get();  // it overlapped the rollback: either value is fair
    EXPECT_TRUE(overlapped == "v1" || overlapped == "v2") << overlapped.value_or("(absent)");
    mgr.tier<1>().switches().after = nullptr;

    EXPECT_EQ(mgr.get("k"), "v1");
    EXPECT_EQ(mgr.tier<0>().inner().fetch("k")->value, "v1");
}

// Scenario 3: a capture leaves out copies the manager knows are stale, so a
// rollback restores what get() returned when the checkpoint was taken.
TEST(Promises, ACaptureSkipsCopiesMarkedStale) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path / "tier", quick("warm")}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    mgr.set("k", "v1");
    mgr.tier<0>().switches().before = [](std::string_view op) {
        if (op == "store_many") throw failure(ErrorKind::unavailable, op);
    };
    mgr.set("k", "v2");  // the hot tier keeps v1, marked stale; get() returns v2
    mgr.tier<0>().switches().before = nullptr;
    ASSERT_EQ(mgr.health()[0].stale_keys, 1u);
    const auto info = ckpt.create();
    mgr.set("k", "v3");
    ckpt.rollback(info.id);
    EXPECT_EQ(mgr.get("k"), "v2");
    EXPECT_FALSE(mgr.tier<0>().inner().fetch("k"));
}

// Scenario 4: a capture with writes going on. A TTL write lands after the
// hot and warm tiers were listed and erases the cold copy: the checkpoint
// must still hold the key, or a rollback deletes a key that existed
// throughout.
TEST(Promises, ACaptureWhileWritingKeepsAKeyThatMovedBetweenTiers) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path / "warm", quick("warm")}},
                             Cold{strata::FileTier{dir.path / "cold", quick("cold")}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    mgr.set("k", "v1");
    ASSERT_TRUE(mgr.demote("k", strata::cold));
    mgr.set("other", "o");
    std::atomic<bool> armed{true};
    mgr.tier<2>().switches().before = [&](std::string_view op) {
        if (op == "keys" && armed.exchange(false)) mgr.set("k", "v2", strata::SetOptions{.ttl = 1h});
    };
    const auto info = ckpt.create(strata::CheckpointType::manual, {.hold_writes = false});
    mgr.tier<2>().switches().before = nullptr;
    EXPECT_FALSE(armed);
    EXPECT_FALSE(info.writes_held);
    mgr.set("k", "v3");
    mgr.erase("other");
    ckpt.rollback(info.id);
    EXPECT_EQ(mgr.get("k"), "v2");
    EXPECT_EQ(mgr.get("other"), "o");
}

// Scenario 5: a steady stream of writers must not starve a pause for a
// checkpoint or rollback: it waits only for the writes already inside.
TEST(Promises, WritersDoNotStarveAWritePause) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path, quick("warm")}}};
    mgr.tier<1>().switches().before = [](std::string_view op) {
        if (op == "store_many") std::this_thread::sleep_for(2ms);
    };
    constexpr int writers = 4, writes_each = 250;
    std::atomic<int> done{0};
    std::latch started(writers);
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            started.count_down();
            for (int i = 0; i < writes_each; ++i) {
                mgr.set("w" + std::to_string(w), std::to_string(i));
                ++done;
            }
        });
    started.wait();
    while (done < 8) std::this_thread::yield();
    const int before = done;
    int during;
    {
        auto pause = mgr.pause_writes();
        during = done;
    }
    for (auto& t : threads) t.join();
    // Only writes already inside may finish: at most one per writer thread.
    EXPECT_LE(during - before, writers);
    EXPECT_LT(during, writers * writes_each);
}

// Scenario 9: a TTL too large for the clock is refused before any tier is
// touched; it used to overflow, read as expired and erase colder copies.
TEST(Promises, AnOverlongTtlIsRefusedAndLosesNothing) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                             Warm{strata::FileTier{dir.path, quick("warm")}}};
    mgr.set("k", "kept");
    const auto centuries = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::hours{24 * 365 * 300});
    EXPECT_THROW(mgr.set("k", "v", strata::SetOptions{.ttl = centuries}), std::invalid_argument);
    std::vector<std::pair<std::string, std::string>> kv{{"k", "v"}};
    EXPECT_THROW(mgr.set_many(kv, strata::SetOptions{.ttl = centuries}), std::invalid_argument);
    EXPECT_THROW(mgr.set("k", "v", strata::SetOptions{.ttl = std::chrono::milliseconds::max()}),
                 std::invalid_argument);
    EXPECT_EQ(mgr.get("k"), "kept");
    mgr.set("long", "lived", strata::SetOptions{.ttl = std::chrono::hours{24 * 365 * 99}});
    EXPECT_EQ(mgr.get("long"), "lived");
}

// Scenario 10: after the clock steps back, retention keeps the checkpoint
// just created, and it still sorts as the newest.
TEST(Promises, RetentionKeepsTheNewestCheckpointWhenTheClockStepsBack) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path / "tier", quick("warm")}};
    auto offset = std::make_shared<std::atomic<std::int64_t>>(std::chrono::hours(2) / 1us);
    strata::CheckpointerOptions options;
    options.retention.keep_last = 2;
    options.clock = [offset] { return strata::Clock::now() + std::chrono::microseconds(offset->load()); };
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}, options};
    for (int i = 0; i < 3; ++i) {
        mgr.set("k", std::to_string(i));
        ckpt.create();
    }
    *offset = 0;  // two hours back
    mgr.set("k", "after the step");
    const auto newest = ckpt.create();
    const auto listed = ckpt.list();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed.back().id, newest.id);
    EXPECT_GT(listed.back().created_at, listed.front().created_at);
    mgr.set("k", "later");
    ckpt.rollback(newest.id);
    EXPECT_EQ(mgr.get("k"), "after the step");
}

namespace {

// Refuses a record older than the one it holds, as PostgresTier does with
// newer_versions_only: the stand-in for a PostgreSQL written by another
// process with its clock ahead (a real server cannot be made to show a
// skewed clock here; the stack tests do the same against PostgreSQL).
class NewerOnly {
public:
    static constexpr strata::Temperature temperature = strata::Temperature::warm;
    static constexpr bool durable = true;
    strata::MemoryTier inner;

    std::string_view name() const { return "newer-only"; }
    std::optional<strata::Record> fetch(std::string_view k) { return inner.fetch(k); }
    void store(std::string_view k, const strata::Record& r) {
        if (auto held = inner.fetch(k); held && held->version > r.version)
            throw strata::Error(ErrorKind::conflict, "newer-only", "store", "a newer version is stored");
        inner.store(k, r);
    }
    bool erase(std::string_view k) { return inner.erase(k); }
    std::vector<std::string> keys(std::string_view g) { return inner.keys(g); }
    std::vector<std::optional<strata::Record>> fetch_many(std::span<const std::string> k) { return inner.fetch_many(k); }
    void store_many(std::span<const strata::Entry> es) {
        for (const auto& e : es) store(e.key, e.record);
    }
    std::size_t erase_many(std::span<const std::string> k) { return inner.erase_many(k); }
    strata::TierStats stats() { return inner.stats(); }
    bool ping() { return true; }
};

}  // namespace

// Scenario 11: a durable tier holding a newer version (another process with
// its clock ahead, or this one before a restart with the clock behind) makes
// the manager raise its clock and write again: the write is not dropped.
TEST(Promises, AWriteRefusedAsOlderIsWrittenAgainAboveTheStoredVersion) {
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, strata::MemoryTier{}, NewerOnly{}};
    const auto ahead = static_cast<std::uint64_t>((strata::Clock::now() + 1h).time_since_epoch() / 1us);
    mgr.tier<1>().inner.store("k", strata::make_record("from the future", ahead));
    mgr.set("k", "now");
    EXPECT_EQ(mgr.get("k"), "now");
    EXPECT_GT(mgr.tier<1>().fetch("k")->version, ahead);
    std::vector<std::pair<std::string, std::string>> kv{{"k", "batch"}, {"other", "x"}};
    mgr.set_many(kv);
    EXPECT_EQ(mgr.tier<1>().fetch("k")->value, "batch");
}
