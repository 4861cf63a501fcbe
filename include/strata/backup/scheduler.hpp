#pragma once

#include <algorithm>  // clamp, min
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>  // invalid_argument, logic_error
#include <string>
#include <string_view>
#include <thread>
#include <utility>  // move
#include <vector>

#include "strata/backup/backup_info.hpp"
#include "strata/core/cron.hpp"
#include "strata/core/record.hpp"  // Clock

namespace strata {

// When each kind of backup runs, in cron syntax (UTC, see CronExpression);
// empty: not scheduled. test_restore checks the newest backup.
//
//     strata::BackupSchedule{.full = "0 0 * * *", .differential = "0 */6 * * *", .incremental = "* * * * *"}
// (Each member has an initializer, so a schedule naming only some of them
// builds without -Wmissing-field-initializers.)
struct BackupSchedule {
    std::string full{};
    std::string differential{};
    std::string incremental{};
    std::string snapshot{};
    std::string test_restore{};
};

// In the order jobs due together run: a full first, so the differential and
// incremental of the same instant find nothing left to do.
enum class ScheduledJob { full, differential, incremental, snapshot, test_restore };

inline constexpr std::array scheduled_jobs{ScheduledJob::full, ScheduledJob::differential, ScheduledJob::incremental,
                                           ScheduledJob::snapshot, ScheduledJob::test_restore};

constexpr std::string_view to_string(ScheduledJob j) noexcept {
    switch (j) {
        case ScheduledJob::full: return "full";
        case ScheduledJob::differential: return "differential";
        case ScheduledJob::incremental: return "incremental";
        case ScheduledJob::snapshot: return "snapshot";
        case ScheduledJob::test_restore: return "test_restore";
    }
    return "unknown";
}

struct ScheduledRun {
    ScheduledJob job = ScheduledJob::full;
    Clock::time_point due{};  // the slot it ran for; Clock::time_point::min() for a job never run before
    std::string id{};         // the backup made or tested; empty when none
    bool ok = false;
    std::string error{};  // why not ok
};

struct ScheduleStats {
    std::uint64_t runs = 0;
    std::uint64_t failures = 0;  // runs that threw or test restores that found a problem
    std::optional<ScheduledRun> last_failure;
};

struct BackupSchedulerOptions {
    // The longest the thread sleeps before it reads the clock again, so a
    // clock that steps (or a test's clock) is seen within it.
    Clock::duration recheck = std::chrono::minutes{1};
    // Called after each scheduled run, on the thread that ran it.
    std::function<void(const ScheduledRun&)> on_run;
};

namespace detail::backup {

// Whether a backup of `type` already did the work of `job`: any backup holds
// the changes an incremental would, a full, snapshot or emergency those a
// differential would.
constexpr bool covers(BackupType type, ScheduledJob job) noexcept {
    switch (job) {
        case ScheduledJob::full: return type == BackupType::full;
        case ScheduledJob::differential: return type == BackupType::differential || is_base(type);
        case ScheduledJob::incremental: return true;
        case ScheduledJob::snapshot: return type == BackupType::snapshot;
        case ScheduledJob::test_restore: break;
    }
    return false;
}

constexpr BackupType backup_type_of(ScheduledJob job) noexcept {
    switch (job) {
        case ScheduledJob::differential: return BackupType::differential;
        case ScheduledJob::incremental: return BackupType::incremental;
        case ScheduledJob::snapshot: return BackupType::snapshot;
        case ScheduledJob::full:
        case ScheduledJob::test_restore: break;
    }
    return BackupType::full;
}

}  // namespace detail::backup

// Runs a BackupManager's backups (of the tiers Selectors name, all if none)
// on a BackupSchedule: run_due(now) when the caller drives, or start() for a
// thread that sleeps until the next due time. A job is due when its
// expression's next time after its last run has come; the last run comes
// from the store (the newest backup that did the job's work), so after a
// restart a run missed while the process was down runs once, not once per
// missed slot. A failed run is counted and retried at the job's next time;
// it never ends the thread.
template <class B, class... Selectors>
class BackupScheduler {
    static constexpr std::size_t jobs = scheduled_jobs.size();
    using Times = std::array<std::optional<Clock::time_point>, jobs>;

public:
    BackupScheduler(B& backups, const BackupSchedule& schedule, BackupSchedulerOptions options = {})
        : backups_(backups), options_(std::move(options)) {
        const std::array<const std::string*, jobs> text{&schedule.full, &schedule.differential, &schedule.incremental,
                                                        &schedule.snapshot, &schedule.test_restore};
        for (std::size_t j = 0; j < jobs; ++j) {
            if (text[j]->empty()) continue;
            try {
                cron_[j] = CronExpression::parse(*text[j]);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument("strata: BackupSchedule::" + std::string(to_string(scheduled_jobs[j])) +
                                            ": " + e.what());
            }
            if (!cron_[j]->next_after(Clock::time_point{}))
                throw std::invalid_argument("strata: BackupSchedule::" + std::string(to_string(scheduled_jobs[j])) +
                                            ": '" + *text[j] + "' never matches a date");
        }
    }
    BackupScheduler(const BackupScheduler&) = delete;
    BackupScheduler& operator=(const BackupScheduler&) = delete;
    ~BackupScheduler() { stop(); }

