#pragma once

#include <optional>
#include <string>

#include "strata/backup/backup_info.hpp"
#include "strata/backup/backup_manager.hpp"
#include "strata/metrics/metric_family.hpp"  // unix_seconds, metric_seconds

// A BackupManager's figures: what it did since it was made, and what its
// store holds now (read at collection, as stats() reads it; left out, with
// strata_backup_store_up 0, when the store does not answer).
namespace strata {

namespace detail {

// What this BackupManager did since it was made.
inline void add_backup_counters(const BackupStats& s, MetricFamilies& out) {
    for (std::size_t i = 0; i < backup_types.size(); ++i) {
        const std::vector<MetricLabel> type{{"type", std::string(to_string(backup_types[i]))}};
        out.add("strata_backups_created_total", "Backups this process created, by type.", MetricType::counter, type,
                static_cast<double>(s.created[i]));
        if (s.last_success[i])
            out.add("strata_backup_last_success_timestamp_seconds", "When this process last created a backup, by type.",
                    MetricType::gauge, type, unix_seconds(*s.last_success[i]));
    }
    const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        out.add(name, help, MetricType::counter, {}, static_cast<double>(v));
    };
    counter("strata_backup_failures_total", "Backups that failed to be created.", s.failures);
    counter("strata_backup_restores_total", "Restores from a backup that were applied.", s.restores);
    counter("strata_backup_refused_restores_total", "Restores refused before anything changed (damage, broken chain, wrong key).",
            s.refused_restores);
    counter("strata_backup_verify_failures_total", "Backups that failed verification.", s.verify_failures);
    counter("strata_backups_removed_total", "Backups removed (retention or by hand).", s.removed);
    out.add("strata_backup_last_duration_seconds", "How long the last backup took to create.", MetricType::gauge, {},
            metric_seconds(s.last_duration));
    if (s.last_test_restore) {
        out.add("strata_backup_last_test_restore_success", "1 if the last test restore rebuilt every key, else 0.",
                MetricType::gauge, {}, s.last_test_restore->ok ? 1 : 0);
        out.add("strata_backup_last_test_restore_keys", "Keys the last test restore rebuilt.", MetricType::gauge, {},
                static_cast<double>(s.last_test_restore->keys));
    }
}

}  // namespace detail

template <class M, class S>
void collect_metrics(BackupManager<M, S>& backups, MetricFamilies& out) {
    std::optional<BackupStats> stats;
    try {
        stats = backups.stats();
    } catch (...) {  // the store did not answer: what this process did is still known
    }
    out.add("strata_backup_store_up", "1 if the backup store answered at collection, else 0.", MetricType::gauge, {},
            stats ? 1 : 0);
    if (stats) {
        out.add("strata_backups_stored", "Backups the store holds.", MetricType::gauge, {},
                static_cast<double>(stats->backups));
        out.add("strata_backup_stored_bytes", "Bytes the store holds in backups.", MetricType::gauge, {},
                static_cast<double>(stats->stored_bytes));
    }
    detail::add_backup_counters(stats ? *stats : backups.counters(), out);
}

}  // namespace strata
