#pragma once

#include <algorithm>  // min
#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <memory>   // shared_ptr
#include <optional>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>  // declval, move
#include <vector>

#if defined(__GLIBC__)  // defined by the standard headers above
#include <malloc.h>  // malloc_trim
#endif

#include "strata/cache/cache_policy.hpp"
#include "strata/core/error.hpp"
#include "strata/core/tier_set.hpp"
#include "strata/core/where.hpp"
#include "strata/manager/options.hpp"  // SetOptions
#include "strata/checkpoint/checkpoint_info.hpp"  // RestoreScope
#include "strata/recovery/detail/restore_sources.hpp"
#include "strata/recovery/failure.hpp"
#include "strata/recovery/recovery_options.hpp"

namespace strata::detail::recovery {

// What the built-in handlers need of a manager beyond RecoveryTarget;
// StateManager has it all. A manager without it gets no built-in handlers.
template <class M>
concept RepairableManager = requires(M& m, std::size_t i, std::span<const std::string> keys) {
    m.quarantine(i);
    { m.quarantined(i) } -> std::convertible_to<bool>;
    { m.coverable(i) } -> std::convertible_to<bool>;
    { m.write_through_of(i) } -> std::same_as<std::optional<std::size_t>>;
    m.reconcile(i);
    { m.warm(i, keys) } -> std::convertible_to<std::size_t>;
    m.scrub();
    m.invalidate_cache();
    m.sweep_expired();
    m.write_back(i);
    { m.acknowledged_version() } -> std::convertible_to<std::uint64_t>;
    m.set(std::string_view{}, std::string_view{}, SetOptions{});
    m.erase(std::string_view{});
    { m.options().write_through } -> std::convertible_to<bool>;
    m.cache();
};

template <class Set>
struct tier_flags;
template <class... Ts>
struct tier_flags<TierSet<Ts...>> {
    static constexpr std::size_t count = sizeof...(Ts);
    static constexpr std::array<bool, count> durable{Ts::durable...};
    static constexpr std::optional<std::size_t> first_durable = [] {
        for (std::size_t i = 0; i < count; ++i)
            if (durable[i]) return std::optional<std::size_t>(i);
        return std::optional<std::size_t>();
    }();
};

// The handlers RecoveryOrchestrator registers for the failure classes it
// knows; each returns true when done and throws strata::Error saying why
// when it cannot be (the orchestrator retries, then escalates).
template <RepairableManager M>
class BuiltinHandlers {
    using Set = std::remove_cvref_t<decltype(std::declval<M&>().tiers())>;
    using Flags = tier_flags<Set>;

public:
    // Held by shared_ptr in each handler: an attempt abandoned after its
    // timeout may outlive the orchestrator (never the manager).
    BuiltinHandlers(M& mgr, RecoveryOptions options, std::shared_ptr<const RestoreSources> sources)
        : mgr_(mgr), options_(std::move(options)), sources_(std::move(sources)) {}

    // A tier that answers again. A hot tier is reconciled before it serves
    // again and re-warmed; a durable tier that came back without what it
    // held is restored from the newest verified checkpoint or backup. Then
    // every tier still quarantined (marks unread at start) is reconciled.
    bool tier_returned(const FailureEvent& e) {
        const std::size_t i = e.tier_index.value_or(Flags::count);
        if (mgr_.coverable(i)) {
            mgr_.reconcile(i);
            rewarm(i);
        } else if (i < Flags::count && Flags::durable[i] && e.tier_reset) {
            restore(e, i);
        }
        for (std::size_t j = 0; j < Flags::count; ++j)
            if (mgr_.coverable(j) && mgr_.quarantined(j)) mgr_.reconcile(j);
        return true;
    }

    // Reads found corrupt copies, or a scrub did: scrub every tier. Keys
    // with no valid copy provably as new are restored from the newest
    // verified checkpoint that holds them (written through the manager, so
    // they are the newest; the incident's RPO is that checkpoint's age),
    // and the tiers scrubbed again. Fails, naming them, for keys no
    // checkpoint holds.
    bool corruption(const FailureEvent& e) {
        auto report = mgr_.scrub();
        if (report.lost.empty()) return true;
        std::set<std::string> keys;
        for (const auto& l : report.lost) keys.insert(l.key);
        std::vector<std::string> errors;
        if (auto found = sources_->newest_records(keys, errors)) {
            const auto now = Clock::now();
            for (const auto& [key, record] : found->records) {
                if (record.expired(now)) {
                    mgr_.erase(key);
                    continue;
                }
                SetOptions opts;
                if (record.expires_at)
                    opts.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(*record.expires_at - now) +
                               std::chrono::milliseconds{1};
                mgr_.set(key, record.value, opts);
            }
            if (!found->records.empty())
                e.data_lost = std::max(e.data_lost.value_or(Clock::duration::zero()),
                                       e.detected_at - found->point.created_at);
            report = mgr_.scrub();  // colder tiers than the write reached still hold their corrupt copies
            if (report.lost.empty()) return true;
        }
        std::string which;
        for (std::size_t n = 0; n < std::min<std::size_t>(report.lost.size(), 20); ++n)
            which += (n ? ", " : "") + report.lost[n].tier + ": '" + report.lost[n].key + "'";
        if (report.lost.size() > 20) which += ", ...";
        for (const auto& err : errors) which += "; " + err;
        throw Error(ErrorKind::corrupt, "recovery", "scrub",
                    std::to_string(report.lost.size()) + " copies have no valid copy provably as new anywhere, and "
                    "no verified checkpoint holds them (" + which + "); write or restore those keys");
    }

