#pragma once

#include <atomic>
#include <chrono>
#include <concepts>  // convertible_to
#include <cstddef>   // size_t
#include <future>
#include <memory>  // shared_ptr
#include <mutex>
#include <optional>
#include <stdexcept>  // invalid_argument, logic_error
#include <string>
#include <thread>
#include <type_traits>
#include <utility>  // declval, move
#include <vector>

#include "strata/core/tier_set.hpp"
#include "strata/manager/health.hpp"
#include "strata/manager/tier_repair.hpp"
#include "strata/recovery/detail/builtin_handlers.hpp"
#include "strata/recovery/detail/checklist.hpp"  // duration_text
#include "strata/recovery/detail/handler_runner.hpp"
#include "strata/recovery/detail/incident_ledger.hpp"
#include "strata/recovery/detail/probe_round.hpp"
#include "strata/recovery/detail/restore_sources.hpp"
#include "strata/recovery/detail/retry_thread.hpp"
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
// relies on the tiers' own timeouts there, and only there. on_escalation
// and handlers may call stop(), even on the probe thread itself.
//
// The parts live in detail/: ProbeRounds (per-tier workers, the round and
// its deadline), IncidentLedger (tier states, incidents, targets, stats,
// escalation) and HandlerRunner (the handler thread, attempts, backoff).
template <class M>
class RecoveryOrchestrator {
    static_assert(check_recovery_target<M>());
    using Set = std::remove_cvref_t<decltype(std::declval<M&>().tiers())>;
    using Probes = detail::recovery::ProbeRounds<Set>;
    static constexpr std::size_t tier_count = Set::size;

public:
    explicit RecoveryOrchestrator(M& manager, RecoveryOptions options = {})
        : mgr_(manager),
          options_((detail::recovery::validate(options), std::move(options))),
          ledger_(options_, tier_count),
          probes_(manager.tiers(), options_.probe_deadline),
          runner_(options_, ledger_) {
        ledger_.set_restore_points([sources = sources_] { return sources->newest_each(); });
        if constexpr (repairable) {
            register_builtins();
            if (options_.reconcile_at_start) reconcile_hot_tiers();
        }
    }

    RecoveryOrchestrator(const RecoveryOrchestrator&) = delete;
    RecoveryOrchestrator& operator=(const RecoveryOrchestrator&) = delete;

    // Stops the probe loop; then the members end in reverse order: the
    // start-up reconcile (waiting for a reconcile in progress), the handler
    // thread, the probe workers (waiting for probes inside a tier), and last
    // the ledger, which hands open incidents over as they stand.
    ~RecoveryOrchestrator() { stop(); }

    // True once the hot tiers quarantined at construction are reconciled
    // (RecoveryOptions::reconcile_at_start), or when there was none to do.
    bool started_up() const { return !startup_ || startup_->finished(); }

    // The handler of custom failures reported under `name` (a name handler
    // also wins over the type's handler for an event of another type that
    // carries its name). Replaces an earlier one.
    void on(std::string name, FailureHandler handler) {
        if (name.empty()) throw std::invalid_argument("strata: RecoveryOrchestrator::on: the name is empty");
        if (!handler) throw std::invalid_argument("strata: RecoveryOrchestrator::on: the handler is empty");
        ledger_.set_handler(std::move(name), std::move(handler));
    }

    // The handler of a class of failures (for custom: those whose name has
    // no handler of its own). Replaces an earlier one.
    void on(FailureType type, FailureHandler handler) {
        if (!handler) throw std::invalid_argument("strata: RecoveryOrchestrator::on: the handler is empty");
        ledger_.set_handler(type, std::move(handler));
    }

    // Where a durable tier that came back without what it held is restored
    // from: a Checkpointer or a BackupManager, which must outlive the
    // orchestrator. The newest verified point over every source is used.
    template <RestoreSource S>
    void use(S& source) {
        sources_->add(source);
    }

    // Reads every copy in every tier in batches and repairs the corrupt ones
    // from valid copies (StateManager::scrub). Corruption found opens a
    // data_corruption incident, whose built-in handler scrubs again and
    // escalates, listing them, while copies cannot be saved.
    ScrubReport scrub()
        requires detail::recovery::RepairableManager<M>
    {
        auto found = mgr_.scrub();
        if (found.corrupt > 0) {
            std::lock_guard lock(watch_mutex_);
            corruption_incident_ = report(scrub_event(found));
        }
        return found;
    }