    // Runs every job due at `now`, each once, full first; returns what ran.
    // Reads every manifest (list()) to learn the last runs.
    std::vector<ScheduledRun> run_due(Clock::time_point now) {
        std::lock_guard lock(run_mutex_);
        Times last = last_from_store();
        std::vector<ScheduledRun> ran;
        for (std::size_t j = 0; j < jobs; ++j) {
            const auto due = due_at(j, last);
            if (!due || *due > now) continue;
            ran.push_back(run(scheduled_jobs[j], *due, last));
            // Failed or not, the next try waits for the next slot.
            attempted_[j] = now;
        }
        next_ = earliest_due(last);
        return ran;
    }

    // The next time a job falls due, as of the last run_due; nullopt before
    // the first or when nothing is scheduled.
    std::optional<Clock::time_point> next_due() {
        std::lock_guard lock(run_mutex_);
        return next_;
    }

    // Starts the thread; it runs whatever is due at once. std::logic_error
    // when already started.
    void start() {
        std::lock_guard control(control_mutex_);
        if (thread_.joinable()) throw std::logic_error("strata: BackupScheduler::start: already running");
        {
            std::lock_guard lock(wait_mutex_);
            stopping_ = false;
        }
        thread_ = std::thread([this] { loop(); });
    }

    // Wakes the thread and waits for it: at most for a run in progress,
    // never for the rest of a sleep.
    void stop() {
        std::lock_guard control(control_mutex_);
        {
            std::lock_guard lock(wait_mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    ScheduleStats stats() {
        std::lock_guard lock(stats_mutex_);
        return stats_;
    }

private:
    void loop() {
        std::unique_lock lock(wait_mutex_);
        while (!stopping_) {
            lock.unlock();
            const auto now = backups_.options().clock();
            std::optional<Clock::time_point> next = next_due();
            if (!next || *next <= now) {
                run_due(now);
                next = next_due();
            }
            const auto wait = next ? std::clamp(*next - backups_.options().clock(), Clock::duration::zero(), options_.recheck)
                                   : options_.recheck;
            lock.lock();
            wake_.wait_for(lock, wait, [this] { return stopping_; });
        }
    }

    // Per job, the creation time of the newest listed backup that did its
    // work (test restores leave no backup: only this process's are known).
    Times last_from_store() {
        Times last{};
        for (const auto& b : backups_.list()) note(last, b);
        return last;
    }

    static void note(Times& last, const BackupInfo& b) {
        for (std::size_t j = 0; j < jobs; ++j)
            if (detail::backup::covers(b.type, scheduled_jobs[j]) && (!last[j] || *last[j] < b.created_at))
                last[j] = b.created_at;
    }

    // A job never run is due at once.
    std::optional<Clock::time_point> due_at(std::size_t j, const Times& last) const {
        if (!cron_[j]) return std::nullopt;
        std::optional<Clock::time_point> after = last[j];
        if (attempted_[j] && (!after || *after < *attempted_[j])) after = attempted_[j];
        if (!after) return Clock::time_point::min();
        return cron_[j]->next_after(*after);
    }

    std::optional<Clock::time_point> earliest_due(const Times& last) const {
        std::optional<Clock::time_point> first;
        for (std::size_t j = 0; j < jobs; ++j)
            if (const auto due = due_at(j, last); due && (!first || *due < *first)) first = due;
        return first;
    }

    ScheduledRun run(ScheduledJob job, Clock::time_point due, Times& last) {
        ScheduledRun r{.job = job, .due = due};
        try {
            if (job == ScheduledJob::test_restore) {
                // The newest id, not the newest of list(): list() passes over
                // a backup whose manifest is damaged, and that one must fail.
                const auto ids = backups_.store().ids();
                if (ids.empty()) {
                    r.error = "no backup to test";
                } else {
                    const auto report = backups_.test_restore(ids.back());
                    r.id = report.id;
                    r.ok = report.ok;
                    r.error = report.problem;
                }
            } else {
                const BackupInfo made = backups_.template create<Selectors...>(detail::backup::backup_type_of(job));
                r.id = made.id;
                r.ok = true;
                note(last, made);
            }
        } catch (const std::exception& e) {
            r.error = e.what();
        } catch (...) {
            r.error = "an exception that is not a std::exception";
        }
        {
            std::lock_guard lock(stats_mutex_);
            ++stats_.runs;
            if (!r.ok) {
                ++stats_.failures;
                stats_.last_failure = r;
            }
        }
        if (options_.on_run) options_.on_run(r);
        return r;
    }

    B& backups_;
    BackupSchedulerOptions options_;
    std::array<std::optional<CronExpression>, jobs> cron_{};

    std::mutex run_mutex_;  // one run_due at a time; guards what follows
    Times attempted_{};
    std::optional<Clock::time_point> next_;

    std::mutex stats_mutex_;
    ScheduleStats stats_;

    std::mutex control_mutex_;  // start and stop
    std::mutex wait_mutex_;     // guards stopping_
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

template <class B>
BackupScheduler(B&, const BackupSchedule&) -> BackupScheduler<B>;
template <class B>
BackupScheduler(B&, const BackupSchedule&, BackupSchedulerOptions) -> BackupScheduler<B>;

}  // namespace strata
