// RecoveryOrchestrator over the real MemoryTier (hot) and FileTier (warm),
// with failures switched on through Switchable: probes (threshold, return,
// a tier that never answers, stop() while a probe is stuck, stop() from
// on_escalation on the probe and handler threads, no probe record left
// behind), incidents and their RTO/RPO on a test clock, handlers
// (retried, always failing, never returning, missing), escalation
// checklists and callbacks, target misses and the bounded history.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <strata/strata.hpp>

#include "common/eventually.hpp"
#include "common/recovery_support.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::Clock;
using strata::FailureEvent;
using strata::FailureType;
using strata::IncidentOutcome;
using strata::testing::eventually;
using strata::testing::quick;
using strata::testing::read_all;
using strata::testing::TestClock;
using strata::testing::Switchable;
using strata::testing::TempDir;
using strata::testing::TierSwitches;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Hot = Switchable<strata::MemoryTier>;
using Warm = Switchable<strata::FileTier>;
using Manager = strata::StateManager<strata::NoCache, strata::NeverPromote, Hot, Warm>;
using Orchestrator = strata::RecoveryOrchestrator<Manager>;

static_assert(strata::RecoveryTarget<Manager>);
static_assert(!strata::RecoveryTarget<int>);
struct TiersWithoutHealth {
    strata::TierSet<strata::MemoryTier> tiers();
};
static_assert(!strata::RecoveryTarget<TiersWithoutHealth>);

// A memory tier in front of a file tier, each with its switches.
struct Stack {
    TempDir dir{"strata-recovery"};
    std::shared_ptr<TierSwitches> hot = std::make_shared<TierSwitches>();
    std::shared_ptr<TierSwitches> warm = std::make_shared<TierSwitches>();
    Manager mgr{strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}, hot},
                Warm{strata::FileTier{dir.path / "tier"}, warm}};
};

// Holds whoever passes it while shut; counts who came and who left.
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool shut = false;
    int entered = 0, left = 0;

    void close() {
        std::lock_guard lock(m);
        shut = true;
    }
    void open() {
        {
            std::lock_guard lock(m);
            shut = false;
        }
        cv.notify_all();
    }
    void pass() {
        std::unique_lock lock(m);
        ++entered;
        cv.wait(lock, [&] { return !shut; });
        ++left;
    }
    int count_entered() {
        std::lock_guard lock(m);
        return entered;
    }
    int count_left() {
        std::lock_guard lock(m);
        return left;
    }
};

// Opens the gate when the test ends, however it ends. Declared after the
// orchestrator, so the orchestrator's destructor finds the probe let go.
struct OpenOnExit {
    std::shared_ptr<Gate> gate;
    ~OpenOnExit() { gate->open(); }
};

// Every store into the hot tier waits at a closed gate from now on.
std::shared_ptr<Gate> stall_hot_stores(Stack& s) {
    auto gate = std::make_shared<Gate>();
    s.hot->before = [gate](std::string_view op) {
        if (op == "store") gate->pass();
    };
    gate->close();
    return gate;
}

template <class T>
T ready(const std::shared_future<T>& f) {
    if (f.wait_for(10s) != std::future_status::ready) throw std::runtime_error("the incident did not finish in 10 s");
    return f.get();
}

strata::Incident only_finished(const Orchestrator& rec) {
    const auto s = rec.stats();
    if (s.history.size() != 1) throw std::runtime_error("expected one finished incident");
    return s.history[0];
}

}  // namespace

// ---- probes ----------------------------------------------------------------

