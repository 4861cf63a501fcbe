#pragma once

#include <algorithm>  // max
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <deque>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <memory>  // shared_ptr
#include <mutex>
#include <optional>
#include <stdexcept>  // invalid_argument, logic_error
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>  // declval, move
#include <vector>

#include "strata/checkpoint/checkpointer.hpp"  // detail::checkpoint::make_time_id
#include "strata/core/tier_set.hpp"
#include "strata/manager/health.hpp"
#include "strata/recovery/detail/checklist.hpp"
#include "strata/recovery/detail/handler_attempt.hpp"
#include "strata/recovery/detail/probe.hpp"
#include "strata/recovery/failure.hpp"
#include "strata/recovery/health_report.hpp"
#include "strata/recovery/incident.hpp"
#include "strata/recovery/recovery_options.hpp"

namespace strata {

namespace detail::recovery {

template <class T>
struct is_tier_set : std::false_type {};
template <class... Ts>
struct is_tier_set<TierSet<Ts...>> : std::true_type {};

template <class M>
concept manager_has_tiers =
    requires(M& m) { m.tiers(); } && is_tier_set<std::remove_cvref_t<decltype(std::declval<M&>().tiers())>>::value;
template <class M>
concept manager_has_health = requires(M& m) {
    { m.health()[0] } -> std::convertible_to<TierHealth>;
    { m.health().size() } -> std::convertible_to<std::size_t>;
};

}  // namespace detail::recovery

// What a RecoveryOrchestrator needs of the manager it watches; StateManager
// has both.
template <class M>
concept RecoveryTarget = detail::recovery::manager_has_tiers<M> && detail::recovery::manager_has_health<M>;

template <class M>
constexpr bool check_recovery_target() {
    static_assert(detail::recovery::manager_has_tiers<M>,
                  "strata::RecoveryOrchestrator: the manager needs TierSet<Tiers...> tiers(), as StateManager has");
    static_assert(detail::recovery::manager_has_health<M>,
                  "strata::RecoveryOrchestrator: the manager needs health(), one TierHealth per tier, as StateManager "
                  "has");
    return RecoveryTarget<M>;
}

// Watches a manager's tiers, runs handlers for failures, measures RTO and
// RPO, and hands what automation cannot fix to a person.
//
//     strata::RecoveryOrchestrator recovery{mgr, {.probe_interval = 10s, .failure_threshold = 3}};
//     recovery.on("trading_engine_crash", [&](const strata::FailureEvent& e) { ...; return true; });
//     recovery.start();                                  // probe rounds on a thread
//     auto done = recovery.report({.type = strata::FailureType::custom, .name = "trading_engine_crash"});
//     strata::Incident incident = done.get();            // once recovered or escalated
//
// Probes: each round writes, reads back and erases a record under
// "__strata_probe__/" in every tier and pings it, each tier on a worker
// thread of its own; a tier that does not answer within probe_deadline
// failed the round (a server that accepts connections but never answers is
// down), and it is not probed again until that probe returns. A tier is
// down after failure_threshold failed rounds in a row, up after one good one.
//
// Incidents: a tier going down opens a tier_down incident. Its handlers
// (on(FailureType::tier_down, ...)) run when the tier answers again: that is
// when a returning tier is fit to be reconciled or restored; without one,
// the tier answering again recovers the incident. A tier still down when
// rto_target has passed since detection is escalated (and its incident
// still records the RTO when it comes back). report() opens an incident for
// any other failure and runs its handler at once.
//
// Handlers run one incident at a time, in order, on the orchestrator's
// handler thread; each attempt on a thread of its own, abandoned (never
// joined) after handler_timeout: see detail::recovery::HandlerSignal. Up to
// max_attempts with doubling backoff; then, or at once when no handler is
// registered or an attempt timed out, the incident is escalated: a Markdown
// checklist <escalation_dir>/<id>.md and on_escalation.
//
// stop() ends the probe thread within one probe deadline, even while a probe
// is stuck in a tier. The destructor stops, abandons handler attempts still
// running, and waits for probes still inside a tier to return, because the
// tiers belong to the manager, which must outlive the orchestrator: it
// relies on the tiers' own timeouts there, and only there.
template <class M>
class RecoveryOrchestrator {
    static_assert(check_recovery_target<M>());
    using Set = std::remove_cvref_t<decltype(std::declval<M&>().tiers())>;
    static constexpr std::size_t tier_count = Set::size;

public:
    explicit RecoveryOrchestrator(M& manager, RecoveryOptions options = {})
        : mgr_(manager),
          tiers_(manager.tiers()),
          options_((detail::recovery::validate(options), std::move(options))),
          probe_owner_(detail::recovery::probe_owner()),
          signal_(std::make_shared<detail::recovery::HandlerSignal>()) {
        try {
            tiers_.for_each([&](auto& tier, auto index) {
                workers_.emplace_back([this, &tier] { probe_worker(decltype(index)::value, tier); });
            });
            runner_ = std::thread([this] { run_jobs(); });
        } catch (...) {
            end_threads();
            throw;
        }
    }

