#pragma once

#include <algorithm>  // max
#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>  // move
#include <vector>

#include "strata/checkpoint/checkpointer.hpp"  // detail::checkpoint::make_time_id
#include "strata/manager/health.hpp"
#include "strata/recovery/detail/checklist.hpp"
#include "strata/recovery/detail/handler_attempt.hpp"
#include "strata/recovery/detail/probe.hpp"  // ProbeOutcome, what
#include "strata/recovery/failure.hpp"
#include "strata/recovery/health_report.hpp"
#include "strata/recovery/incident.hpp"
#include "strata/recovery/recovery_options.hpp"

namespace strata::detail::recovery {

// Everything a RecoveryOrchestrator knows, under one mutex: each tier's state
// as probe rounds left it, the incidents open and finished, the counters and
// the handlers registered. Tiers and incidents share the lock because they
// move together: a tier going down opens an incident, a returning tier queues
// or closes it depending on whether a handler is registered, and a handler
// that succeeded ends its incident only if its tier still answers.
//
// The ledger runs no thread: the orchestrator's probe and handler threads
// call it, and it calls out (checklist, on_escalation) with no lock held.
class IncidentLedger {
public:
    struct Opened {
        std::string id;
        std::shared_future<Incident> done;
    };

    // What a probe round changed that must be acted on outside the lock.
    struct RoundEffects {
        HealthReport report;
        std::vector<std::string> to_handle;    // incidents whose handlers run now
        std::vector<std::string> to_escalate;  // tiers still down at the RTO target
        std::vector<std::size_t> suspect;      // tiers that went down or came back reset: quarantine
    };

    struct Job {
        FailureEvent event;
        FailureHandler handler;  // empty when none is registered
    };

    // `options` must outlive the ledger (the orchestrator holds both).
    IncidentLedger(const RecoveryOptions& options, std::size_t tier_count) : options_(options), tiers_(tier_count) {}

    IncidentLedger(const IncidentLedger&) = delete;
    IncidentLedger& operator=(const IncidentLedger&) = delete;

    // Incidents still open keep what they hold; whoever waits on one gets it
    // as it stands.
    ~IncidentLedger() {
        std::lock_guard lock(mutex_);
        for (auto& [id, open] : open_) open.done.set_value(open.incident);
    }

    void set_handler(std::string name, FailureHandler handler) {
        std::lock_guard lock(mutex_);
        by_name_[std::move(name)] = std::move(handler);
    }

    // What escalation checklists list as restore points; called with no
    // lock held.
    void set_restore_points(std::function<RestorePointList()> list) {
        std::lock_guard lock(mutex_);
        restore_points_ = std::move(list);
    }

    void set_handler(FailureType type, FailureHandler handler) {
        std::lock_guard lock(mutex_);
        by_type_[static_cast<std::size_t>(type)] = std::move(handler);
    }

    // An incident for a reported failure, its handlers counted as running
    // (the caller queues them); the event's time is the clock's if unset.
    Opened open_reported(FailureEvent event) {
        std::lock_guard lock(mutex_);
        if (event.detected_at == Clock::time_point{}) event.detected_at = options_.clock();
        std::string id = open(std::move(event), std::nullopt);
        auto done = open_.at(id).future;
        return {std::move(id), std::move(done)};
    }

