#pragma once

#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <type_traits>  // remove_reference_t
#include <utility>      // index_sequence
#include <vector>

#include "strata/cache/cache_policy.hpp"  // CacheCountsEvictions
#include "strata/core/tier.hpp"           // TierStats
#include "strata/manager/state_manager.hpp"
#include "strata/metrics/metric_family.hpp"

// A StateManager's figures: what health() and cache_health() count, each
// tier's keys and bytes (tier_stats(): read at most every
// ManagerOptions::tier_stats_max_age), and the figures of every
// tier that is itself a source (an Instrumented<T>), so
// write_prometheus(out, mgr) holds the per-operation figures too.
namespace strata {

namespace detail {

inline void add_tier_health(const TierHealth& h, bool quarantined, MetricFamilies& out) {
    const auto tier = [&] { return std::vector<MetricLabel>{{"tier", h.name}}; };
    const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        out.add(name, help, MetricType::counter, tier(), static_cast<double>(v));
    };
    counter("strata_tier_hits_total", "Reads through the manager answered by this tier.", h.hits);
    counter("strata_tier_misses_total", "Reads through the manager this tier did not hold.", h.misses);
    counter("strata_tier_failures_total", "Calls from the manager to this tier that threw.", h.failures);
    counter("strata_tier_corrupt_copies_total", "Copies in this tier whose checksum did not match.", h.corrupt);
    counter("strata_tier_repairs_total", "Corrupt copies in this tier overwritten with a valid one.", h.repairs);
    counter("strata_tier_promotions_total", "Records copied into this tier by promotion.", h.promotions);
    counter("strata_tier_demotions_total", "Records moved down into this tier.", h.demotions);
    out.add("strata_tier_stale_keys", "Keys skipped in this tier until a failed write to it is undone.",
            MetricType::gauge, tier(), static_cast<double>(h.stale_keys));
    out.add("strata_tier_up", "1 if the manager's last call to this tier succeeded, else 0.", MetricType::gauge,
            tier(), h.last_call_ok ? 1 : 0);
    out.add("strata_tier_quarantined", "1 while recovery keeps reads away from this tier, else 0.",
            MetricType::gauge, tier(), quarantined ? 1 : 0);
    if (h.last_success)
        out.add("strata_tier_last_success_timestamp_seconds", "When a call to this tier last succeeded.",
                MetricType::gauge, tier(), unix_seconds(*h.last_success));
    if (h.last_failure)
        out.add("strata_tier_last_failure_timestamp_seconds", "When a call to this tier last failed.",
                MetricType::gauge, tier(), unix_seconds(*h.last_failure));
}

// Keys and bytes as the tier counts them (no older than the manager's
// tier_stats_max_age). A tier that cannot say (down, or stats() failed) has
// no sample rather than a wrong one; the exposition goes on.
template <class Manager>
void add_tier_stats(Manager& mgr, std::size_t i, const std::string& name, MetricFamilies& out) {
    const auto stats = mgr.tier_stats(i);
    if (!stats) return;
    out.add("strata_tier_keys", "Keys the tier holds, as its stats() last counted them.", MetricType::gauge,
            {{"tier", name}}, static_cast<double>(stats->keys));
    out.add("strata_tier_stored_bytes", "Bytes the tier holds, as its stats() last counted them.",
            MetricType::gauge, {{"tier", name}}, static_cast<double>(stats->bytes));
}

template <class Manager, std::size_t... I>
void add_tiers(Manager& mgr, MetricFamilies& out, std::index_sequence<I...>) {
    const auto health = mgr.health();
    (add_tier_health(health[I], mgr.quarantined(I), out), ...);
    (add_tier_stats(mgr, I, health[I].name, out), ...);
    const auto instrumented = [&out](auto& tier) {
        if constexpr (MetricSource<std::remove_reference_t<decltype(tier)>>) collect_metrics(tier, out);
    };
    (instrumented(mgr.template tier<I>()), ...);
}

}  // namespace detail

template <class C, class P, class... Ts>
void collect_metrics(StateManager<C, P, Ts...>& mgr, MetricFamilies& out) {
    detail::add_tiers(mgr, out, std::index_sequence_for<Ts...>{});
    const CacheHealth cache = mgr.cache_health();
    out.add("strata_cache_hits_total", "Reads through the manager answered by its cache.", MetricType::counter, {},
            static_cast<double>(cache.hits));
    out.add("strata_cache_misses_total", "Reads through the manager that went past its cache to the tiers.",
            MetricType::counter, {}, static_cast<double>(cache.misses));
    out.add("strata_cache_entries", "Entries the manager's cache holds.", MetricType::gauge, {},
            static_cast<double>(cache.size));
    out.add("strata_cache_capacity_entries", "Entries the manager's cache may hold.", MetricType::gauge, {},
            static_cast<double>(cache.capacity));
    if constexpr (CacheCountsEvictions<C>)
        out.add("strata_cache_evictions_total", "Entries the manager's cache dropped to make room.",
                MetricType::counter, {}, static_cast<double>(mgr.cache().evictions()));
}

}  // namespace strata