TEST(RecoveryProbes, HealthyTiersAreUpAndKeepOnlyTheirMarker) {
    Stack s;
    s.mgr.set("order:1", "open");
    auto rec = std::make_unique<Orchestrator>(s.mgr, quick(std::make_shared<TestClock>()));
    for (int i = 0; i < 3; ++i) {
        const auto r = rec->check();
        EXPECT_TRUE(r.healthy());
        EXPECT_EQ(r.round, static_cast<std::uint64_t>(i + 1));
        ASSERT_EQ(r.tiers.size(), 2u);
        EXPECT_EQ(r.tiers[0].name, "memory");
        EXPECT_EQ(r.tiers[0].temperature, strata::Temperature::hot);
        EXPECT_EQ(r.tiers[1].name, "file");
        EXPECT_TRUE(r.tiers[1].durable);
        for (const auto& t : r.tiers) {
            EXPECT_TRUE(t.probed);
            EXPECT_EQ(t.consecutive_failures, 0u);
            EXPECT_EQ(t.last_error, "");
            EXPECT_EQ(t.health.name, t.name);
        }
    }
    // Each probe wrote, read back and erased its record; what stays is the
    // marker the next round checks, a reserved key the manager never lists.
    for (const auto& held : {s.mgr.tier<0>().inner().keys("*"), s.mgr.tier<1>().inner().keys("*")})
        EXPECT_THAT(held, ::testing::UnorderedElementsAre(
                              "order:1", ::testing::AllOf(::testing::StartsWith("__strata_probe__/"),
                                                          ::testing::EndsWith("/marker"))));
    EXPECT_EQ(s.mgr.keys("*"), std::vector<std::string>{"order:1"});
    EXPECT_EQ(rec->stats().rounds, 3u);
    EXPECT_EQ(rec->stats().incidents, 0u);
    rec.reset();  // the markers go with the orchestrator
    EXPECT_EQ(s.mgr.tier<0>().inner().keys("*"), std::vector<std::string>{"order:1"});
    EXPECT_EQ(s.mgr.tier<1>().inner().keys("*"), std::vector<std::string>{"order:1"});
}

// A call that applied but reported a failure (as a timeout does) leaves no
// probe record either: the probe erases what it may have written.
TEST(RecoveryProbes, AFailedProbeErasesWhatItWrote) {
    for (const std::string failing : {"store", "fetch"}) {
        Stack s;
        s.hot->after = [failing](std::string_view op) {
            if (op == failing) throw strata::Error(strata::ErrorKind::timeout, "memory", std::string(op), "injected");
        };
        Orchestrator rec{s.mgr, quick(std::make_shared<TestClock>())};
        const auto r = rec.check();
        EXPECT_EQ(r.tiers[0].consecutive_failures, 1u) << failing;
        EXPECT_THAT(r.tiers[0].last_error, HasSubstr("injected")) << failing;
        EXPECT_TRUE(r.tiers[0].up) << failing;  // one failed round of three
        EXPECT_EQ(s.mgr.tier<0>().inner().keys("*"), std::vector<std::string>{}) << failing;
    }
}

TEST(RecoveryProbes, DownAfterThresholdRoundsUpAfterOneGoodOneWithRtoFromTheClock) {
    Stack s;
    auto clock = std::make_shared<TestClock>();
    Orchestrator rec{s.mgr, quick(clock)};
    s.hot->down = true;
    for (unsigned round = 1; round <= 2; ++round) {
        const auto r = rec.check();
        EXPECT_TRUE(r.tiers[0].up) << "down after " << round << " failed rounds, threshold 3";
        EXPECT_EQ(r.tiers[0].consecutive_failures, round);
        EXPECT_THAT(r.tiers[0].last_error, HasSubstr("switched off by the test"));
    }
    EXPECT_EQ(rec.stats().incidents, 0u);

    const auto detected = clock->now();
    auto r = rec.check();
    EXPECT_FALSE(r.tiers[0].up);
    EXPECT_TRUE(r.tiers[1].up);
    EXPECT_FALSE(r.healthy());
    auto st = rec.stats();
    EXPECT_EQ(st.incidents, 1u);
    ASSERT_EQ(st.open.size(), 1u);
    EXPECT_EQ(st.open[0].event.type, FailureType::tier_down);
    EXPECT_EQ(st.open[0].event.tier, "memory");
    EXPECT_EQ(st.open[0].event.tier_index, 0u);
    EXPECT_EQ(st.open[0].event.detected_at, detected);
    EXPECT_THAT(st.open[0].event.detail, HasSubstr("switched off"));
    EXPECT_EQ(st.open[0].outcome, IncidentOutcome::open);

    r = rec.check();  // still down: the same incident, no new one
    EXPECT_EQ(r.tiers[0].consecutive_failures, 4u);
    EXPECT_EQ(rec.stats().incidents, 1u);

    clock->advance(42s);
    s.hot->down = false;
    r = rec.check();
    EXPECT_TRUE(r.tiers[0].up);
    EXPECT_EQ(r.tiers[0].consecutive_failures, 0u);
    EXPECT_TRUE(r.healthy());
    // The built-in handler reconciles the returning hot tier, then the
    // incident is over.
    ASSERT_TRUE(eventually([&] { return rec.stats().open.empty(); }, 10s));
    st = rec.stats();
    EXPECT_EQ(st.recovered, 1u);
    const auto inc = only_finished(rec);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(inc.healthy_at, detected + 42s);
    EXPECT_EQ(inc.rto, Clock::duration(42s));
    EXPECT_EQ(inc.rpo, Clock::duration::zero());
    EXPECT_EQ(st.last_rto, Clock::duration(42s));
    EXPECT_EQ(st.worst_rto, Clock::duration(42s));
    EXPECT_EQ(st.rto_misses, 0u);
}

