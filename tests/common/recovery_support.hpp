#pragma once
// What the recovery tests share: a clock they move by hand, options for
// rounds driven by check() in milliseconds, and reading a checklist back.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <strata/recovery/recovery_options.hpp>

namespace strata::testing {

// Time for detection, attempts and recovery, moved by the test.
struct TestClock {
    std::atomic<Clock::rep> ticks{
        Clock::time_point(std::chrono::sys_days{std::chrono::year{2026} / 12 / 5}).time_since_epoch().count()};
    Clock::time_point now() const { return Clock::time_point(Clock::duration(ticks.load())); }
    void advance(Clock::duration d) { ticks += d.count(); }
};

inline RecoveryOptions quick(const std::shared_ptr<TestClock>& clock) {
    using std::chrono::milliseconds;
    RecoveryOptions o;
    o.probe_interval = milliseconds{20};
    o.probe_deadline = milliseconds{300};
    o.failure_threshold = 3;
    o.backoff = milliseconds{1};
    o.max_backoff = milliseconds{4};
    o.handler_timeout = std::chrono::seconds{10};
    o.clock = [clock] { return clock->now(); };
    // Rounds driven by the test: no start-up reconcile on a thread of its
    // own racing them (RecoveryBuiltins.AHotTierIsReconciledBeforeItServesANewOrchestrator
    // turns it on).
    o.reconcile_at_start = false;
    return o;
}

inline std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace strata::testing