    // Moves every tier's state on by one round's outcomes (one per tier, as
    // is `health`): incidents opened for tiers that went down, recovered or
    // queued for tiers that came back, RTO targets checked.
    RoundEffects record_round(std::span<const ProbeOutcome> outcomes, const std::vector<TierHealth>& health,
                              std::uint64_t round) {
        RoundEffects effects;
        std::lock_guard lock(mutex_);
        const auto now = options_.clock();
        ++counters_.rounds;
        for (std::size_t i = 0; i < tiers_.size(); ++i) {
            TierState& t = tiers_[i];
            const ProbeOutcome& o = outcomes[i];
            t.probed = true;
            t.last_probe = now;
            t.latency = o.latency;
            if (o.ok) {
                t.failures = 0;
                t.error.clear();
                if (o.reset) {
                    effects.suspect.push_back(i);
                    if (!t.incident)  // it never looked down: restarted between two rounds
                        t.incident = open(tier_event(FailureType::tier_down, i, health[i].name,
                                                     "the tier answered without the marker the last probe left "
                                                     "in it: it restarted from older data, or was replaced",
                                                     now),
                                          i);
                    open_.at(*t.incident).incident.event.tier_reset = true;
                }
                if (!t.up || o.reset) {
                    t.up = true;
                    tier_returned(i, now, effects.to_handle);
                }
            } else {
                ++t.failures;
                t.error = o.error;
                if (t.up && t.failures >= options_.failure_threshold) {
                    t.up = false;
                    effects.suspect.push_back(i);
                    if (!t.incident) {
                        const auto type = is_disk_full(t.error) ? FailureType::disk_full : FailureType::tier_down;
                        t.incident = open(tier_event(type, i, health[i].name, t.error, now), i);
                        if (handled_while_down(type)) start_handling(*t.incident, effects.to_handle);
                    }
                }
            }
        }
        for (auto& [id, open] : open_) {
            Incident& inc = open.incident;
            if (open.watched_tier && !tiers_[*open.watched_tier].up && !inc.rto_missed &&
                now - inc.event.detected_at >= options_.rto_target) {
                inc.rto_missed = true;  // once: the next round does not escalate it again
                ++counters_.rto_misses;
                effects.to_escalate.push_back(id);
            }
        }
        HealthReport& report = effects.report;
        report.at = now;
        report.round = round;
        for (std::size_t i = 0; i < tiers_.size(); ++i) {
            const TierState& t = tiers_[i];
            report.tiers.push_back(TierStatus{.name = health[i].name,
                                              .temperature = health[i].temperature,
                                              .durable = health[i].durable,
                                              .up = t.up,
                                              .probed = t.probed,
                                              .consecutive_failures = t.failures,
                                              .last_error = t.error,
                                              .probe_latency = t.latency,
                                              .last_probe = t.last_probe,
                                              .health = health[i]});
        }
        last_round_ = report;
        return effects;
    }

    // The event and handler for an incident's next run; nullopt once the
    // incident is finished.
    std::optional<Job> job(const std::string& id) const {
        std::lock_guard lock(mutex_);
        const auto it = open_.find(id);
        if (it == open_.end()) return std::nullopt;
        return Job{it->second.incident.event, find_handler(it->second.incident.event)};
    }

    // Adds a finished attempt to a running incident. A handler that lost
    // data raises the incident's data_lost, never lowers it.
    void record_attempt(const std::string& id, Clock::time_point started, const AttemptResult& result) {
        std::lock_guard lock(mutex_);
        Incident& inc = open_.at(id).incident;
        inc.attempts.push_back(HandlerAttempt{.number = static_cast<unsigned>(inc.attempts.size() + 1),
                                              .started = started,
                                              .ended = options_.clock(),
                                              .ok = result.ok,
                                              .timed_out = result.timed_out,
                                              .error = result.error});
        if (result.data_lost)
            inc.event.data_lost = std::max(inc.event.data_lost.value_or(Clock::duration::zero()), *result.data_lost);
    }

    // The handlers succeeded: a reported failure is over; a tier's incident
    // is over if the tier still answers, else it waits for the tier again.
    // True when the tier went and came back while they ran: the caller
    // queues them once more.
    bool handled(const std::string& id) {
        std::lock_guard lock(mutex_);
        OpenIncident& open = open_.at(id);
        open.handling = false;
        if (open.watched_tier && !tiers_[*open.watched_tier].up) {
            open.returned_again = false;  // they run again when it answers
            return false;
        }
        if (open.returned_again) {
            open.returned_again = false;
            open.handling = true;
            return true;
        }
        close(id, options_.clock());
        return false;
    }