    RecoveryOrchestrator(const RecoveryOrchestrator&) = delete;
    RecoveryOrchestrator& operator=(const RecoveryOrchestrator&) = delete;

    ~RecoveryOrchestrator() {
        stop();
        end_threads();
        // Incidents still open keep what they hold; whoever waits on one
        // gets it as it stands.
        std::lock_guard lock(state_mutex_);
        for (auto& [id, open] : open_) open.done.set_value(open.incident);
    }

    // The handler of custom failures reported under `name` (a name handler
    // also wins over the type's handler for an event of another type that
    // carries its name). Replaces an earlier one.
    void on(std::string name, FailureHandler handler) {
        if (name.empty()) throw std::invalid_argument("strata: RecoveryOrchestrator::on: the name is empty");
        if (!handler) throw std::invalid_argument("strata: RecoveryOrchestrator::on: the handler is empty");
        std::lock_guard lock(state_mutex_);
        by_name_[std::move(name)] = std::move(handler);
    }

    // The handler of a class of failures (for custom: those whose name has
    // no handler of its own). Replaces an earlier one.
    void on(FailureType type, FailureHandler handler) {
        if (!handler) throw std::invalid_argument("strata: RecoveryOrchestrator::on: the handler is empty");
        std::lock_guard lock(state_mutex_);
        by_type_[static_cast<std::size_t>(type)] = std::move(handler);
    }

    // Opens an incident for `event` and queues its handler; returns at once.
    // The future holds the incident once it is recovered or escalated (or
    // as it stands if the orchestrator is destroyed first).
    std::shared_future<Incident> report(FailureEvent event) {
        if (event.type == FailureType::custom && event.name.empty())
            throw std::invalid_argument("strata: RecoveryOrchestrator::report: a custom failure needs a name");
        if (event.tier_index && *event.tier_index >= tier_count)
            throw std::invalid_argument("strata: RecoveryOrchestrator::report: tier_index is out of range");
        std::string id;
        std::shared_future<Incident> future;
        {
            std::lock_guard lock(state_mutex_);
            if (event.detected_at == Clock::time_point{}) event.detected_at = options_.clock();
            id = open_incident(std::move(event), std::nullopt);
            future = open_.at(id).future;
        }
        enqueue(std::move(id));
        return future;
    }

    // Runs one probe round now (after a round in progress, if any) and
    // returns what it found; takes at most about one probe deadline.
    HealthReport check() { return *round(false); }

    // Runs a round every probe_interval on a thread; std::logic_error when
    // already running.
    void start() {
        std::lock_guard control(control_mutex_);
        if (loop_.joinable()) throw std::logic_error("strata: RecoveryOrchestrator::start: already running");
        {
            std::lock_guard lock(probe_mutex_);
            loop_stopping_ = false;
        }
        loop_ = std::thread([this] { probe_loop(); });
    }

    // Ends the probe thread; returns within one probe deadline (a round cut
    // short is discarded, never counted as failures). Handlers queued or
    // running go on. Safe to call when not running.
    void stop() {
        std::lock_guard control(control_mutex_);
        {
            std::lock_guard lock(probe_mutex_);
            loop_stopping_ = true;
        }
        probe_cv_.notify_all();
        if (loop_.joinable()) loop_.join();
    }

    // The last round's report, without probing (round 0: none ran yet).
    HealthReport last_report() const {
        std::lock_guard lock(state_mutex_);
        return last_round_;
    }

    RecoveryStats stats() const {
        std::lock_guard lock(state_mutex_);
        RecoveryStats s = counters_;
        for (const auto& [id, open] : open_) s.open.push_back(open.incident);
        s.history.assign(history_.begin(), history_.end());
        return s;
    }

    const RecoveryOptions& options() const noexcept { return options_; }

private:
    using ProbeOutcome = detail::recovery::ProbeOutcome;

    struct ProbeSlot {  // guarded by probe_mutex_
        bool busy = false;  // a probe of this tier has not returned
        std::uint64_t asked = 0, answered = 0;  // round numbers
        ProbeOutcome outcome;
    };

