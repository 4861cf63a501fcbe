#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // move
#include <vector>

#include "strata/recovery/detail/probe.hpp"

namespace strata::detail::recovery {

// Probe rounds over the tiers of a TierSet. Each tier has a worker thread of
// its own, so a tier stuck in a call holds up only its worker; a round waits
// for the workers at most `deadline` and counts a tier that has not answered
// as failed. A tier whose probe has not returned is not asked again until it
// does, so a frozen server never collects a pile of probes.
//
// The probe loop's stop flag lives here too, under the same mutex as the
// round's wait, so setting it ends a round in progress at once.
template <class Set>
class ProbeRounds {
public:
    static constexpr std::size_t tier_count = Set::size;

    struct Round {
        std::array<ProbeOutcome, tier_count> outcomes{};  // in tier order
        std::uint64_t number = 0;                         // 1 for the first round
    };

    // Starts one worker per tier.
    ProbeRounds(Set tiers, std::chrono::milliseconds deadline)
        : tiers_(tiers), deadline_(deadline), owner_(probe_owner()) {
        try {
            tiers_.for_each([&](auto& tier, auto index) {
                workers_.emplace_back([this, &tier] { work(decltype(index)::value, tier); });
            });
        } catch (...) {
            end_workers();
            throw;
        }
    }

    ProbeRounds(const ProbeRounds&) = delete;
    ProbeRounds& operator=(const ProbeRounds&) = delete;

    // Waits for probes still inside a tier: the tiers belong to the manager,
    // which may go once this returns. Only here do the tiers' own timeouts
    // bound a wait.
    ~ProbeRounds() { end_workers(); }

    // One round, after a round in progress if any. for_loop: nullopt when
    // the loop is told to stop before or during the round (a round cut short
    // is discarded, never counted as failures).
    std::optional<Round> run(bool for_loop) {
        Round round;
        std::unique_lock lock(mutex_);
        const auto stopping = [&] { return for_loop && loop_stopping_; };
        cv_.wait(lock, [&] { return !round_running_ || stopping(); });
        if (stopping()) return std::nullopt;
        round_running_ = true;
        const std::uint64_t n = round.number = ++rounds_started_;
        const auto deadline_latency = std::chrono::duration_cast<std::chrono::microseconds>(deadline_);
        std::array<bool, tier_count> asked{};
        for (std::size_t i = 0; i < tier_count; ++i) {
            if (slots_[i].busy) {
                round.outcomes[i] = {false, "its probe from an earlier round has not returned yet", deadline_latency};
                continue;
            }
            slots_[i].busy = true;
            slots_[i].asked = n;
            asked[i] = true;
        }
        cv_.notify_all();
        const auto answered = [&] {
            for (std::size_t i = 0; i < tier_count; ++i)
                if (asked[i] && slots_[i].answered != n) return false;
            return true;
        };
        cv_.wait_until(lock, std::chrono::steady_clock::now() + deadline_, [&] { return answered() || stopping(); });
        const bool cut_short = !answered() && stopping();
        for (std::size_t i = 0; i < tier_count; ++i) {
            if (!asked[i]) continue;
            if (slots_[i].answered == n)
                round.outcomes[i] = slots_[i].outcome;
            else
                round.outcomes[i] = {
                    false, "no answer within the probe deadline of " + std::to_string(deadline_.count()) + " ms",
                    deadline_latency};
        }
        round_running_ = false;
        cv_.notify_all();
        if (cut_short) return std::nullopt;
        return round;
    }

    // The probe loop's stop flag: cleared before a loop starts, set to end it.
    void allow_loop() {
        std::lock_guard lock(mutex_);
        loop_stopping_ = false;
    }

    void stop_loop() {
        {
            std::lock_guard lock(mutex_);
            loop_stopping_ = true;
        }
        cv_.notify_all();
    }

    bool loop_stopping() const {
        std::lock_guard lock(mutex_);
        return loop_stopping_;
    }

    // The loop's pause between rounds; false when it is told to stop first.
    bool wait_for_next(std::chrono::steady_clock::time_point next) {
        std::unique_lock lock(mutex_);
        return !cv_.wait_until(lock, next, [&] { return loop_stopping_; });
    }

private:
    struct Slot {
        bool busy = false;                      // a probe of this tier has not returned
        std::uint64_t asked = 0, answered = 0;  // round numbers
        ProbeOutcome outcome;
    };

    // The marker is the worker's own: one probe of a tier runs at a time.
    // It is erased as the worker ends if the tier answered last time (a
    // failing tier would hold up the end; the marker expires by itself).
    template <class T>
    void work(std::size_t i, T& tier) {
        Marker marker{.key = marker_key(owner_), .left = std::nullopt, .pending = std::nullopt};
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return workers_quit_ || slots_[i].asked != slots_[i].answered; });
            if (workers_quit_) {
                if (marker.left && slots_[i].outcome.ok) {
                    lock.unlock();
                    try {
                        tier.erase(marker.key);
                    } catch (...) {  // it expires by itself
                    }
                }
                return;
            }
            const std::uint64_t n = slots_[i].asked;
            lock.unlock();
            auto outcome = probe(tier, probe_key(owner_, n), marker, n);
            lock.lock();
            slots_[i].outcome = std::move(outcome);
            slots_[i].answered = n;
            slots_[i].busy = false;
            cv_.notify_all();
        }
    }

    void end_workers() {
        {
            std::lock_guard lock(mutex_);
            workers_quit_ = true;
        }
        cv_.notify_all();
        for (auto& w : workers_)
            if (w.joinable()) w.join();
    }

    Set tiers_;
    const std::chrono::milliseconds deadline_;
    const std::string owner_;  // in every probe key, so orchestrators never share one

    mutable std::mutex mutex_;  // guards what follows, up to the workers
    std::condition_variable cv_;
    std::array<Slot, tier_count> slots_{};
    std::uint64_t rounds_started_ = 0;
    bool round_running_ = false;
    bool loop_stopping_ = false;
    bool workers_quit_ = false;
    std::vector<std::thread> workers_;  // one per tier, in tier order
};

}  // namespace strata::detail::recovery
