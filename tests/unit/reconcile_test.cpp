// A hot tier that was away, over real FileTiers: a non-durable FileTier
// stands for a Redis that keeps its data across restarts of the process
// (so a "restart" is a new manager over the same directories), a durable
// FileTier below it. Stale marks outliving the process, quarantine,
// reconcile() (older, erased-while-away, corrupt and expired copies go;
// writes racing it), and warm().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <strata/strata.hpp>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::testing::Switchable;
using strata::testing::TempDir;
using strata::testing::TierSwitches;
using ::testing::IsEmpty;
using ::testing::Not;

namespace {

// Hot and not durable, but its records outlive the manager, as Redis's do.
using Hot = Switchable<strata::FileTier, strata::Temperature::hot, false>;
using Warm = Switchable<strata::FileTier>;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Hot, Warm>;

struct Process {
    std::shared_ptr<TierSwitches> hot_switches = std::make_shared<TierSwitches>();
    std::shared_ptr<TierSwitches> warm_switches = std::make_shared<TierSwitches>();
    Manager mgr;

    Process(const TempDir& dir, bool warm_down_at_start = false)
        : warm_switches(start_down(warm_down_at_start)),
          mgr(strata::LruCache{1000}, strata::NeverPromote{},
              Hot{strata::FileTier{dir.path / "hot", strata::FileTierOptions{.fsync = false, .name = "hot"}},
                  hot_switches},
              Warm{strata::FileTier{dir.path / "warm", strata::FileTierOptions{.fsync = false, .name = "warm"}},
                   warm_switches}) {}

    static std::shared_ptr<TierSwitches> start_down(bool down) {
        auto s = std::make_shared<TierSwitches>();
        s->down = down;
        return s;
    }
    strata::FileTier& hot() { return mgr.tier<0>().inner(); }
    strata::FileTier& warm() { return mgr.tier<1>().inner(); }
    std::vector<std::string> marks() { return warm().keys("__strata_stale__/*"); }
};

// key0..key<n-1>, each with value(i), for one set_many.
template <class F>
std::vector<std::pair<std::string, std::string>> numbered(int n, F value) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < n; ++i) out.emplace_back("key" + std::to_string(i), value(i));
    return out;
}

class Reconcile : public ::testing::Test {
protected:
    TempDir dir;
};

}  // namespace

// The scenario of the issue: the process is killed while Redis is down,
// Redis comes back with its old data, a new process starts. Without marks
// kept in the durable tier the new process would serve "v1" and "gone".
TEST_F(Reconcile, MarksOfWritesTheHotTierMissedOutliveTheProcess) {
    {
        Process p(dir);
        p.mgr.set("k", "v1");
        p.mgr.set("gone", "x");
        p.mgr.set("kept", "same");
        p.hot_switches->down = true;
        p.mgr.set("k", "v2");  // acknowledged: the warm tier has it
        EXPECT_TRUE(p.mgr.erase("gone"));
        EXPECT_EQ(p.mgr.health()[0].stale_keys, 2u);
        EXPECT_EQ(p.marks().size(), 2u);
    }
    Process p(dir);
    ASSERT_EQ(p.hot().fetch("k")->value, "v1");  // the old copy is still there
    EXPECT_EQ(p.mgr.health()[0].stale_keys, 2u);
    EXPECT_EQ(p.mgr.get("k"), "v2");
    EXPECT_EQ(p.mgr.get("gone"), std::nullopt);
    EXPECT_EQ(p.mgr.get("kept"), "same");
    EXPECT_EQ(p.mgr.keys("*"), (std::vector<std::string>{"k", "kept"}));
    // The reads cleaned up behind themselves: the old copies went, and so
    // did the marks, here and in the durable tier.
    EXPECT_FALSE(p.hot().fetch("k"));
    EXPECT_FALSE(p.hot().fetch("gone"));
    EXPECT_EQ(p.mgr.health()[0].stale_keys, 0u);
    EXPECT_THAT(p.marks(), IsEmpty());
    // The marks are strata's: a checkpoint or listing never shows them.
    EXPECT_THAT(p.mgr.keys("__strata_*"), IsEmpty());
}