    struct TierState {  // guarded by state_mutex_
        bool up = true;
        bool probed = false;
        unsigned failures = 0;
        std::string error;
        std::chrono::microseconds latency{0};
        std::optional<Clock::time_point> last_probe;
        std::optional<std::string> incident;  // the tier_down incident not finished yet
    };

    struct OpenIncident {  // guarded by state_mutex_
        Incident incident;
        std::promise<Incident> done;
        std::shared_future<Incident> future;
        std::optional<std::size_t> watched_tier;  // opened by probes: ends when that tier answers again
        bool handling = false;  // its handlers are queued or running
        bool returned_again = false;  // the tier came back again while they ran: run them again
    };

    // ---- probes ----------------------------------------------------------

    template <class T>
    void probe_worker(std::size_t i, T& tier) {
        std::unique_lock lock(probe_mutex_);
        for (;;) {
            probe_cv_.wait(lock, [&] { return workers_quit_ || slots_[i].asked != slots_[i].answered; });
            if (workers_quit_) return;
            const std::uint64_t n = slots_[i].asked;
            lock.unlock();
            auto outcome = detail::recovery::probe(tier, detail::recovery::probe_key(probe_owner_, n));
            lock.lock();
            slots_[i].outcome = std::move(outcome);
            slots_[i].answered = n;
            slots_[i].busy = false;
            probe_cv_.notify_all();
        }
    }

    void probe_loop() {
        for (;;) {
            const auto next = std::chrono::steady_clock::now() + options_.probe_interval;
            if (!round(true)) return;
            std::unique_lock lock(probe_mutex_);
            if (probe_cv_.wait_until(lock, next, [&] { return loop_stopping_; })) return;
        }
    }

    // One round; nullopt when the probe loop is told to stop before it ends.
    std::optional<HealthReport> round(bool from_loop) {
        std::array<ProbeOutcome, tier_count> outcomes{};
        std::uint64_t n = 0;
        {
            std::unique_lock lock(probe_mutex_);
            const auto stopping = [&] { return from_loop && loop_stopping_; };
            probe_cv_.wait(lock, [&] { return !round_running_ || stopping(); });
            if (stopping()) return std::nullopt;
            round_running_ = true;
            n = ++rounds_started_;
            const auto deadline_latency = std::chrono::duration_cast<std::chrono::microseconds>(options_.probe_deadline);
            std::array<bool, tier_count> asked{};
            for (std::size_t i = 0; i < tier_count; ++i) {
                if (slots_[i].busy) {
                    outcomes[i] = {false, "its probe from an earlier round has not returned yet", deadline_latency};
                    continue;
                }
                slots_[i].busy = true;
                slots_[i].asked = n;
                asked[i] = true;
            }
            probe_cv_.notify_all();
            const auto answered = [&] {
                for (std::size_t i = 0; i < tier_count; ++i)
                    if (asked[i] && slots_[i].answered != n) return false;
                return true;
            };
            probe_cv_.wait_until(lock, std::chrono::steady_clock::now() + options_.probe_deadline,
                                 [&] { return answered() || stopping(); });
            const bool cut_short = !answered() && stopping();
            for (std::size_t i = 0; i < tier_count; ++i) {
                if (!asked[i]) continue;
                if (slots_[i].answered == n)
                    outcomes[i] = slots_[i].outcome;
                else
                    outcomes[i] = {false,
                                   "no answer within the probe deadline of " +
                                       std::to_string(options_.probe_deadline.count()) + " ms",
                                   deadline_latency};
            }
            round_running_ = false;
            probe_cv_.notify_all();
            if (cut_short) return std::nullopt;
        }
        return apply(outcomes, n);
    }