// The tier's probe blocks and never returns while the test runs: check()
// returning at all shows the orchestrator kept its own deadline.
TEST(RecoveryProbes, ATierThatNeverAnswersIsDownAtTheDeadline) {
    Stack s;
    const auto gate = stall_hot_stores(s);
    auto o = quick(std::make_shared<TestClock>());
    o.failure_threshold = 1;
    o.probe_deadline = 200ms;
    Orchestrator rec{s.mgr, o};
    OpenOnExit release{gate};

    const auto t0 = std::chrono::steady_clock::now();
    auto r = rec.check();
    std::cout << "check() with a stuck tier returned after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
              << " ms (probe deadline 200 ms)\n";
    EXPECT_FALSE(r.tiers[0].up);
    EXPECT_THAT(r.tiers[0].last_error, HasSubstr("no answer within the probe deadline of 200 ms"));
    EXPECT_EQ(r.tiers[0].probe_latency, 200ms);
    EXPECT_TRUE(r.tiers[1].up);

    // The stuck probe is not joined by a second one: the round counts it failed.
    r = rec.check();
    EXPECT_EQ(r.tiers[0].consecutive_failures, 2u);
    EXPECT_THAT(r.tiers[0].last_error, HasSubstr("earlier round has not returned"));
    EXPECT_EQ(gate->count_entered(), 1);
    EXPECT_EQ(rec.stats().incidents, 1u);

    // Let go, the probe finishes (and erases its record); the next round is good.
    gate->open();
    ASSERT_TRUE(eventually([&] { return rec.check().tiers[0].up; }, 10s));
    EXPECT_THAT(s.mgr.tier<0>().inner().keys("*"), ::testing::ElementsAre(::testing::EndsWith("/marker")));
    ASSERT_TRUE(eventually([&] { return rec.stats().recovered == 1; }, 10s));
}

TEST(RecoveryProbes, StopReturnsWhileAProbeIsStuck) {
    Stack s;
    const auto gate = stall_hot_stores(s);
    auto o = quick(std::make_shared<TestClock>());
    o.probe_deadline = 200ms;
    Orchestrator rec{s.mgr, o};
    OpenOnExit release{gate};

    rec.start();
    EXPECT_THROW(rec.start(), std::logic_error);
    ASSERT_TRUE(eventually([&] { return gate->count_entered() == 1; }, 10s));
    ASSERT_TRUE(eventually([&] { return rec.stats().incidents == 1; }, 10s));
    EXPECT_FALSE(rec.last_report().tiers[0].up);
    EXPECT_TRUE(rec.last_report().tiers[1].up);

    // The gate stays shut: stop() returning at all shows it does not wait for the probe.
    const auto t0 = std::chrono::steady_clock::now();
    rec.stop();
    std::cout << "stop() with a stuck probe returned after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
              << " ms (probe deadline 200 ms)\n";
    const auto rounds = rec.stats().rounds;
    EXPECT_GE(rounds, 3u);
    EXPECT_EQ(gate->count_entered(), 1);  // one probe, never a second beside it
    rec.stop();                           // again: nothing to stop

    // Started again, it goes on counting rounds.
    rec.start();
    ASSERT_TRUE(eventually([&] { return rec.stats().rounds > rounds; }, 10s));
    rec.stop();
}

TEST(RecoveryProbes, ARunningLoopDetectsAndRecoversOnItsOwn) {
    Stack s;
    auto clock = std::make_shared<TestClock>();
    Orchestrator rec{s.mgr, quick(clock)};
    rec.start();
    ASSERT_TRUE(eventually([&] { return rec.stats().rounds >= 1; }, 10s));
    s.warm->down = true;
    ASSERT_TRUE(eventually([&] { return rec.stats().incidents == 1; }, 10s));
    EXPECT_EQ(rec.stats().open.at(0).event.tier, "file");
    s.warm->down = false;
    ASSERT_TRUE(eventually([&] { return rec.stats().recovered == 1; }, 10s));
    EXPECT_TRUE(rec.last_report().healthy());
    rec.stop();
}