TEST_F(Reconcile, AWriteThatReachesTheHotTierAgainClearsItsKeptMark) {
    Process p(dir);
    p.mgr.set("k", "v1");
    p.hot_switches->down = true;
    p.mgr.set("k", "v2");
    ASSERT_EQ(p.marks().size(), 1u);
    p.hot_switches->down = false;
    p.mgr.set("k", "v3");
    EXPECT_EQ(p.hot().fetch("k")->value, "v3");
    EXPECT_THAT(p.marks(), IsEmpty());
    EXPECT_EQ(p.mgr.health()[0].stale_keys, 0u);
}

// A Redis restarted from an old snapshot holds copies no mark names (they
// were written while it was up). Quarantined, it serves none of them; the
// reconcile takes out every copy that is not the newest.
TEST_F(Reconcile, OnlyATierWhoseWritesReachADurableTierBelowIsCoverable) {
    Process p(dir);
    EXPECT_TRUE(p.mgr.coverable(0));
    EXPECT_EQ(p.mgr.write_through_of(0), 1u);
    EXPECT_FALSE(p.mgr.coverable(1));  // durable: the truth itself
    EXPECT_EQ(p.mgr.write_through_of(1), std::nullopt);
    EXPECT_FALSE(p.mgr.coverable(2));  // out of range
    // Without write-through a write into the hot tier reaches nothing below.
    Manager direct{strata::ManagerOptions{.write_through = false}, strata::LruCache{10}, strata::NeverPromote{},
                   Hot{strata::FileTier{dir.path / "hot2", strata::FileTierOptions{.fsync = false, .name = "hot2"}}},
                   Warm{strata::FileTier{dir.path / "warm2", strata::FileTierOptions{.fsync = false, .name = "warm2"}}}};
    EXPECT_FALSE(direct.coverable(0));
    EXPECT_EQ(direct.write_through_of(0), std::nullopt);
    EXPECT_THROW(direct.quarantine(0), std::invalid_argument);
}

TEST_F(Reconcile, AQuarantinedTierIsPassedOverUntilReconcileTakesOutWhatIsNotNewest) {
    Process p(dir);
    p.mgr.set_many(numbered(1200, [](int i) { return "new" + std::to_string(i); }));
    p.mgr.invalidate_cache();
    // What an old snapshot brings back: older copies of some keys, a key the
    // durable tier no longer holds, a corrupt copy and an expired one.
    for (int i = 0; i < 1200; i += 10) p.hot().store("key" + std::to_string(i), strata::make_record("old", 1));
    p.hot().store("erased-meanwhile", strata::make_record("x", p.mgr.current_version() + 1));
    auto corrupt = *p.hot().fetch("key1");
    corrupt.value = "tampered";
    p.hot().store("key1", corrupt);
    auto expired = *p.hot().fetch("key2");
    expired.expires_at = strata::Clock::now() - 1s;
    p.hot().store("key2", expired);

    EXPECT_THROW(p.mgr.quarantine(1), std::invalid_argument);  // durable: nothing answers for it
    p.mgr.quarantine(0);
    EXPECT_TRUE(p.mgr.quarantined(0));
    const int hot_reads = p.hot_switches->fetch_many_calls;
    EXPECT_EQ(p.mgr.get("key10"), "new10");
    EXPECT_EQ(p.mgr.get("erased-meanwhile"), std::nullopt);
    EXPECT_EQ(p.hot_switches->fetch_many_calls, hot_reads);  // the hot tier was not asked
    EXPECT_THAT(p.mgr.keys("erased*"), IsEmpty());

    const auto report = p.mgr.reconcile(0);
    EXPECT_FALSE(p.mgr.quarantined(0));
    // The FileTier neither lists nor hands back an expired copy: key2's
    // stays for sweep_expired(), harmless.
    EXPECT_EQ(report.examined, 1200u);
    EXPECT_EQ(report.erased, 120u + 1 + 1);  // key0, key10, ... older; erased-meanwhile; key1 corrupt
    p.mgr.invalidate_cache();
    for (int i = 0; i < 1200; ++i) {
        const auto key = "key" + std::to_string(i);
        ASSERT_EQ(p.mgr.get(key), "new" + std::to_string(i)) << key;
        if (auto h = p.hot().fetch(key)) {
            ASSERT_EQ(h->version, p.warm().fetch(key)->version) << key;
        }
    }
    EXPECT_FALSE(p.hot().fetch("erased-meanwhile"));
    EXPECT_FALSE(p.hot().fetch("key1"));
}

