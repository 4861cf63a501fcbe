// RecoveryOrchestrator's built-in handlers over real FileTiers: a
// non-durable one in front (its data outlives a restart, as Redis's does)
// and a durable one. A hot tier that returns, or restarts between two
// rounds with older data, is quarantined and reconciled, then re-warmed; a
// durable tier that returns empty is restored from the newest verified
// checkpoint, and one that cannot be restored safely is escalated; reads
// that meet corruption, and scrub(), repair it; memory pressure sheds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <strata/strata.hpp>

#include "common/eventually.hpp"
#include "common/recovery_support.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::FailureType;
using strata::IncidentOutcome;
using strata::testing::eventually;
using strata::testing::quick;
using strata::testing::read_all;
using strata::testing::Switchable;
using strata::testing::TempDir;
using strata::testing::TestClock;
using strata::testing::TierSwitches;
using ::testing::HasSubstr;

namespace {

using Hot = Switchable<strata::FileTier, strata::Temperature::hot, false>;
using Warm = Switchable<strata::FileTier>;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Hot, Warm>;
using Orchestrator = strata::RecoveryOrchestrator<Manager>;
using Checkpoints = strata::Checkpointer<Manager, strata::DirectoryCheckpointStore>;

struct Stack {
    TempDir dir{"strata-builtins"};
    std::shared_ptr<TierSwitches> hot_switches = std::make_shared<TierSwitches>();
    std::shared_ptr<TierSwitches> warm_switches = std::make_shared<TierSwitches>();
    std::shared_ptr<TestClock> clock = std::make_shared<TestClock>();
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{},
                Hot{strata::FileTier{dir.path / "hot", strata::FileTierOptions{.fsync = false, .name = "hot"}},
                    hot_switches},
                Warm{strata::FileTier{dir.path / "warm", strata::FileTierOptions{.fsync = false, .name = "warm"}},
                     warm_switches}};

    strata::FileTier& hot() { return mgr.tier<0>().inner(); }
    strata::FileTier& warm() { return mgr.tier<1>().inner(); }

    // Everything in a tier, the orchestrator's marker included, gone: what
    // a server restarted without its data, or replaced, answers with.
    static void wipe(strata::FileTier& tier) {
        for (const auto& k : tier.keys("*")) tier.erase(k);
    }
};

strata::Incident finished(const Orchestrator& rec, std::size_t n = 1) {
    if (!eventually([&] { return rec.stats().history.size() >= n && rec.stats().open.empty(); }, 10s))
        throw std::runtime_error("the incident did not finish in 10 s");
    return rec.stats().history.at(n - 1);
}

}  // namespace

TEST(RecoveryBuiltins, AHotTierThatReturnsIsReconciledBeforeItServesAndReWarmed) {
    Stack s;
    for (int i = 0; i < 20; ++i) s.mgr.set("key" + std::to_string(i), "v1");
    for (int i = 0; i < 20; ++i) s.mgr.get("key" + std::to_string(i));  // cached: read most
    Orchestrator rec{s.mgr, quick(s.clock)};
    rec.check();
    s.hot_switches->down = true;
    for (int i = 0; i < 3; ++i) rec.check();
    EXPECT_TRUE(s.mgr.quarantined(0));
    s.mgr.set("key1", "v2");  // marked: the hot tier missed it
    // What a snapshot taken before key2's last write brings back: no mark names it.
    s.mgr.set("key2", "v2");
    s.hot().store("key2", strata::make_record("v1", 1));
    EXPECT_EQ(s.mgr.get("key2"), "v2");  // quarantined: the warm tier answers (and the cache keeps it)

    s.clock->advance(30s);
    s.hot_switches->down = false;
    EXPECT_TRUE(rec.check().healthy());
    const auto inc = finished(rec);
    EXPECT_EQ(inc.event.type, FailureType::tier_down);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(inc.rto, strata::Clock::duration(30s));
    EXPECT_EQ(inc.rpo, strata::Clock::duration::zero());
    EXPECT_FALSE(s.mgr.quarantined(0));
    EXPECT_FALSE(s.hot().fetch("key1"));  // its older copy went
    // Re-warmed: the cache's keys are back in the hot tier, as new as below
    // (key1's cached value went with its write, key2's with its erased copy:
    // it may have been read from there before the tier was quarantined).
    EXPECT_FALSE(s.hot().fetch("key2"));
    for (const auto* key : {"key3", "key7", "key19"}) {
        const auto h = s.hot().fetch(key);
        ASSERT_TRUE(h) << key;
        EXPECT_EQ(h->version, s.warm().fetch(key)->version) << key;
    }
    s.mgr.invalidate_cache();
    EXPECT_EQ(s.mgr.get("key1"), "v2");
    EXPECT_EQ(s.mgr.get("key2"), "v2");
}