// on_escalation stopping the loop it runs on (a tier past its RTO target is
// escalated on the probe thread) while a stop() on another thread waits for
// that thread. Without the guard in stop() this deadlocks: the other stop()
// holds the control mutex while it joins the probe thread, which waits for
// that mutex. What both threads touch is on the heap, so if they deadlock
// the test leaves it behind and fails instead of hanging.
TEST(RecoveryProbes, OnEscalationStoppingTheLoopWhileAnotherStopWaitsDoesNotDeadlock) {
    struct Shared {
        Stack stack;
        std::shared_ptr<TestClock> clock = std::make_shared<TestClock>();
        std::promise<void> in_callback, go_on, callback_done, other_stop_done;
        std::string thrown;  // by stop() in the callback
        std::unique_ptr<Orchestrator> rec;
    };
    auto shared = std::make_unique<Shared>();
    Shared* f = shared.get();
    auto o = quick(f->clock);
    o.failure_threshold = 1;
    o.rto_target = 1min;
    o.on_escalation = [f, go_on = f->go_on.get_future().share()](const strata::Incident&,
                                                                   const std::filesystem::path&) {
        f->in_callback.set_value();
        go_on.wait_for(10s);
        try {
            f->rec->stop();
        } catch (const std::exception& e) {
            f->thrown = e.what();
        }
        f->callback_done.set_value();
    };
    f->rec = std::make_unique<Orchestrator>(f->stack.mgr, o);
    f->stack.warm->down = true;
    f->rec->start();
    ASSERT_TRUE(eventually([&] { return f->rec->stats().incidents == 1; }, 10s));
    f->clock->advance(2min);  // the next round escalates

    const bool entered = f->in_callback.get_future().wait_for(10s) == std::future_status::ready;
    std::thread other_stop;
    if (entered) {
        other_stop = std::thread([f] {
            f->rec->stop();
            f->other_stop_done.set_value();
        });
        // Lets that stop() take the control mutex and start joining first,
        // the order that deadlocked (in the other order the callback's stop()
        // joined its own thread, which throws): either order fails without
        // the guard, and passes with it.
        std::this_thread::sleep_for(50ms);
    }
    f->go_on.set_value();
    const auto ready_in_10s = [](std::promise<void>& p) {
        return p.get_future().wait_for(10s) == std::future_status::ready;
    };
    const bool callback_returned = entered && ready_in_10s(f->callback_done);
    const bool other_returned = entered && ready_in_10s(f->other_stop_done);
    if (!callback_returned || !other_returned) {
        if (other_stop.joinable()) other_stop.detach();
        [[maybe_unused]] Shared* left_behind = shared.release();  // deadlocked threads still use it
        FAIL() << "on_escalation was " << (entered ? "" : "never ") << "called; its stop() "
               << (callback_returned ? "returned" : "did not return") << "; stop() on another thread "
               << (other_returned ? "returned" : "did not return") << " within 10 s";
    }
    other_stop.join();
    EXPECT_EQ(f->thrown, "");
    const auto st = f->rec->stats();
    ASSERT_EQ(st.open.size(), 1u);  // the tier is still down
    EXPECT_EQ(st.open[0].outcome, IncidentOutcome::escalated);
    EXPECT_EQ(st.open[0].escalation_error, "");
}

namespace {

// An on_escalation that stops the orchestrator from whichever thread calls
// it, and keeps what stop() threw ("" for nothing).
struct StopOnEscalation {
    Orchestrator* rec = nullptr;  // set before anything can escalate
    std::promise<std::string> thrown;

    std::function<void(const strata::Incident&, const std::filesystem::path&)> callback() {
        return [this](const strata::Incident&, const std::filesystem::path&) {
            try {
                rec->stop();
                thrown.set_value("");
            } catch (const std::exception& e) {
                thrown.set_value(e.what());
            }
        };
    }
};

}  // namespace