TEST_F(Reconcile, ACopyNewerThanTheDurableTiersStays) {
    Process p(dir);
    p.mgr.set("k", "v1");
    auto newer = *p.hot().fetch("k");
    newer = strata::make_record("only-here", newer.version + 5);
    p.hot().store("k", newer);
    p.mgr.quarantine(0);
    EXPECT_EQ(p.mgr.reconcile(0).erased, 0u);
    p.mgr.invalidate_cache();
    EXPECT_EQ(p.mgr.get("k"), "only-here");
}

TEST_F(Reconcile, ATierThatFailsLeavesTheTierQuarantinedAndChangesNothing) {
    Process p(dir);
    p.mgr.set("k", "v1");
    p.hot().store("k", strata::make_record("old", 1));
    p.mgr.quarantine(0);
    p.warm_switches->down = true;
    EXPECT_THROW(p.mgr.reconcile(0), strata::Error);
    EXPECT_TRUE(p.mgr.quarantined(0));
    EXPECT_EQ(p.hot().fetch("k")->value, "old");
    p.mgr.invalidate_cache();
    EXPECT_THROW(p.mgr.get("k"), strata::Error);  // the old copy is not served in the meantime
    p.warm_switches->down = false;
    EXPECT_EQ(p.mgr.reconcile(0).erased, 1u);
    EXPECT_EQ(p.mgr.get("k"), "v1");
}

// The durable tier is down as the process starts, so its marks cannot be
// read: the hot tier is passed over until a reconcile has read them.
TEST_F(Reconcile, MarksThatCannotBeReadAtStartQuarantineTheHotTier) {
    {
        Process p(dir);
        p.mgr.set("k", "v1");
        p.hot_switches->down = true;
        p.mgr.set("k", "v2");
    }
    Process p(dir, /*warm_down_at_start=*/true);
    EXPECT_TRUE(p.mgr.quarantined(0));
    EXPECT_THROW(p.mgr.get("k"), strata::Error);  // "v1" is never the answer
    p.warm_switches->down = false;
    EXPECT_EQ(p.mgr.get("k"), "v2");
    p.mgr.reconcile(0);
    EXPECT_FALSE(p.mgr.quarantined(0));
    EXPECT_FALSE(p.hot().fetch("k"));
    EXPECT_THAT(p.marks(), IsEmpty());
}

// A mark whose record fails its checksum no longer says which key it was
// for: the whole tier waits for a reconcile.
TEST_F(Reconcile, ACorruptKeptMarkQuarantinesItsTier) {
    {
        Process p(dir);
        p.mgr.set("k", "v1");
        p.hot_switches->down = true;
        p.mgr.set("k", "v2");
        const auto name = p.marks().at(0);
        auto mark = *p.warm().fetch(name);
        mark.value = "someone-else";
        p.warm().store(name, mark);
    }
    Process p(dir);
    EXPECT_TRUE(p.mgr.quarantined(0));
    EXPECT_EQ(p.mgr.get("k"), "v2");
    EXPECT_EQ(p.mgr.reconcile(0).erased, 1u);
}