    // Marks the incident escalated, writes its checklist and calls
    // on_escalation, with no lock held while either runs (the callback may
    // call back into the orchestrator).
    void escalate(const std::string& id, std::string reason) {
        Incident snapshot;
        HealthReport last_round;
        std::function<RestorePointList()> list_points;
        {
            std::lock_guard lock(mutex_);
            Incident* inc = find(id);
            if (!inc) return;
            if (inc->outcome != IncidentOutcome::escalated) {
                inc->outcome = IncidentOutcome::escalated;
                ++counters_.escalated;
            }
            inc->escalated_at = options_.clock();
            inc->escalation_reason = std::move(reason);
            snapshot = *inc;
            last_round = last_round_;
            list_points = restore_points_;
        }
        std::filesystem::path checklist_path;
        std::string error;
        if (!options_.escalation_dir.empty()) {
            try {
                const auto points = list_points ? list_points() : RestorePointList{};
                checklist_path = write_checklist(options_.escalation_dir, snapshot.id,
                                                 checklist(snapshot, last_round, options_, points));
            } catch (const std::exception& e) {
                error = std::string("the checklist was not written: ") + e.what();
            }
        }
        {
            std::lock_guard lock(mutex_);
            if (Incident* inc = find(id)) {
                inc->checklist = checklist_path;
                inc->escalation_error = error;
                snapshot = *inc;
            }
        }
        if (!options_.on_escalation) return;
        try {
            options_.on_escalation(snapshot, checklist_path);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (Incident* inc = find(id))
                inc->escalation_error += (inc->escalation_error.empty() ? "" : "; ") + std::string("on_escalation threw: ") +
                                         what(std::current_exception());
        }
    }

    // Automation is done with the incident: escalated, and finished unless
    // something finished it meanwhile.
    void give_up(const std::string& id, std::string reason) {
        escalate(id, std::move(reason));
        std::lock_guard lock(mutex_);
        if (open_.count(id)) finish(id);
    }

    HealthReport last_report() const {
        std::lock_guard lock(mutex_);
        return last_round_;
    }

    RecoveryStats stats() const {
        std::lock_guard lock(mutex_);
        RecoveryStats s = counters_;
        for (const auto& [id, open] : open_) s.open.push_back(open.incident);
        s.history.assign(history_.begin(), history_.end());
        return s;
    }

private:
    struct TierState {
        bool up = true;
        bool probed = false;
        unsigned failures = 0;
        std::string error;
        std::chrono::microseconds latency{0};
        std::optional<Clock::time_point> last_probe;
        std::optional<std::string> incident;  // the tier_down incident not finished yet
    };

    struct OpenIncident {
        Incident incident;
        std::promise<Incident> done;
        std::shared_future<Incident> future;
        std::optional<std::size_t> watched_tier;  // opened by probes: ends when that tier answers again
        bool handling = false;        // its handlers are queued or running
        bool returned_again = false;  // the tier came back again while they ran: run them again
    };

    // The private helpers below expect mutex_ held.

    static FailureEvent tier_event(FailureType type, std::size_t i, const std::string& name, std::string detail,
                                   Clock::time_point now) {
        return FailureEvent{
            .type = type, .name = {}, .tier = name, .tier_index = i, .detail = std::move(detail), .detected_at = now};
    }

    // What the tiers say when a write found no space (ENOSPC, in strerror's
    // words or PostgreSQL's).
    // Incidents fixed while their tier still fails, not once it answers (a
    // full disk: space is freed under it): their handler runs at detection.
    static constexpr bool handled_while_down(FailureType type) noexcept { return type == FailureType::disk_full; }

    static bool is_disk_full(const std::string& error) {
        return error.find("No space left on device") != std::string::npos ||
               error.find("ENOSPC") != std::string::npos || error.find("could not extend file") != std::string::npos;
    }

    void start_handling(const std::string& id, std::vector<std::string>& to_handle) {
        OpenIncident& open = open_.at(id);
        if (open.handling || !find_handler(open.incident.event)) return;
        open.handling = true;
        to_handle.push_back(id);
    }