// The host restarted: Redis came back from an old snapshot while no process
// ran, so no stale mark and no marker says so. A new orchestrator passes
// over the hot tier until it has reconciled it.
TEST(RecoveryBuiltins, AHotTierIsReconciledBeforeItServesANewOrchestrator) {
    for (const bool at_start : {true, false}) {
        Stack s;
        s.mgr.set("k", "v2");
        s.hot().store("k", strata::make_record("v1", 1));  // what the old snapshot holds
        auto o = quick(s.clock);
        o.reconcile_at_start = at_start;
        Orchestrator rec{s.mgr, o};
        s.mgr.invalidate_cache();
        if (!at_start) {
            EXPECT_EQ(s.mgr.get("k"), "v1");  // what the option is for
            continue;
        }
        EXPECT_EQ(s.mgr.get("k"), "v2");
        ASSERT_TRUE(eventually([&] { return rec.started_up(); }, 10s));
        EXPECT_FALSE(s.mgr.quarantined(0));
        EXPECT_FALSE(s.hot().fetch("k"));
        EXPECT_EQ(rec.stats().incidents, 0u);
    }
}

// Redis restarted from an old snapshot between two probe rounds never
// looked down; the marker it lacks tells.
TEST(RecoveryBuiltins, AHotTierThatRestartedBetweenTwoRoundsIsSeenByItsMarker) {
    Stack s;
    s.mgr.set("k", "v1");
    Orchestrator rec{s.mgr, quick(s.clock)};
    rec.check();
    s.mgr.set("k", "v2");
    s.mgr.set("fresh", "x");
    Stack::wipe(s.hot());
    s.hot().store("k", strata::make_record("v1", 1));
    s.hot().store("gone", strata::make_record("old", 1));
    const auto r = rec.check();
    EXPECT_TRUE(r.tiers[0].up);
    const auto inc = finished(rec);
    EXPECT_TRUE(inc.event.tier_reset);
    EXPECT_EQ(inc.event.tier_index, 0u);
    EXPECT_THAT(inc.event.detail, HasSubstr("without the marker"));
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_FALSE(s.hot().fetch("gone"));
    s.mgr.invalidate_cache();
    EXPECT_EQ(s.mgr.get("k"), "v2");
    EXPECT_EQ(s.mgr.get("gone"), std::nullopt);
    rec.check();
    EXPECT_EQ(rec.stats().incidents, 1u);  // the new marker holds: no second incident
}

// The durable tier comes back empty. What the hot tier still holds is
// written down first (the newest data left); the newest verified checkpoint
// fills in the rest. Only writes after the checkpoint that the hot tier no
// longer held (evicted) are lost.
TEST(RecoveryBuiltins, ADurableTierThatReturnsEmptyGetsTheHotCopiesThenTheNewestCheckpoint) {
    Stack s;
    Checkpoints ckpt{s.mgr, strata::DirectoryCheckpointStore{s.dir.path / "checkpoints"}};
    for (int i = 0; i < 10; ++i) s.mgr.set("key" + std::to_string(i), "at-checkpoint");
    const auto point = ckpt.create();
    s.mgr.set("key0", "after");
    s.mgr.set("key1", "after");
    s.mgr.set("late", "after");
    s.hot().erase("key1");  // evicted from the hot tier
    for (int i = 5; i < 10; ++i) s.hot().erase("key" + std::to_string(i));
    Orchestrator rec{s.mgr, quick(s.clock)};
    rec.use(ckpt);
    rec.check();
    Stack::wipe(s.warm());  // the cluster replaced by an empty one
    rec.check();
    const auto inc = finished(rec);
    EXPECT_EQ(inc.event.tier, "warm");
    EXPECT_TRUE(inc.event.tier_reset);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    // At most from the cut to the newest acknowledged write: key1's "after".
    ASSERT_TRUE(inc.rpo);
    EXPECT_GT(*inc.rpo, strata::Clock::duration::zero());
    EXPECT_LE(*inc.rpo, std::chrono::microseconds(s.mgr.acknowledged_version() - point.version_cut));
    s.mgr.invalidate_cache();
    EXPECT_EQ(s.mgr.get("key0"), "after");          // saved from the hot tier
    EXPECT_EQ(s.mgr.get("late"), "after");          // saved from the hot tier
    EXPECT_EQ(s.mgr.get("key1"), "at-checkpoint");  // lost: restored as checkpointed
    for (int i = 2; i < 10; ++i) EXPECT_EQ(s.mgr.get("key" + std::to_string(i)), "at-checkpoint");
    EXPECT_EQ(s.warm().fetch("key0")->value, "after");
    EXPECT_EQ(s.warm().fetch("key7")->value, "at-checkpoint");
}