TEST_F(Reconcile, WritesRacingAReconcileAreNeverUndone) {
    Process p(dir);
    p.mgr.set_many(numbered(1200, [](int) { return std::string("0"); }));
    for (int i = 0; i < 1200; i += 3) p.hot().store("key" + std::to_string(i), strata::make_record("old", 1));
    p.mgr.quarantine(0);
    std::atomic<bool> done{false};
    std::map<std::string, std::string> last;
    std::thread writer([&] {
        for (int round = 1; !done; ++round)
            for (int i = 0; i < 1200 && !done; i += 7) {
                const auto key = "key" + std::to_string(i);
                p.mgr.set(key, std::to_string(round));
                last[key] = std::to_string(round);
            }
    });
    p.mgr.reconcile(0);
    done = true;
    writer.join();
    ASSERT_THAT(last, Not(IsEmpty()));
    p.mgr.invalidate_cache();
    for (int i = 0; i < 1200; ++i) {
        const auto key = "key" + std::to_string(i);
        const auto it = last.find(key);
        ASSERT_EQ(p.mgr.get(key), it == last.end() ? "0" : it->second) << key;
        if (auto h = p.hot().fetch(key)) {
            ASSERT_EQ(h->version, p.warm().fetch(key)->version) << key;
        }
    }
}

TEST_F(Reconcile, WarmCopiesTheNewestColderCopiesIntoTheTier) {
    Process p(dir);
    p.mgr.set_many(numbered(1100, [](int i) { return std::to_string(i); }));
    for (int i = 0; i < 1100; ++i) p.hot().erase("key" + std::to_string(i));  // came back empty
    std::vector<std::string> keys;
    for (int i = 0; i < 1100; i += 2) keys.push_back("key" + std::to_string(i));
    keys.push_back("never-written");
    EXPECT_EQ(p.mgr.warm(0, keys), 550u);
    EXPECT_EQ(p.hot().fetch("key4")->value, "4");
    EXPECT_EQ(p.hot().fetch("key4")->version, p.warm().fetch("key4")->version);
    EXPECT_FALSE(p.hot().fetch("key5"));
    EXPECT_EQ(p.mgr.warm(0, keys), 0u);  // already the hottest copy
    EXPECT_THROW(p.mgr.warm(2, keys), std::invalid_argument);
}

// ---- scrub -----------------------------------------------------------------

namespace {

void tamper(strata::FileTier& tier, const std::string& key) {
    auto r = *tier.fetch(key);
    r.value += "!";
    tier.store(key, r);
}

}  // namespace

TEST_F(Reconcile, ScrubRepairsACorruptCopyInEveryTierFromTheValidOne) {
    Process p(dir);
    p.mgr.set_many(numbered(600, [](int i) { return std::to_string(i); }));
    tamper(p.hot(), "key7");     // the durable copy is as new
    tamper(p.warm(), "key123");  // the hot copy is the newest
    tamper(p.warm(), "key501");
    const auto report = p.mgr.scrub(100);
    EXPECT_EQ(report.examined, 1200u);
    EXPECT_EQ(report.corrupt, 3u);
    EXPECT_EQ(report.repaired, 3u);
    EXPECT_THAT(report.lost, IsEmpty());
    for (const auto* key : {"key7", "key123", "key501"}) {
        EXPECT_TRUE(p.hot().fetch(key)->intact()) << key;
        EXPECT_TRUE(p.warm().fetch(key)->intact()) << key;
    }
    EXPECT_EQ(p.warm().fetch("key123")->value, "123");
    EXPECT_EQ(p.mgr.health()[1].repairs, 2u);
    const auto again = p.mgr.scrub();
    EXPECT_EQ(again.corrupt, 0u);
}