    std::string open(FailureEvent event, std::optional<std::size_t> watched_tier) {
        Incident inc;
        inc.id = detail::checkpoint::make_time_id(event.detected_at, ++incident_sequence_, to_string(event.type));
        inc.event = std::move(event);
        const std::string id = inc.id;
        OpenIncident& open = open_[id];
        open.incident = std::move(inc);
        open.future = open.done.get_future().share();
        open.watched_tier = watched_tier;
        open.handling = !watched_tier;
        ++counters_.incidents;
        return id;
    }

    Incident* find(const std::string& id) {
        if (auto it = open_.find(id); it != open_.end()) return &it->second.incident;
        for (auto& inc : history_)
            if (inc.id == id) return &inc;
        return nullptr;
    }

    // A name handler first, then the type's.
    FailureHandler find_handler(const FailureEvent& e) const {
        if (!e.name.empty())
            if (auto it = by_name_.find(e.name); it != by_name_.end()) return it->second;
        return by_type_[static_cast<std::size_t>(e.type)];
    }

    // The tier answers again: its incident's handlers run now, or without
    // any, the incident is over.
    void tier_returned(std::size_t i, Clock::time_point now, std::vector<std::string>& to_handle) {
        auto& attached = tiers_[i].incident;
        if (!attached) return;
        OpenIncident& open = open_.at(*attached);
        // A handler that ran while the tier was down and succeeded has done
        // its work: running it again would find nothing to do.
        const bool while_down = handled_while_down(open.incident.event.type);
        const bool done_already = while_down && std::any_of(open.incident.attempts.begin(), open.incident.attempts.end(),
                                                            [](const HandlerAttempt& a) { return a.ok; });
        if (open.handling)
            open.returned_again = !while_down;
        else if (find_handler(open.incident.event) && !done_already)
            start_handling(*attached, to_handle);
        else
            close(*attached, now);
    }

    // Healthy again at `now`: RTO and RPO are measured and checked against
    // their targets, and the incident is finished. An escalated incident
    // keeps its outcome.
    void close(const std::string& id, Clock::time_point now) {
        Incident& inc = open_.at(id).incident;
        inc.healthy_at = now;
        inc.rto = now - inc.event.detected_at;
        inc.rpo = inc.event.data_lost.value_or(Clock::duration::zero());
        if (*inc.rto > options_.rto_target && !inc.rto_missed) {
            inc.rto_missed = true;
            ++counters_.rto_misses;
        }
        if (*inc.rpo > options_.rpo_target) {
            inc.rpo_missed = true;
            ++counters_.rpo_misses;
        }
        counters_.last_rto = inc.rto;
        counters_.last_rpo = inc.rpo;
        counters_.worst_rto = std::max(counters_.worst_rto.value_or(Clock::duration::zero()), *inc.rto);
        if (inc.outcome == IncidentOutcome::open) {
            inc.outcome = IncidentOutcome::recovered;
            ++counters_.recovered;
        }
        finish(id);
    }

    // Moves the incident into the history and hands it to whoever waits.
    void finish(const std::string& id) {
        auto node = open_.extract(id);
        OpenIncident& open = node.mapped();
        if (open.watched_tier) tiers_[*open.watched_tier].incident.reset();
        if (!open.incident.rpo && open.incident.event.data_lost) {
            open.incident.rpo = open.incident.event.data_lost;
            if (*open.incident.rpo > options_.rpo_target) {
                open.incident.rpo_missed = true;
                ++counters_.rpo_misses;
            }
        }
        open.done.set_value(open.incident);
        history_.push_back(std::move(open.incident));
        while (history_.size() > options_.history) history_.pop_front();
    }

    const RecoveryOptions& options_;

    mutable std::mutex mutex_;  // guards what follows
    std::vector<TierState> tiers_;  // one per tier, sized once
    std::map<std::string, OpenIncident> open_;  // by id, so oldest first
    std::deque<Incident> history_;
    RecoveryStats counters_;  // without open and history
    HealthReport last_round_;
    std::unordered_map<std::string, FailureHandler> by_name_;
    std::array<FailureHandler, failure_type_count> by_type_{};
    std::function<RestorePointList()> restore_points_;
    std::uint64_t incident_sequence_ = 0;
};

}  // namespace strata::detail::recovery