// The same from the probe thread with nobody else stopping: stop() tells the
// loop to end and returns (joining its own thread would throw), and start()
// from another thread joins the ended loop and starts a new one.
TEST(RecoveryProbes, OnEscalationMayStopTheLoopItRunsOn) {
    Stack s;
    auto clock = std::make_shared<TestClock>();
    auto o = quick(clock);
    o.failure_threshold = 1;
    o.rto_target = 1min;
    StopOnEscalation stopper;
    o.on_escalation = stopper.callback();
    Orchestrator rec{s.mgr, o};
    stopper.rec = &rec;
    s.warm->down = true;
    rec.start();
    ASSERT_TRUE(eventually([&] { return rec.stats().incidents == 1; }, 10s));
    clock->advance(2min);  // the next round escalates
    auto thrown = stopper.thrown.get_future();
    ASSERT_EQ(thrown.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(thrown.get(), "");
    EXPECT_EQ(rec.stats().open.at(0).escalation_error, "");

    // Told to stop, the loop ran no further round: start() is accepted again.
    const auto rounds = rec.stats().rounds;
    EXPECT_NO_THROW(rec.start());
    EXPECT_TRUE(eventually([&] { return rec.stats().rounds > rounds; }, 10s));
    rec.stop();
    EXPECT_EQ(rec.stats().escalated, 1u);
}

// ---- handlers, incidents, escalation ---------------------------------------

TEST(RecoveryHandlers, AHandlerThatThrowsIsRetriedUntilItSucceeds) {
    Stack s;
    auto clock = std::make_shared<TestClock>();
    Orchestrator rec{s.mgr, quick(clock)};
    auto calls = std::make_shared<std::atomic<int>>(0);
    rec.on("trading_engine_crash", [calls, clock](const FailureEvent& e) {
        if (++*calls == 1) throw std::runtime_error("the engine is still restarting");
        clock->advance(7s);
        return e.detail == "exit status 134";
    });
    const auto reported = clock->now();
    const auto inc =
        ready(rec.report({.type = FailureType::custom, .name = "trading_engine_crash", .detail = "exit status 134"}));
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(inc.event.detected_at, reported);
    ASSERT_EQ(inc.attempts.size(), 2u);
    EXPECT_FALSE(inc.attempts[0].ok);
    EXPECT_EQ(inc.attempts[0].error, "the engine is still restarting");
    EXPECT_EQ(inc.attempts[0].number, 1u);
    EXPECT_TRUE(inc.attempts[1].ok);
    EXPECT_EQ(inc.attempts[1].error, "");
    EXPECT_EQ(inc.rto, Clock::duration(7s));
    EXPECT_EQ(inc.rpo, Clock::duration::zero());
    EXPECT_FALSE(inc.escalated_at);
    const auto st = rec.stats();
    EXPECT_EQ(st.incidents, 1u);
    EXPECT_EQ(st.recovered, 1u);
    EXPECT_EQ(st.escalated, 0u);
    EXPECT_EQ(st.last_rto, Clock::duration(7s));
    ASSERT_EQ(st.history.size(), 1u);
    EXPECT_EQ(st.history[0].id, inc.id);
}

TEST(RecoveryHandlers, AHandlerThatAlwaysFailsIsEscalatedWithAChecklist) {
    Stack s;
    s.mgr.set("account:7", "secret-balance-991");
    TempDir out{"strata-escalations"};
    auto o = quick(std::make_shared<TestClock>());
    o.escalation_dir = out.path / "checklists";  // created on first use
    std::mutex m;
    std::vector<std::pair<strata::Incident, std::filesystem::path>> called;
    o.on_escalation = [&](const strata::Incident& i, const std::filesystem::path& p) {
        std::lock_guard lock(m);
        called.emplace_back(i, p);
    };
    Orchestrator rec{s.mgr, o};
    s.hot->down = true;
    rec.check();  // the checklist shows the tiers as this round saw them
    auto calls = std::make_shared<std::atomic<int>>(0);
    rec.on("ledger_sync", [calls](const FailureEvent&) -> bool {
        throw std::runtime_error("ledger unreachable | try " + std::to_string(++*calls));
    });

    const auto inc = ready(rec.report({.type = FailureType::custom, .name = "ledger_sync", .detail = "lag 90 s"}));
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    ASSERT_EQ(inc.attempts.size(), 3u);  // max_attempts
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_FALSE(inc.attempts[i].ok);
        EXPECT_EQ(inc.attempts[i].error, "ledger unreachable | try " + std::to_string(i + 1));
    }
    EXPECT_EQ(inc.escalation_reason, "all 3 attempts failed");
    EXPECT_EQ(inc.checklist, o.escalation_dir / (inc.id + ".md"));
    EXPECT_EQ(inc.escalation_error, "");
    EXPECT_FALSE(inc.rpo);  // unknown: no handler said

    {
        std::lock_guard lock(m);
        ASSERT_EQ(called.size(), 1u);
        EXPECT_EQ(called[0].first.id, inc.id);
        EXPECT_EQ(called[0].second, inc.checklist);
    }
    // Written whole under its final name, nothing else in the directory.
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(o.escalation_dir)) files.push_back(e.path());
    ASSERT_EQ(files, std::vector<std::filesystem::path>{inc.checklist});
    const auto text = read_all(inc.checklist);
    EXPECT_THAT(text, HasSubstr("# Incident " + inc.id + ": custom `ledger_sync`"));
    EXPECT_THAT(text, HasSubstr("all 3 attempts failed"));
    EXPECT_THAT(text, HasSubstr("- Detail: lag 90 s"));
    for (int i = 1; i <= 3; ++i) EXPECT_THAT(text, HasSubstr("ledger unreachable \\| try " + std::to_string(i)));
    EXPECT_THAT(text, HasSubstr("| memory | hot | no | up | 1 | strata: memory store failed (unavailable): switched "
                                "off by the test | "));  // one failed round of three
    EXPECT_THAT(text, HasSubstr("| file | warm | yes | up | 0 | - |"));
    EXPECT_THAT(text, HasSubstr("Follow the runbook for `ledger_sync`"));
    EXPECT_THAT(text, Not(HasSubstr("secret-balance-991")));
    EXPECT_EQ(rec.stats().escalated, 1u);
}