    // Drops the cache, hands freed memory back, and demotes idle keys from
    // the hot tiers; fails while the process is still over the limit.
    bool memory_pressure(const FailureEvent&) {
        mgr_.invalidate_cache();
#if defined(__GLIBC__)
        ::malloc_trim(0);
#endif
        if constexpr (Flags::first_durable.has_value() && *Flags::first_durable > 0)
            mgr_.demote_idle(options_.demote_idle_after, at<*Flags::first_durable>);
        const auto used = options_.memory_usage();
        if (options_.memory_limit && used > options_.memory_limit)
            throw Error(ErrorKind::unavailable, "recovery", "memory_pressure",
                        "the process still uses " + std::to_string(used) + " bytes after shedding, over the limit of " +
                            std::to_string(options_.memory_limit));
        return true;
    }

    // Frees space: expired records swept from every tier, retention applied
    // to every checkpoint and backup source. Fails when nothing was freed
    // (retried with backoff, then escalated: a person grows the volume).
    // The incident ends when the tier answers again.
    bool disk_full(const FailureEvent& e) {
        std::string why = "no expired record to sweep and no checkpoint or backup that retention drops";
        std::size_t freed = 0;
        try {
            freed += mgr_.sweep_expired();
        } catch (const Error& err) {  // the full tier may refuse; retention may still free space
            why = std::string("the sweep failed (") + err.what() + ") and retention dropped nothing";
        }
        freed += sources_->apply_retention();
        if (freed == 0)
            throw Error(ErrorKind::unavailable, e.tier.empty() ? "recovery" : e.tier, "disk_full",
                        "nothing was freed: " + why);
        return true;
    }

private:
    void rewarm(std::size_t i) {
        using Cache = std::remove_cvref_t<decltype(mgr_.cache())>;
        if constexpr (CacheListsKeys<Cache>) {
            const auto keys = mgr_.cache().keys(options_.rewarm_keys);
            mgr_.warm(i, keys);
        }
    }

    // Durable tier i came back without what it held. First what the hot
    // tiers above it hold newer is written down to it (the newest data left
    // anywhere); then the newest verified restore point fills in only what
    // it still lacks or holds older, erasing nothing, so writes it took
    // since it came back stay (keys erased after the point come back). The
    // RPO bounds what is lost: the newest write acknowledged before
    // detection, less the point's cut.
    void restore(const FailureEvent& e, std::size_t i) {
        for (std::size_t h = 0; h < i; ++h)
            if (mgr_.coverable(h) && mgr_.write_through_of(h) == i && !mgr_.quarantined(h)) mgr_.write_back(h);
        std::vector<std::string> errors;
        const auto point = sources_->newest_verified(errors);
        const std::string tier = e.tier.empty() ? "tier " + std::to_string(i) : "'" + e.tier + "'";
        if (!point) {
            std::string why = sources_->empty() ? "none was given to recovery.use()" : "none verified";
            for (const auto& err : errors) why += "; " + err;
            throw Error(ErrorKind::unavailable, e.tier, "restore",
                        tier + " came back without what it held, and there is no checkpoint or backup to restore it "
                               "from: " + why);
        }
        sources_->restore(*point, RestoreScope{.tier = i, .fill_only = true});
        // Versions are microseconds since the epoch.
        const auto detected = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(e.detected_at.time_since_epoch()).count());
        const auto newest = std::min(mgr_.acknowledged_version(), detected);
        if (newest > point->version_cut)
            e.data_lost = std::chrono::duration_cast<Clock::duration>(
                std::chrono::microseconds(newest - point->version_cut));
    }

    M& mgr_;
    const RecoveryOptions options_;
    const std::shared_ptr<const RestoreSources> sources_;
};

}  // namespace strata::detail::recovery