    // Moves every tier's state on by one round's outcomes and acts on what
    // changed: incidents opened, handlers queued, incidents recovered or
    // escalated.
    HealthReport apply(const std::array<ProbeOutcome, tier_count>& outcomes, std::uint64_t n) {
        const auto health = mgr_.health();
        std::vector<std::string> to_handle, to_escalate;
        HealthReport report;
        {
            std::lock_guard lock(state_mutex_);
            const auto now = options_.clock();
            ++counters_.rounds;
            for (std::size_t i = 0; i < tier_count; ++i) {
                TierState& t = tier_states_[i];
                const ProbeOutcome& o = outcomes[i];
                t.probed = true;
                t.last_probe = now;
                t.latency = o.latency;
                if (o.ok) {
                    t.failures = 0;
                    t.error.clear();
                    if (!t.up) {
                        t.up = true;
                        tier_returned(i, now, to_handle);
                    }
                } else {
                    ++t.failures;
                    t.error = o.error;
                    if (t.up && t.failures >= options_.failure_threshold) {
                        t.up = false;
                        if (!t.incident) {
                            FailureEvent e{.type = FailureType::tier_down,
                                           .tier = std::string(health[i].name),
                                           .tier_index = i,
                                           .detail = t.error,
                                           .detected_at = now};
                            t.incident = open_incident(std::move(e), i);
                        }
                    }
                }
            }
            for (auto& [id, open] : open_) {
                Incident& inc = open.incident;
                if (open.watched_tier && !tier_states_[*open.watched_tier].up && !inc.rto_missed &&
                    now - inc.event.detected_at >= options_.rto_target) {
                    inc.rto_missed = true;  // once: the next round does not escalate it again
                    ++counters_.rto_misses;
                    to_escalate.push_back(id);
                }
            }
            report.at = now;
            report.round = n;
            for (std::size_t i = 0; i < tier_count; ++i) {
                const TierState& t = tier_states_[i];
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
        }
        for (auto& id : to_handle) enqueue(std::move(id));
        for (const auto& id : to_escalate)
            escalate(id, "the tier was still down when the RTO target of " +
                             detail::recovery::duration_text(options_.rto_target) + " had passed since detection");
        return report;
    }

    // The tier answers again: its incident's handlers run now, or without
    // any, the incident is over. Holds state_mutex_.
    void tier_returned(std::size_t i, Clock::time_point now, std::vector<std::string>& to_handle) {
        auto& attached = tier_states_[i].incident;
        if (!attached) return;
        OpenIncident& open = open_.at(*attached);
        if (open.handling) {
            open.returned_again = true;
        } else if (find_handler(open.incident.event)) {
            open.handling = true;
            to_handle.push_back(*attached);
        } else {
            close(*attached, now);
        }
    }

    // ---- incidents ---------------------------------------------------------

    // Holds state_mutex_.
    std::string open_incident(FailureEvent event, std::optional<std::size_t> watched_tier) {
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

    // Holds state_mutex_.
    Incident* find(const std::string& id) {
        if (auto it = open_.find(id); it != open_.end()) return &it->second.incident;
        for (auto& inc : history_)
            if (inc.id == id) return &inc;
        return nullptr;
    }

    // Holds state_mutex_. A name handler first, then the type's.
    FailureHandler find_handler(const FailureEvent& e) const {
        if (!e.name.empty())
            if (auto it = by_name_.find(e.name); it != by_name_.end()) return it->second;
        return by_type_[static_cast<std::size_t>(e.type)];
    }

    // Healthy again at `now`: RTO and RPO are measured and checked against
    // their targets, and the incident is finished. An escalated incident
    // keeps its outcome. Holds state_mutex_.
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
    // Holds state_mutex_.
    void finish(const std::string& id) {
        auto node = open_.extract(id);
        OpenIncident& open = node.mapped();
        if (open.watched_tier) tier_states_[*open.watched_tier].incident.reset();
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

    // Marks the incident escalated, writes its checklist and calls
    // on_escalation, with no lock held while either runs.
    void escalate(const std::string& id, std::string reason) {
        Incident snapshot;
        HealthReport last_round;
        {
            std::lock_guard lock(state_mutex_);
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
        }
        std::filesystem::path checklist;
        std::string error;
        if (!options_.escalation_dir.empty()) {
            try {
                checklist = detail::recovery::write_checklist(
                    options_.escalation_dir, snapshot.id, detail::recovery::checklist(snapshot, last_round, options_));
            } catch (const std::exception& e) {
                error = std::string("the checklist was not written: ") + e.what();
            }
        }
        {
            std::lock_guard lock(state_mutex_);
            if (Incident* inc = find(id)) {
                inc->checklist = checklist;
                inc->escalation_error = error;
                snapshot = *inc;
            }
        }
        if (!options_.on_escalation) return;
        try {
            options_.on_escalation(snapshot, checklist);
        } catch (...) {
            std::lock_guard lock(state_mutex_);
            if (Incident* inc = find(id))
                inc->escalation_error += (inc->escalation_error.empty() ? "" : "; ") + std::string("on_escalation threw: ") +
                                         detail::recovery::what(std::current_exception());
        }
    }

    // ---- handlers ----------------------------------------------------------

    void enqueue(std::string id) {
        {
            std::lock_guard lock(signal_->mutex);
            jobs_.push_back(std::move(id));
        }
        signal_->cv.notify_all();
    }

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
        FailureEvent event;
        FailureHandler handler;
        {
            std::lock_guard lock(state_mutex_);
            const auto it = open_.find(id);
            if (it == open_.end()) return;
            event = it->second.incident.event;
            handler = find_handler(event);
        }
        if (!handler) return give_up(id, "no handler is registered for " + describe(event));
        for (unsigned attempt = 1; attempt <= options_.max_attempts; ++attempt) {
            const auto started = options_.clock();
            auto result = detail::recovery::run_attempt(signal_, handler, event, options_.handler_timeout);
            if (result.stopped) return;  // the destructor hands the incident over as it stands
            {
                std::lock_guard lock(state_mutex_);
                Incident& inc = open_.at(id).incident;
                inc.attempts.push_back(HandlerAttempt{.number = static_cast<unsigned>(inc.attempts.size() + 1),
                                                      .started = started,
                                                      .ended = options_.clock(),
                                                      .ok = result.ok,
                                                      .timed_out = result.timed_out,
                                                      .error = result.error});
                if (result.data_lost)
                    inc.event.data_lost = std::max(inc.event.data_lost.value_or(Clock::duration::zero()),
                                                   *result.data_lost);
            }
            if (result.ok) return handled(id);
            if (result.timed_out)
                return give_up(id, "attempt " + std::to_string(attempt) + " did not return within the handler timeout");
            if (attempt < options_.max_attempts && !backoff(attempt)) return;
        }
        give_up(id, "all " + std::to_string(options_.max_attempts) + " attempts failed");
    }

    // Waits before attempt `attempt + 1`; false when the orchestrator stops.
    bool backoff(unsigned attempt) {
        auto wait = options_.backoff;
        for (unsigned i = 1; i < attempt && wait < options_.max_backoff; ++i) wait *= 2;
        wait = std::min(wait, options_.max_backoff);
        std::unique_lock lock(signal_->mutex);
        return !signal_->cv.wait_for(lock, wait, [&] { return signal_->stopping; });
    }

    // The handlers succeeded: a reported failure is over; a tier's incident
    // is over if the tier still answers, else it waits for the tier again.
    void handled(const std::string& id) {
        bool again = false;
        {
            std::lock_guard lock(state_mutex_);
            OpenIncident& open = open_.at(id);
            open.handling = false;
            if (open.watched_tier && !tier_states_[*open.watched_tier].up) {
                open.returned_again = false;  // they run again when it answers
                return;
            }
            if (open.returned_again) {
                open.returned_again = false;
                open.handling = again = true;
            } else {
                close(id, options_.clock());
            }
        }
        if (again) enqueue(id);
    }

    void give_up(const std::string& id, std::string reason) {
        escalate(id, std::move(reason));
        std::lock_guard lock(state_mutex_);
        if (open_.count(id)) finish(id);
    }

    static std::string describe(const FailureEvent& e) {
        if (e.type == FailureType::custom) return "custom failure '" + e.name + "'";
        std::string s(to_string(e.type));
        if (!e.name.empty()) s += " '" + e.name + "'";
        return s;
    }

    void end_threads() {
        {
            std::lock_guard lock(signal_->mutex);
            signal_->stopping = true;
        }
        signal_->cv.notify_all();
        if (runner_.joinable()) runner_.join();
        {
            std::lock_guard lock(probe_mutex_);
            workers_quit_ = true;
        }
        probe_cv_.notify_all();
        for (auto& w : workers_)
            if (w.joinable()) w.join();
    }

    M& mgr_;
    Set tiers_;
    const RecoveryOptions options_;
    const std::string probe_owner_;

    std::mutex probe_mutex_;  // guards what follows, up to the threads
    std::condition_variable probe_cv_;
    std::array<ProbeSlot, tier_count> slots_{};
    std::uint64_t rounds_started_ = 0;
    bool round_running_ = false;
    bool loop_stopping_ = false;
    bool workers_quit_ = false;
    std::vector<std::thread> workers_;  // one per tier, in tier order
    std::mutex control_mutex_;          // start and stop
    std::thread loop_;

    mutable std::mutex state_mutex_;  // guards what follows
    std::array<TierState, tier_count> tier_states_{};
    std::map<std::string, OpenIncident> open_;  // by id, so oldest first
    std::deque<Incident> history_;
    RecoveryStats counters_;  // without open and history
    HealthReport last_round_;
    std::unordered_map<std::string, FailureHandler> by_name_;
    std::array<FailureHandler, failure_type_count> by_type_{};
    std::uint64_t incident_sequence_ = 0;

    std::shared_ptr<detail::recovery::HandlerSignal> signal_;  // its mutex also guards jobs_
    std::deque<std::string> jobs_;
    std::thread runner_;
};

template <class M>
RecoveryOrchestrator(M&) -> RecoveryOrchestrator<M>;
template <class M>
RecoveryOrchestrator(M&, RecoveryOptions) -> RecoveryOrchestrator<M>;

}  // namespace strata
