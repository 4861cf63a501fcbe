#pragma once

#include <array>
#include <string>

#include "strata/metrics/metric_family.hpp"  // unix_seconds, metric_seconds
#include "strata/recovery/health_report.hpp"
#include "strata/recovery/incident.hpp"
#include "strata/recovery/recovery_orchestrator.hpp"

// A RecoveryOrchestrator's figures: its incidents since it was made, and each
// tier as the last probe round saw it. Collecting never probes: the report
// is the last round's (last_report()).
namespace strata {

namespace detail {

inline void add_recovery_stats(const RecoveryStats& s, MetricFamilies& out) {
    const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        out.add(name, help, MetricType::counter, {}, static_cast<double>(v));
    };
    counter("strata_recovery_rounds_total", "Probe rounds run.", s.rounds);
    counter("strata_recovery_incidents_total", "Incidents opened.", s.incidents);
    counter("strata_recovery_incidents_recovered_total", "Incidents that ended recovered.", s.recovered);
    counter("strata_recovery_incidents_escalated_total", "Incidents handed to a person.", s.escalated);
    counter("strata_recovery_rto_misses_total", "Incidents over the RTO target.", s.rto_misses);
    counter("strata_recovery_rpo_misses_total", "Incidents over the RPO target.", s.rpo_misses);
    const auto duration = [&](std::string_view name, std::string_view help, const std::optional<Clock::duration>& d) {
        if (d) out.add(name, help, MetricType::gauge, {}, metric_seconds(*d));
    };
    duration("strata_recovery_last_rto_seconds", "Detection to healthy again, for the last incident that ended so.",
             s.last_rto);
    duration("strata_recovery_worst_rto_seconds", "The longest detection to healthy again so far.", s.worst_rto);
    duration("strata_recovery_last_rpo_seconds", "Age of the newest acknowledged write lost, last incident.",
             s.last_rpo);
    std::array<std::size_t, failure_type_count> open{};
    for (const auto& incident : s.open) ++open[static_cast<std::size_t>(incident.event.type)];
    for (std::size_t t = 0; t < failure_type_count; ++t)
        out.add("strata_recovery_open_incidents", "Incidents not finished yet, by failure type.", MetricType::gauge,
                {{"type", std::string(to_string(static_cast<FailureType>(t)))}}, static_cast<double>(open[t]));
    // Meaningless before an incident ended: no sample rather than 0 or NaN.
    if (s.recovered + s.escalated > 0)
        out.add("strata_recovery_success_ratio", "Share of finished incidents that ended recovered.",
                MetricType::gauge, {}, static_cast<double>(s.recovered) / static_cast<double>(s.recovered + s.escalated));
}

// Tiers the last round probed; one not probed yet has no sample.
inline void add_probe_report(const HealthReport& report, MetricFamilies& out) {
    for (const auto& t : report.tiers) {
        if (!t.probed) continue;
        const std::vector<MetricLabel> tier{{"tier", t.name}};
        out.add("strata_recovery_tier_up", "1 if the tier answers probes (down after failure_threshold failed rounds).",
                MetricType::gauge, tier, t.up ? 1 : 0);
        out.add("strata_recovery_tier_consecutive_failures", "Probe rounds in a row the tier failed.",
                MetricType::gauge, tier, t.consecutive_failures);
        out.add("strata_recovery_probe_duration_seconds", "How long the tier's last probe took.", MetricType::gauge,
                tier, metric_seconds(t.probe_latency));
    }
}

}  // namespace detail

template <class M>
void collect_metrics(const RecoveryOrchestrator<M>& recovery, MetricFamilies& out) {
    detail::add_recovery_stats(recovery.stats(), out);
    detail::add_probe_report(recovery.last_report(), out);
}

}  // namespace strata