TEST(RecoveryHandlers, AHandlerThatNeverReturnsIsAbandonedAndEscalated) {
    Stack s;
    auto gate = std::make_shared<Gate>();
    gate->close();
    std::atomic<int> escalations{0};
    {
        auto o = quick(std::make_shared<TestClock>());
        o.handler_timeout = 200ms;
        o.on_escalation = [&](const strata::Incident&, const std::filesystem::path& p) {
            EXPECT_TRUE(p.empty());  // no escalation_dir
            ++escalations;
        };
        Orchestrator rec{s.mgr, o};
        rec.on("model_failure", [gate](const FailureEvent&) {
            gate->pass();
            return true;
        });
        rec.start();
        const auto inc = ready(rec.report({.type = FailureType::custom, .name = "model_failure"}));
        EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
        ASSERT_EQ(inc.attempts.size(), 1u);  // not retried: it still runs
        EXPECT_TRUE(inc.attempts[0].timed_out);
        EXPECT_THAT(inc.attempts[0].error, HasSubstr("no answer within the handler timeout of 200 ms"));
        EXPECT_EQ(inc.escalation_reason, "attempt 1 did not return within the handler timeout");
        EXPECT_EQ(escalations.load(), 1);
        EXPECT_EQ(gate->count_entered(), 1);
        rec.stop();
        // Other incidents are handled meanwhile.
        rec.on("cache_flush", [](const FailureEvent&) { return true; });
        EXPECT_EQ(ready(rec.report({.type = FailureType::custom, .name = "cache_flush"})).outcome,
                  IncidentOutcome::recovered);
    }  // destroyed while the handler is still stuck: returning at all shows it did not wait
    EXPECT_EQ(gate->count_left(), 0);
    gate->open();
    EXPECT_TRUE(eventually([&] { return gate->count_left() == 1; }, 10s));
}