    // Opens an incident for `event` and queues its handler; returns at once.
    // The future holds the incident once it is recovered or escalated (or
    // as it stands if the orchestrator is destroyed first).
    std::shared_future<Incident> report(FailureEvent event) {
        if (event.type == FailureType::custom && event.name.empty())
            throw std::invalid_argument("strata: RecoveryOrchestrator::report: a custom failure needs a name");
        if (event.tier_index && *event.tier_index >= tier_count)
            throw std::invalid_argument("strata: RecoveryOrchestrator::report: tier_index is out of range");
        auto opened = ledger_.open_reported(std::move(event));
        runner_.enqueue(std::move(opened.id));
        return opened.done;
    }

    // Runs one probe round now (after a round in progress, if any) and
    // returns what it found; takes at most about one probe deadline.
    HealthReport check() { return apply(*probes_.run(false)); }

    // Runs a round every probe_interval on a thread; std::logic_error when
    // already running. A loop that stop() was told to end from its own
    // thread is joined here first.
    void start() {
        std::lock_guard control(control_mutex_);
        if (loop_.joinable()) {
            if (on_loop_thread() || !probes_.loop_stopping())
                throw std::logic_error("strata: RecoveryOrchestrator::start: already running");
            join_loop();
        }
        probes_.allow_loop();
        loop_ = std::thread([this] { probe_loop(); });
    }

    // Ends the probe thread; returns within one probe deadline (a round cut
    // short is discarded, never counted as failures). Handlers queued or
    // running go on. Safe to call when not running.
    //
    // Called on the probe thread itself (on_escalation for a tier past its
    // RTO target runs there), it tells the loop to stop and returns at once:
    // the loop ends when the callback returns, and the next start() or
    // stop() on another thread, or the destructor, joins it. Joining there
    // would wait for itself, and taking control_mutex_ would wait for a
    // stop() on another thread that is waiting for this one.
    void stop() {
        if (on_loop_thread()) return probes_.stop_loop();
        std::lock_guard control(control_mutex_);
        probes_.stop_loop();
        if (loop_.joinable()) join_loop();
    }

    // The last round's report, without probing (round 0: none ran yet).
    HealthReport last_report() const { return ledger_.last_report(); }

    RecoveryStats stats() const { return ledger_.stats(); }

    const RecoveryOptions& options() const noexcept { return options_; }

private:
    void probe_loop() {
        loop_thread_ = std::this_thread::get_id();
        for (;;) {
            const auto next = std::chrono::steady_clock::now() + options_.probe_interval;
            auto round = probes_.run(true);
            if (!round) return;
            apply(*round);
            if (!probes_.wait_for_next(next)) return;
        }
    }

    static constexpr bool repairable = detail::recovery::RepairableManager<M>;
    using Builtins = std::conditional_t<repairable, detail::recovery::BuiltinHandlers<M>, int>;

    // The built-in handlers, as if registered with on(type, ...): a user's
    // own replaces them.
    void register_builtins() {
        builtins_ = std::make_shared<Builtins>(mgr_, options_, sources_);
        auto bind = [b = builtins_](bool (Builtins::*handler)(const FailureEvent&)) {
            return [b, handler](const FailureEvent& e) { return ((*b).*handler)(e); };
        };
        ledger_.set_handler(FailureType::tier_down, bind(&Builtins::tier_returned));
        ledger_.set_handler(FailureType::data_corruption, bind(&Builtins::corruption));
        ledger_.set_handler(FailureType::memory_pressure, bind(&Builtins::memory_pressure));
        ledger_.set_handler(FailureType::disk_full, bind(&Builtins::disk_full));
    }

    // What the orchestrator cannot know of a hot tier it has just met: it
    // may hold copies older than the durable tier's (a Redis restored from
    // an old snapshot while no process ran). Passed over until reconciled.
    void reconcile_hot_tiers() {
        std::vector<std::size_t> hot;
        for (std::size_t i = 0; i < tier_count; ++i)
            if (mgr_.coverable(i)) hot.push_back(i);
        if (hot.empty()) return;
        for (const auto i : hot) mgr_.quarantine(i);
        startup_ = std::make_unique<detail::recovery::RetryThread>(
            [this, hot] {
                for (const auto i : hot)
                    if (mgr_.quarantined(i)) mgr_.reconcile(i);  // one reconciled by a handler meanwhile is done
                return true;
            },
            options_.backoff, options_.max_backoff);
    }

