#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>  // shared_ptr
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "strata/recovery/detail/probe.hpp"  // what
#include "strata/recovery/failure.hpp"

namespace strata::detail::recovery {

// The state block the orchestrator shares with the threads that run handler
// attempts. An attempt that overruns handler_timeout is abandoned, never
// joined: its thread owns a reference to this block and to its own copies of
// the handler and the event, so it may return at any time later, even after
// the orchestrator is gone, and touches nothing else of it. (What the
// handler itself captures must outlive it: that is the caller's to keep.)
struct HandlerSignal {
    std::mutex mutex;
    std::condition_variable cv;
    bool stopping = false;  // the orchestrator is going away: waits end now
};

struct AttemptResult {
    bool ok = false;
    bool timed_out = false;  // abandoned at the timeout, still running
    bool stopped = false;    // abandoned because the orchestrator stopped
    std::string error{};
    std::optional<Clock::duration> data_lost{};  // what the handler set in its event
};

// Runs `handler(event)` on a thread of its own and waits for it at most
// `timeout` (or until `signal` says stopping). A throw or `false` is a
// failed attempt carrying the reason.
inline AttemptResult run_attempt(const std::shared_ptr<HandlerSignal>& signal, const FailureHandler& handler,
                                 const FailureEvent& event, std::chrono::milliseconds timeout) {
    struct Shared {
        std::shared_ptr<HandlerSignal> signal{};
        FailureHandler handler{};
        FailureEvent event{};
        bool done = false;  // this and the two below: guarded by signal->mutex
        bool ok = false;
        std::string error{};
    };
    auto shared = std::make_shared<Shared>(Shared{signal, handler, event});
    try {
        std::thread([shared] {
            bool ok = false;
            std::string error;
            try {
                ok = shared->handler(shared->event);
                if (!ok) error = "the handler returned false";
            } catch (...) {
                error = what(std::current_exception());
            }
            std::lock_guard lock(shared->signal->mutex);
            shared->done = true;
            shared->ok = ok;
            shared->error = std::move(error);
            shared->signal->cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        return {.error = std::string("no thread to run the handler on: ") + e.what()};
    }
    std::unique_lock lock(signal->mutex);
    signal->cv.wait_for(lock, timeout, [&] { return shared->done || signal->stopping; });
    if (shared->done)
        return {.ok = shared->ok, .error = shared->error, .data_lost = shared->event.data_lost};
    if (signal->stopping) return {.stopped = true, .error = "abandoned: the orchestrator was stopped"};
    return {.timed_out = true,
            .error = "no answer within the handler timeout of " + std::to_string(timeout.count()) +
                     " ms; abandoned, its thread may still be running"};
}

}  // namespace strata::detail::recovery
