#pragma once
// Helpers for the recovery tests that kill or replace a real server under a
// writing load: the writer, which keeps what was acknowledged, and the
// orchestrator's verdict on one tier.

#include <atomic>
#include <charconv>  // from_chars
#include <chrono>
#include <cstddef>  // size_t
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "strata/core/error.hpp"
#include "strata/recovery/incident.hpp"

namespace strata::testing {

// The one incident a test provoked, finished and recovered with nothing
// lost: its record, or nullptr after a failure saying what was wrong.
inline const Incident* only_incident_recovered(const RecoveryStats& st) {
    EXPECT_EQ(st.incidents, 1u);
    EXPECT_EQ(st.recovered, 1u);
    if (st.history.size() != 1u) {
        ADD_FAILURE() << st.history.size() << " incidents finished, not 1";
        return nullptr;
    }
    const auto& incident = st.history[0];
    EXPECT_EQ(incident.outcome, IncidentOutcome::recovered)
        << (incident.attempts.empty() ? std::string("no attempt") : incident.attempts.back().error);
    EXPECT_TRUE(incident.rto.has_value());
    EXPECT_EQ(incident.rpo, Clock::duration::zero());
    return &incident;
}

template <class Rep, class Period>
long long ms(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Writes through the manager every 2 ms until stopped (at most 100,000
// writes), keeping every write that was acknowledged and counting those
// refused. Write i sets "order:<i>" to "v<i>", a new key each time, or with
// `keys` > 0 "order:<i % keys>", so each key is written over and over and
// the newer of two values is the one with the larger write_number. Stops and
// joins however the test ends.
template <class Manager>
class AcknowledgedWriter {
public:
    explicit AcknowledgedWriter(Manager& mgr, std::size_t keys = 0)
        : mgr_(mgr), keys_(keys), thread_([this] { run(); }) {}
    AcknowledgedWriter(const AcknowledgedWriter&) = delete;
    AcknowledgedWriter& operator=(const AcknowledgedWriter&) = delete;
    ~AcknowledgedWriter() { stop(); }

    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    // The newest acknowledged value of each key written.
    std::map<std::string, std::string> acknowledged() {
        std::lock_guard lock(m_);
        return acknowledged_;
    }
    std::optional<std::string> acknowledged(const std::string& key) {
        std::lock_guard lock(m_);
        const auto it = acknowledged_.find(key);
        return it == acknowledged_.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    // i of a value "v<i>" this writer wrote; nullopt for any other value.
    static std::optional<long> write_number(std::string_view value) {
        long i = -1;
        if (!value.starts_with('v')) return std::nullopt;
        const auto [end, ec] = std::from_chars(value.data() + 1, value.data() + value.size(), i);
        if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
        return i;
    }
    int refused() const { return refused_; }

private:
    void run() {
        for (std::size_t i = 0; !stopping_ && i < 100'000; ++i) {
            const std::string key = "order:" + std::to_string(keys_ ? i % keys_ : i), value = "v" + std::to_string(i);
            try {
                mgr_.set(key, value);
                std::lock_guard lock(m_);
                acknowledged_[key] = value;
            } catch (const strata::Error&) {
                ++refused_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{2});
        }
    }

    Manager& mgr_;
    const std::size_t keys_;
    std::mutex m_;
    std::map<std::string, std::string> acknowledged_;
    std::atomic<int> refused_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// True once a probe round ran and found tier `index` up.
template <class Orchestrator>
bool tier_up(const Orchestrator& recovery, std::size_t index) {
    const auto report = recovery.last_report();
    return report.round > 0 && report.tiers.at(index).up;
}

}  // namespace strata::testing