    static FailureEvent scrub_event(const ScrubReport& found) {
        return FailureEvent{.type = FailureType::data_corruption,
                            .name = {},
                            .tier = {},
                            .tier_index = std::nullopt,
                            .detail = std::to_string(found.corrupt) + " corrupt copies found by a scrub, " +
                                      std::to_string(found.repaired) + " repaired, " +
                                      std::to_string(found.lost.size()) + " without a valid copy"};
    }

    // Failures a round shows besides the tiers' own: the process over its
    // memory limit, or reads that met corrupt copies since the last round.
    // One incident of each at a time.
    void watch(const std::vector<TierHealth>& tiers) {
        std::uint64_t corrupt = 0;
        for (const auto& t : tiers) corrupt += t.corrupt;
        std::lock_guard lock(watch_mutex_);
        const auto open = [](std::optional<std::shared_future<Incident>>& f) {
            if (f && f->wait_for(std::chrono::seconds{0}) == std::future_status::ready) f.reset();
            return f.has_value();
        };
        // A scrub's own finds are not new: until the round after its
        // incident ended, what the counters add is its.
        const bool scrubbing = corruption_incident_.has_value();
        open(corruption_incident_);
        if (scrubbing || corrupt <= seen_corrupt_) {
            seen_corrupt_ = corrupt;
        } else {
            seen_corrupt_ = corrupt;
            corruption_incident_ = report({.type = FailureType::data_corruption,
                                           .name = {},
                                           .tier = {},
                                           .tier_index = std::nullopt,
                                           .detail = "reads met corrupt copies since the last probe round"});
        }
        if (options_.memory_limit && !open(memory_incident_)) {
            const auto used = options_.memory_usage();
            if (used > options_.memory_limit)
                memory_incident_ = report({.type = FailureType::memory_pressure,
                                           .name = {},
                                           .tier = {},
                                           .tier_index = std::nullopt,
                                           .detail = "the process uses " + std::to_string(used) +
                                                     " bytes, over the limit of " +
                                                     std::to_string(options_.memory_limit)});
        }
    }

    // Records a round and acts on what changed, outside the ledger's lock:
    // tiers that went down or came back reset quarantined (reads pass over
    // a hot tier until it is reconciled), handlers queued, tiers past their
    // RTO target escalated.
    HealthReport apply(const typename Probes::Round& round) {
        const auto health = mgr_.health();
        std::vector<TierHealth> tiers;
        tiers.reserve(tier_count);
        for (std::size_t i = 0; i < tier_count; ++i) tiers.push_back(health[i]);
        auto effects = ledger_.record_round(round.outcomes, tiers, round.number);
        if constexpr (repairable)
            for (const auto i : effects.suspect)
                if (mgr_.coverable(i)) mgr_.quarantine(i);
        for (auto& id : effects.to_handle) runner_.enqueue(std::move(id));
        for (const auto& id : effects.to_escalate)
            ledger_.escalate(id, "the tier was still down when the RTO target of " +
                                     detail::recovery::duration_text(options_.rto_target) +
                                     " had passed since detection");
        if constexpr (repairable) watch(tiers);
        return std::move(effects.report);
    }

    bool on_loop_thread() const { return loop_thread_.load() == std::this_thread::get_id(); }

    // Holds control_mutex_. The id is cleared once the thread is gone,
    // since a later thread may be given the same one.
    void join_loop() {
        loop_.join();
        loop_thread_ = std::thread::id{};
    }

    M& mgr_;
    const RecoveryOptions options_;
    const std::shared_ptr<detail::recovery::RestoreSources> sources_ =
        std::make_shared<detail::recovery::RestoreSources>();
    std::shared_ptr<Builtins> builtins_;
    detail::recovery::IncidentLedger ledger_;  // before the threads that use it, so it ends after them
    Probes probes_;
    detail::recovery::HandlerRunner runner_;
    std::unique_ptr<detail::recovery::RetryThread> startup_;  // after what it uses, so it ends first

    std::mutex watch_mutex_;  // the two incidents watch() keeps one of, and what reads had met
    std::optional<std::shared_future<Incident>> corruption_incident_, memory_incident_;
    std::uint64_t seen_corrupt_ = 0;

    std::mutex control_mutex_;  // start and stop
    std::thread loop_;
    // Set by the loop thread itself as it starts, so stop() knows its own
    // thread from its first round on.
    std::atomic<std::thread::id> loop_thread_{};
};

template <class M>
RecoveryOrchestrator(M&) -> RecoveryOrchestrator<M>;
template <class M>
RecoveryOrchestrator(M&, RecoveryOptions) -> RecoveryOrchestrator<M>;

}  // namespace strata