// No copy can be proven as new: the corrupt copies stay, the key is named,
// and reads keep failing rather than serve an older value or none. A key
// whose durable copy is gone and hot copy corrupt is lost too: reads say so.
TEST_F(Reconcile, ScrubListsTheCopiesItCannotSave) {
    Process p(dir);
    p.mgr.set("both", "1");
    p.mgr.set("hot-only", "1");
    p.warm().erase("hot-only");  // its durable copy was lost
    tamper(p.hot(), "both");
    tamper(p.warm(), "both");
    tamper(p.hot(), "hot-only");
    const auto report = p.mgr.scrub();
    EXPECT_EQ(report.corrupt, 3u);
    EXPECT_EQ(report.repaired, 0u);
    ASSERT_EQ(report.lost.size(), 3u);
    EXPECT_EQ(report.lost[0].tier, "hot");
    EXPECT_EQ(report.lost[0].key, "both");
    EXPECT_EQ(report.lost[1].tier, "hot");
    EXPECT_EQ(report.lost[1].key, "hot-only");
    EXPECT_EQ(report.lost[2].tier, "warm");
    EXPECT_EQ(report.lost[2].key, "both");
    p.mgr.invalidate_cache();
    EXPECT_THROW(p.mgr.get("both"), strata::Error);
    EXPECT_THROW(p.mgr.get("hot-only"), strata::Error);
    EXPECT_FALSE(p.hot().fetch("both")->intact());  // left for a person to see
    EXPECT_THROW(p.mgr.scrub(0), std::invalid_argument);
}

// ---- a durable tier that lost its data ---------------------------------------

TEST_F(Reconcile, WriteBackSavesTheHotCopiesTheDurableTierLacksOrHoldsOlder) {
    Process p(dir);
    p.mgr.set_many(numbered(1100, [](int i) { return std::to_string(i); }));
    for (int i = 0; i < 1100; i += 2) p.warm().erase("key" + std::to_string(i));  // lost below
    p.warm().store("key1", strata::make_record("older", 1));
    p.mgr.set("key3", "v1");
    p.hot_switches->down = true;
    p.mgr.set("key3", "v2");  // the hot copy "v1" is marked: superseded
    p.hot_switches->down = false;
    p.warm().erase("key3");   // and the durable tier lost "v2"
    EXPECT_EQ(p.mgr.write_back(0), 550u + 1);  // the even keys, and key1
    EXPECT_EQ(p.warm().fetch("key10")->value, "10");
    EXPECT_EQ(p.warm().fetch("key10")->version, p.hot().fetch("key10")->version);
    EXPECT_EQ(p.warm().fetch("key1")->value, "1");
    EXPECT_FALSE(p.warm().fetch("key3"));  // a superseded copy is never written down
    EXPECT_EQ(p.mgr.write_back(0), 0u);
    EXPECT_THROW(p.mgr.write_back(1), std::invalid_argument);
}

TEST_F(Reconcile, AScopedFillOnlyRollbackTouchesOneTierAndNothingNewer) {
    Process p(dir);
    strata::Checkpointer ckpt{p.mgr, strata::DirectoryCheckpointStore{dir.path / "checkpoints"}};
    p.mgr.set("k1", "at-checkpoint");
    p.mgr.set("k2", "at-checkpoint");
    const auto point = ckpt.create();
    p.mgr.set("k1", "after");
    p.mgr.set("k3", "after");
    p.warm().erase("k2");
    p.hot().erase("k2");
    const auto report = ckpt.rollback(point.id, strata::RestoreScope{.tier = 1, .fill_only = true});
    EXPECT_EQ(report.keys_restored, 1u);  // k2 only
    EXPECT_EQ(report.keys_removed, 0u);
    ASSERT_EQ(report.tiers.size(), 1u);
    EXPECT_EQ(report.tiers[0].index, 1u);
    EXPECT_EQ(p.warm().fetch("k1")->value, "after");
    EXPECT_EQ(p.warm().fetch("k2")->value, "at-checkpoint");
    EXPECT_EQ(p.warm().fetch("k3")->value, "after");
    EXPECT_EQ(p.hot().fetch("k1")->value, "after");  // the hot tier was not in scope
    EXPECT_FALSE(p.hot().fetch("k2"));
    p.mgr.invalidate_cache();
    EXPECT_EQ(p.mgr.get("k2"), "at-checkpoint");
}