TEST(RecoveryBuiltins, ADurableTierWithNothingToRestoreFromIsEscalated) {
    Stack s;
    TempDir out{"strata-escalations"};
    s.mgr.set("k", "v");
    auto o = quick(s.clock);
    o.escalation_dir = out.path;
    Orchestrator rec{s.mgr, o};
    rec.check();
    Stack::wipe(s.warm());
    rec.check();
    const auto inc = finished(rec);
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_EQ(inc.attempts.size(), o.max_attempts);
    EXPECT_THAT(inc.attempts.back().error, HasSubstr("no checkpoint or backup to restore it from"));
    EXPECT_THAT(read_all(inc.checklist), HasSubstr("no checkpoint or backup to restore it from"));
    EXPECT_EQ(s.warm().fetch("k")->value, "v");  // the hot copy was written down all the same
}

// A durable tier that lost its marker but kept its data (a week-long
// outage, say) is filled, never rolled back: nothing it holds is
// overwritten or erased; a key erased after the checkpoint comes back.
TEST(RecoveryBuiltins, ADurableTierThatLostOnlyItsMarkerKeepsWhatItHolds) {
    Stack s;
    Checkpoints ckpt{s.mgr, strata::DirectoryCheckpointStore{s.dir.path / "checkpoints"}};
    s.mgr.set("k", "at-checkpoint");
    s.mgr.set("erased-since", "x");
    ckpt.create();
    s.mgr.set("k", "after");
    s.mgr.set("new", "after");
    s.mgr.erase("erased-since");
    Orchestrator rec{s.mgr, quick(s.clock)};
    rec.use(ckpt);
    rec.check();
    for (const auto& k : s.warm().keys("__strata_probe__/*")) s.warm().erase(k);
    rec.check();
    const auto inc = finished(rec);
    EXPECT_TRUE(inc.event.tier_reset);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    s.mgr.invalidate_cache();
    EXPECT_EQ(s.mgr.get("k"), "after");
    EXPECT_EQ(s.mgr.get("new"), "after");
    EXPECT_EQ(s.mgr.get("erased-since"), "x");  // the price of filling in: documented
}

TEST(RecoveryBuiltins, EscalationChecklistsListTheNewestVerifiedRestorePointWithTheCall) {
    Stack s;
    TempDir out{"strata-escalations"};
    Checkpoints ckpt{s.mgr, strata::DirectoryCheckpointStore{s.dir.path / "checkpoints"}};
    s.mgr.set("k", "v");
    ckpt.create();
    const auto newest = ckpt.create();
    auto o = quick(s.clock);
    o.escalation_dir = out.path;
    Orchestrator rec{s.mgr, o};
    rec.use(ckpt);
    const auto inc = rec.report({.type = FailureType::custom, .name = "nobody_handles_this"}).get();
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    const auto text = read_all(inc.checklist);
    EXPECT_THAT(text, HasSubstr("| checkpoint | " + newest.id));
    EXPECT_THAT(text, HasSubstr("`ckpt.rollback(\"" + newest.id + "\")`"));
}

