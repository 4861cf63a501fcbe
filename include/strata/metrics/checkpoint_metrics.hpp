#pragma once

#include <optional>
#include <string>

#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/metrics/metric_family.hpp"  // unix_seconds, metric_seconds

// A Checkpointer's figures: what its store holds now (read at collection,
// as stats() reads it; left out, with strata_checkpoint_store_up 0, when the
// store does not answer) and what this Checkpointer did since it was made.
namespace strata {

namespace detail {

// What the store holds, as stats() read it at collection.
inline void add_checkpoint_store_figures(const CheckpointStats& s, Clock::time_point now, MetricFamilies& out) {
    for (std::size_t i = 0; i < checkpoint_types.size(); ++i)
        out.add("strata_checkpoints_stored", "Checkpoints the store holds, by type.", MetricType::gauge,
                {{"type", std::string(to_string(checkpoint_types[i]))}}, static_cast<double>(s.by_type[i]));
    out.add("strata_checkpoints_unreadable", "Checkpoints the store holds whose summary does not parse.",
            MetricType::gauge, {}, static_cast<double>(s.unreadable));
    out.add("strata_checkpoint_stored_bytes", "Bytes the store holds in checkpoints, compressed.", MetricType::gauge,
            {}, static_cast<double>(s.stored_bytes));
    if (s.newest)
        out.add("strata_checkpoint_newest_age_seconds", "Age of the newest checkpoint the store holds.",
                MetricType::gauge, {}, metric_seconds(now - *s.newest));
}

// What this Checkpointer did since it was made.
inline void add_checkpointer_counters(const CheckpointStats& s, MetricFamilies& out) {
    const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        out.add(name, help, MetricType::counter, {}, static_cast<double>(v));
    };
    counter("strata_checkpoints_created_total", "Checkpoints this process created.", s.created);
    counter("strata_checkpoint_failures_total", "Checkpoint captures that failed.", s.failed_captures);
    counter("strata_checkpoint_rollbacks_total", "Rollbacks to a checkpoint that were applied.", s.rollbacks);
    counter("strata_checkpoint_refused_rollbacks_total", "Rollbacks refused before anything changed.",
            s.refused_rollbacks);
    counter("strata_checkpoint_verify_failures_total", "Checkpoints that failed verification.", s.verify_failures);
    counter("strata_checkpoints_removed_total", "Checkpoints removed (retention or by hand).", s.removed);
    if (s.last_created)
        out.add("strata_checkpoint_last_success_timestamp_seconds", "When this process last created a checkpoint.",
                MetricType::gauge, {}, unix_seconds(s.last_created->created_at));
}

}  // namespace detail

template <class M, class S>
void collect_metrics(Checkpointer<M, S>& checkpointer, MetricFamilies& out) {
    std::optional<CheckpointStats> stats;
    try {
        stats = checkpointer.stats();
    } catch (...) {  // the store did not answer: what this process did is still known
    }
    out.add("strata_checkpoint_store_up", "1 if the checkpoint store answered at collection, else 0.",
            MetricType::gauge, {}, stats ? 1 : 0);
    if (stats) detail::add_checkpoint_store_figures(*stats, Clock::now(), out);
    detail::add_checkpointer_counters(stats ? *stats : checkpointer.counters(), out);
}

}  // namespace strata
