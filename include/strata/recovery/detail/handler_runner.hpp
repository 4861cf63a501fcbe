#pragma once

#include <algorithm>  // min
#include <deque>
#include <memory>  // shared_ptr
#include <mutex>
#include <string>
#include <thread>
#include <utility>  // move

#include "strata/recovery/detail/handler_attempt.hpp"
#include "strata/recovery/detail/incident_ledger.hpp"
#include "strata/recovery/failure.hpp"
#include "strata/recovery/recovery_options.hpp"

namespace strata::detail::recovery {

// The orchestrator's handler thread: incidents queued by id, run one at a
// time in order, so two handlers never repair the same service at once. Each
// attempt runs on a thread of its own (run_attempt), up to max_attempts with
// doubling backoff; the ledger records every attempt and decides whether the
// incident is over.
class HandlerRunner {
public:
    // `options` and `ledger` must outlive the runner.
    HandlerRunner(const RecoveryOptions& options, IncidentLedger& ledger)
        : options_(options), ledger_(ledger), signal_(std::make_shared<HandlerSignal>()), thread_([this] { run_jobs(); }) {}

    HandlerRunner(const HandlerRunner&) = delete;
    HandlerRunner& operator=(const HandlerRunner&) = delete;

    // Ends the thread without waiting for a running attempt, which is
    // abandoned (see HandlerSignal); its incident stays open in the ledger.
    ~HandlerRunner() {
        {
            std::lock_guard lock(signal_->mutex);
            signal_->stopping = true;
        }
        signal_->cv.notify_all();
        thread_.join();
    }

    void enqueue(std::string id) {
        {
            std::lock_guard lock(signal_->mutex);
            jobs_.push_back(std::move(id));
        }
        signal_->cv.notify_all();
    }

private:
    void run_jobs() {
        std::unique_lock lock(signal_->mutex);
        for (;;) {
            signal_->cv.wait(lock, [&] { return signal_->stopping || !jobs_.empty(); });
            if (signal_->stopping) return;
            const std::string id = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            run_job(id);
            lock.lock();
        }
    }

    void run_job(const std::string& id) {
        const auto job = ledger_.job(id);
        if (!job) return;
        if (!job->handler) return ledger_.give_up(id, "no handler is registered for " + describe(job->event));
        for (unsigned attempt = 1; attempt <= options_.max_attempts; ++attempt) {
            const auto started = options_.clock();
            const auto result = run_attempt(signal_, job->handler, job->event, options_.handler_timeout);
            if (result.stopped) return;  // the ledger hands the incident over as it stands
            ledger_.record_attempt(id, started, result);
            if (result.ok) {
                if (ledger_.handled(id)) enqueue(id);
                return;
            }
            if (result.timed_out)
                return ledger_.give_up(
                    id, "attempt " + std::to_string(attempt) + " did not return within the handler timeout");
            if (attempt < options_.max_attempts && !backoff(attempt)) return;
        }
        ledger_.give_up(id, "all " + std::to_string(options_.max_attempts) + " attempts failed");
    }

    // Waits before attempt `attempt + 1`; false when the runner stops.
    bool backoff(unsigned attempt) {
        auto wait = options_.backoff;
        for (unsigned i = 1; i < attempt && wait < options_.max_backoff; ++i) wait *= 2;
        wait = std::min(wait, options_.max_backoff);
        std::unique_lock lock(signal_->mutex);
        return !signal_->cv.wait_for(lock, wait, [&] { return signal_->stopping; });
    }

    static std::string describe(const FailureEvent& e) {
        if (e.type == FailureType::custom) return "custom failure '" + e.name + "'";
        std::string s(to_string(e.type));
        if (!e.name.empty()) s += " '" + e.name + "'";
        return s;
    }

    const RecoveryOptions& options_;
    IncidentLedger& ledger_;
    std::shared_ptr<HandlerSignal> signal_;  // its mutex also guards jobs_
    std::deque<std::string> jobs_;
    std::thread thread_;  // last: it starts once everything it uses exists
};

}  // namespace strata::detail::recovery