// A read meets a corrupt hot copy (and repairs it itself); the next round
// opens an incident whose scrub finds and repairs the corrupt copies no
// read reached.
TEST(RecoveryBuiltins, ReadsThatMeetCorruptionStartAScrubThatRepairsTheRest) {
    Stack s;
    s.mgr.set("read", "1");
    s.mgr.set("unread", "2");
    Orchestrator rec{s.mgr, quick(s.clock)};
    rec.check();
    for (auto [tier, key] : {std::pair{&s.hot(), "read"}, std::pair{&s.warm(), "unread"}}) {
        auto r = *tier->fetch(key);
        r.value += "!";
        tier->store(key, r);
    }
    s.mgr.invalidate_cache();
    EXPECT_EQ(s.mgr.get("read"), "1");
    rec.check();
    const auto inc = finished(rec);
    EXPECT_EQ(inc.event.type, FailureType::data_corruption);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_TRUE(s.warm().fetch("unread")->intact());
    EXPECT_EQ(s.warm().fetch("unread")->value, "2");
    rec.check();
    EXPECT_EQ(rec.stats().incidents, 1u);  // the scrub's own finds open no second one
}

TEST(RecoveryBuiltins, AScrubThatCannotSaveACopyEscalatesNamingIt) {
    Stack s;
    TempDir out{"strata-escalations"};
    s.mgr.set("doomed", "1");
    for (auto* tier : {&s.hot(), &s.warm()}) {
        auto r = *tier->fetch("doomed");
        r.value = "garbage";
        tier->store("doomed", r);
    }
    auto o = quick(s.clock);
    o.escalation_dir = out.path;
    Orchestrator rec{s.mgr, o};
    const auto report = rec.scrub();
    EXPECT_EQ(report.corrupt, 2u);
    ASSERT_EQ(report.lost.size(), 2u);
    const auto inc = finished(rec);
    EXPECT_EQ(inc.event.type, FailureType::data_corruption);
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_THAT(read_all(inc.checklist), HasSubstr("hot: 'doomed'"));
}

// Every copy of a key corrupt: restored from the newest verified checkpoint
// that holds it, at the price of what was written since (the RPO).
TEST(RecoveryBuiltins, AKeyWithNoValidCopyIsRestoredFromTheNewestCheckpoint) {
    Stack s;
    Checkpoints ckpt{s.mgr, strata::DirectoryCheckpointStore{s.dir.path / "checkpoints"},
                     strata::CheckpointerOptions{.clock = [c = s.clock] { return c->now(); }}};
    s.mgr.set("doomed", "checkpointed");
    s.mgr.set("other", "1");
    ckpt.create();
    s.clock->advance(1s);
    s.mgr.set("doomed", "newer, then damaged");
    for (auto* tier : {&s.hot(), &s.warm()}) {
        auto r = *tier->fetch("doomed");
        r.value = "garbage";
        tier->store("doomed", r);
    }
    Orchestrator rec{s.mgr, quick(s.clock)};
    rec.use(ckpt);
    EXPECT_EQ(rec.scrub().lost.size(), 2u);
    const auto inc = finished(rec);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(inc.rpo, strata::Clock::duration(1s));  // the checkpoint's age when the damage was found
    s.mgr.invalidate_cache();
    EXPECT_EQ(s.mgr.get("doomed"), "checkpointed");
    EXPECT_EQ(s.mgr.get("other"), "1");
    EXPECT_EQ(s.mgr.scrub().corrupt, 0u);
}

TEST(RecoveryBuiltins, MemoryPressureShedsTheCacheAndDemotesIdleKeys) {
    Stack s;
    for (int i = 0; i < 50; ++i) s.mgr.set("key" + std::to_string(i), std::string(100, 'x'));
    for (int i = 0; i < 50; ++i) s.mgr.get("key" + std::to_string(i));
    auto o = quick(s.clock);
    o.memory_limit = 10'000;
    o.demote_idle_after = 1ms;
    // The cache is what this process holds: 50 values of 100 bytes and more.
    o.memory_usage = [&s] { return s.mgr.cache().size() * 1000; };
    Orchestrator rec{s.mgr, o};
    std::this_thread::sleep_for(20ms);  // idle for longer than demote_idle_after
    rec.check();
    const auto inc = finished(rec);
    EXPECT_EQ(inc.event.type, FailureType::memory_pressure);
    EXPECT_THAT(inc.event.detail, HasSubstr("over the limit of 10000"));
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(s.mgr.cache().size(), 0u);
    EXPECT_FALSE(s.hot().fetch("key3"));  // demoted to the durable tier
    EXPECT_EQ(s.mgr.get("key3"), std::string(100, 'x'));
}
