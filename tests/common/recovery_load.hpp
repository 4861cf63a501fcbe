#pragma once
// Helpers for the recovery tests that kill or replace a real server under a
// writing load: the writer, which keeps what was acknowledged, and the
// orchestrator's verdict on one tier.

#include <atomic>
#include <chrono>
#include <cstddef>  // size_t
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "strata/core/error.hpp"

namespace strata::testing {

template <class Rep, class Period>
long long ms(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Sets "order:<i>" to "v<i>" through the manager every 2 ms until stopped
// (at most 100,000 keys), keeping every write that was acknowledged and
// counting those refused. Stops and joins however the test ends.
template <class Manager>
class AcknowledgedWriter {
public:
    explicit AcknowledgedWriter(Manager& mgr) : mgr_(mgr), thread_([this] { run(); }) {}
    AcknowledgedWriter(const AcknowledgedWriter&) = delete;
    AcknowledgedWriter& operator=(const AcknowledgedWriter&) = delete;
    ~AcknowledgedWriter() { stop(); }

    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::map<std::string, std::string> acknowledged() {
        std::lock_guard lock(m_);
        return acknowledged_;
    }
    int refused() const { return refused_; }

private:
    void run() {
        for (int i = 0; !stopping_ && i < 100'000; ++i) {
            const std::string key = "order:" + std::to_string(i), value = "v" + std::to_string(i);
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
