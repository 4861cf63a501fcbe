#pragma once

#include <chrono>
#include <cstddef>  // size_t
#include <filesystem>
#include <functional>
#include <stdexcept>  // invalid_argument
#include <string>

#include "strata/core/record.hpp"  // Clock
#include "strata/recovery/detail/resident_bytes.hpp"
#include "strata/recovery/incident.hpp"

namespace strata {

struct RecoveryOptions {
    std::chrono::milliseconds probe_interval{std::chrono::seconds{10}};  // between rounds started by start()
    // How long a round waits for a tier's probe; the orchestrator enforces
    // it, whatever the tier's own timeouts.
    std::chrono::milliseconds probe_deadline{std::chrono::seconds{2}};
    unsigned failure_threshold = 3;  // failed rounds in a row before a tier is down
    std::chrono::milliseconds rto_target{std::chrono::minutes{5}};
    std::chrono::milliseconds rpo_target{std::chrono::minutes{1}};

    unsigned max_attempts = 3;  // per incident, each handler run counting as one
    std::chrono::milliseconds backoff{std::chrono::milliseconds{200}};  // before the 2nd attempt, doubled after each
    std::chrono::milliseconds max_backoff{std::chrono::seconds{10}};
    std::chrono::milliseconds handler_timeout{std::chrono::seconds{60}};  // one attempt; then it is abandoned

    std::size_t history = 100;  // finished incidents kept in stats()

    // Where escalation checklists go (<id>.md, created if missing); empty:
    // none is written, the callback still runs.
    std::filesystem::path escalation_dir{};
    // Called after the checklist is written, on the orchestrator's thread;
    // `checklist` is empty when none was written. Exceptions are recorded
    // in Incident::escalation_error.
    std::function<void(const Incident&, const std::filesystem::path& checklist)> on_escalation{};

    // Memory pressure: over this many bytes (0: not watched), checked every
    // round, the built-in handler drops the cache and demotes keys idle for
    // demote_idle_after from the hot tiers to the first durable one.
    std::size_t memory_limit = 0;
    std::chrono::milliseconds demote_idle_after{std::chrono::minutes{10}};
    // What the process uses, in bytes; the resident set from /proc by default.
    std::function<std::size_t()> memory_usage = [] { return detail::recovery::resident_bytes(); };

    // Hot tiers are quarantined when the orchestrator is made and reconciled
    // on a thread of its own (retried with backoff until it succeeds):
    // a Redis that came back with older data while no process watched it (a
    // host restarted) is otherwise never seen, since no marker or stale mark
    // from before says so. Make the orchestrator before serving. Off: for a
    // hot tier that cannot outlive the process's view of it (Redis without
    // persistence).
    bool reconcile_at_start = true;

    // A hot tier that came back is re-warmed with up to this many of the
    // cache's keys, most used first (caches that list their keys).
    std::size_t rewarm_keys = 10000;

    // Detection, attempt and recovery times (so RTOs), and the RTO target of
    // a tier still down, read this clock; deadlines, timeouts and backoff
    // are real time.
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
};

namespace detail::recovery {

inline void validate(const RecoveryOptions& o) {
    auto positive = [](std::chrono::milliseconds d, const char* name) {
        if (d <= std::chrono::milliseconds::zero())
            throw std::invalid_argument(std::string("strata: RecoveryOptions::") + name + " must be > 0");
    };
    positive(o.probe_interval, "probe_interval");
    positive(o.probe_deadline, "probe_deadline");
    positive(o.rto_target, "rto_target");
    positive(o.handler_timeout, "handler_timeout");
    if (o.rpo_target < std::chrono::milliseconds::zero())
        throw std::invalid_argument("strata: RecoveryOptions::rpo_target must be >= 0");
    if (o.backoff < std::chrono::milliseconds::zero() || o.max_backoff < o.backoff)
        throw std::invalid_argument("strata: RecoveryOptions: need 0 <= backoff <= max_backoff");
    if (o.failure_threshold == 0) throw std::invalid_argument("strata: RecoveryOptions::failure_threshold must be > 0");
    if (o.max_attempts == 0) throw std::invalid_argument("strata: RecoveryOptions::max_attempts must be > 0");
    if (!o.clock) throw std::invalid_argument("strata: RecoveryOptions::clock is empty");
    if (!o.memory_usage) throw std::invalid_argument("strata: RecoveryOptions::memory_usage is empty");
}

}  // namespace detail::recovery
}  // namespace strata