TEST(RecoveryHandlers, AFailureWithoutAHandlerIsEscalatedAtOnce) {
    Stack s;
    TempDir out{"strata-escalations"};
    auto o = quick(std::make_shared<TestClock>());
    o.escalation_dir = out.path;
    Orchestrator rec{s.mgr, o};
    rec.on(FailureType::disk_full, [](const FailureEvent&) { return true; });
    const auto inc = ready(rec.report({.type = FailureType::custom, .name = "unknown_failure"}));
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_TRUE(inc.attempts.empty());
    EXPECT_EQ(inc.escalation_reason, "no handler is registered for custom failure 'unknown_failure'");
    const auto text = read_all(inc.checklist);
    EXPECT_THAT(text, HasSubstr("Nothing: no handler ran."));
    EXPECT_THAT(text, HasSubstr("No probe round has run yet."));

    // A built-in class finds the handler registered for its type.
    const auto disk = ready(rec.report({.type = FailureType::disk_full, .detail = "/var/lib/app: 100%"}));
    EXPECT_EQ(disk.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(disk.attempts.size(), 1u);
}

TEST(RecoveryHandlers, TargetMissesAreCountedAndRpoComesFromHandlers) {
    Stack s;
    auto clock = std::make_shared<TestClock>();
    auto o = quick(clock);
    o.rto_target = 5min;
    o.rpo_target = 1min;
    Orchestrator rec{s.mgr, o};
    rec.on("slow_and_lossy", [clock](const FailureEvent& e) {
        clock->advance(6min);
        e.data_lost = 2min;
        return true;
    });
    rec.on("quick", [clock](const FailureEvent&) {
        clock->advance(30s);
        return true;
    });
    const auto bad = ready(rec.report({.type = FailureType::custom, .name = "slow_and_lossy"}));
    EXPECT_EQ(bad.outcome, IncidentOutcome::recovered);
    EXPECT_EQ(bad.rto, Clock::duration(6min));
    EXPECT_EQ(bad.rpo, Clock::duration(2min));
    EXPECT_TRUE(bad.rto_missed);
    EXPECT_TRUE(bad.rpo_missed);
    const auto good = ready(rec.report({.type = FailureType::custom, .name = "quick"}));
    EXPECT_FALSE(good.rto_missed);
    EXPECT_FALSE(good.rpo_missed);
    const auto st = rec.stats();
    EXPECT_EQ(st.rto_misses, 1u);
    EXPECT_EQ(st.rpo_misses, 1u);
    EXPECT_EQ(st.last_rto, Clock::duration(30s));
    EXPECT_EQ(st.last_rpo, Clock::duration::zero());
    EXPECT_EQ(st.worst_rto, Clock::duration(6min));
    EXPECT_EQ(st.recovered, 2u);
}

// A tier_down handler runs when the tier answers again (when a returning
// tier can be reconciled); the incident ends when it succeeds.
TEST(RecoveryHandlers, ATierDownHandlerRunsWhenTheTierIsBack) {
    Stack s;
    auto clock = std::make_shared<TestClock>();
    Orchestrator rec{s.mgr, quick(clock)};
    auto seen = std::make_shared<std::vector<std::string>>();
    auto seen_mutex = std::make_shared<std::mutex>();
    rec.on(FailureType::tier_down, [seen, seen_mutex, clock](const FailureEvent& e) {
        std::lock_guard lock(*seen_mutex);
        seen->push_back(e.tier + "#" + std::to_string(e.tier_index.value_or(99)));
        clock->advance(3s);
        return true;
    });
    s.hot->down = true;
    for (int i = 0; i < 5; ++i) rec.check();
    EXPECT_EQ(rec.stats().open.size(), 1u);
    {
        std::lock_guard lock(*seen_mutex);
        EXPECT_TRUE(seen->empty());  // not while it is down
    }
    clock->advance(10s);
    s.hot->down = false;
    EXPECT_TRUE(rec.check().tiers[0].up);
    ASSERT_TRUE(eventually([&] { return rec.stats().recovered == 1; }, 10s));
    const auto inc = only_finished(rec);
    EXPECT_EQ(inc.rto, Clock::duration(13s));  // detected -> handler done
    ASSERT_EQ(inc.attempts.size(), 1u);
    std::lock_guard lock(*seen_mutex);
    EXPECT_EQ(*seen, std::vector<std::string>{"memory#0"});
}

TEST(RecoveryHandlers, ATierStillDownAtTheRtoTargetIsEscalatedAndItsReturnMeasured) {
    Stack s;
    TempDir out{"strata-escalations"};
    auto clock = std::make_shared<TestClock>();
    auto o = quick(clock);
    o.rto_target = 1min;
    o.escalation_dir = out.path;
    std::atomic<int> escalations{0};
    o.on_escalation = [&](const strata::Incident&, const std::filesystem::path&) { ++escalations; };
    Orchestrator rec{s.mgr, o};
    s.warm->down = true;
    for (int i = 0; i < 3; ++i) rec.check();
    ASSERT_EQ(rec.stats().open.size(), 1u);
    EXPECT_EQ(escalations.load(), 0);
    clock->advance(2min);
    rec.check();
    rec.check();  // once only
    auto st = rec.stats();
    EXPECT_EQ(escalations.load(), 1);
    EXPECT_EQ(st.escalated, 1u);
    EXPECT_EQ(st.rto_misses, 1u);
    ASSERT_EQ(st.open.size(), 1u);  // still waiting for the tier
    EXPECT_EQ(st.open[0].outcome, IncidentOutcome::escalated);
    const auto text = read_all(st.open[0].checklist);
    EXPECT_THAT(text, HasSubstr("tier_down in tier `file`"));
    EXPECT_THAT(text, HasSubstr("the tier was still down when the RTO target of 60 s had passed since detection"));
    EXPECT_THAT(text, HasSubstr("| file | warm | yes | DOWN | 4 | "));  // the round that escalated
    EXPECT_THAT(text, HasSubstr("restore it from a restore point listed below"));
    EXPECT_THAT(text, HasSubstr("None: no checkpoint or backup was given to `recovery.use()`"));

    clock->advance(1min);
    s.warm->down = false;
    rec.check();
    ASSERT_TRUE(eventually([&] { return rec.stats().open.empty(); }, 10s));
    st = rec.stats();
    EXPECT_EQ(st.recovered, 0u);
    EXPECT_EQ(st.rto_misses, 1u);
    const auto inc = only_finished(rec);
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_EQ(inc.rto, Clock::duration(3min));
}

TEST(RecoveryHandlers, HistoryKeepsTheNewestIncidents) {
    Stack s;
    auto o = quick(std::make_shared<TestClock>());
    o.history = 2;
    Orchestrator rec{s.mgr, o};
    rec.on("blip", [](const FailureEvent&) { return true; });
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(ready(rec.report({.type = FailureType::custom, .name = "blip"})).id);
    const auto st = rec.stats();
    EXPECT_EQ(st.incidents, 3u);
    EXPECT_EQ(st.recovered, 3u);
    ASSERT_EQ(st.history.size(), 2u);
    EXPECT_EQ(st.history[0].id, ids[1]);
    EXPECT_EQ(st.history[1].id, ids[2]);
    EXPECT_LT(ids[0], ids[1]);  // ids sort by detection
}

// on_escalation for a reported failure runs on the handler thread; stopping
// the probe loop from there joins it as from any other thread.
TEST(RecoveryHandlers, OnEscalationOnTheHandlerThreadMayStopTheLoop) {
    Stack s;
    auto o = quick(std::make_shared<TestClock>());
    StopOnEscalation stopper;
    o.on_escalation = stopper.callback();
    Orchestrator rec{s.mgr, o};
    stopper.rec = &rec;
    rec.start();
    ASSERT_TRUE(eventually([&] { return rec.stats().rounds >= 1; }, 10s));
    const auto inc = ready(rec.report({.type = FailureType::custom, .name = "nobody_handles_this"}));
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_EQ(inc.escalation_error, "");
    auto thrown = stopper.thrown.get_future();
    ASSERT_EQ(thrown.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(thrown.get(), "");
    EXPECT_NO_THROW(rec.start());  // the loop was stopped and joined
    rec.stop();
}

TEST(RecoveryHandlers, BadArgumentsFailFast) {
    Stack s;
    auto o = quick(std::make_shared<TestClock>());
    Orchestrator rec{s.mgr, o};
    EXPECT_THROW(rec.report({.type = FailureType::custom}), std::invalid_argument);
    EXPECT_THROW(rec.report({.type = FailureType::tier_down, .tier_index = 2}), std::invalid_argument);
    EXPECT_THROW(rec.on("", [](const FailureEvent&) { return true; }), std::invalid_argument);
    EXPECT_THROW(rec.on("x", strata::FailureHandler{}), std::invalid_argument);
    for (auto bad : {+[](strata::RecoveryOptions& b) { b.failure_threshold = 0; },
                     +[](strata::RecoveryOptions& b) { b.probe_deadline = 0ms; },
                     +[](strata::RecoveryOptions& b) { b.max_attempts = 0; },
                     +[](strata::RecoveryOptions& b) { b.max_backoff = b.backoff - 1ms; }}) {
        auto b = o;
        bad(b);
        EXPECT_THROW((Orchestrator{s.mgr, b}), std::invalid_argument);
    }
    EXPECT_EQ(rec.stats().incidents, 0u);
}
