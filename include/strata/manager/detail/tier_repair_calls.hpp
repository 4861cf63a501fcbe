#pragma once

// The definitions of StateManager's calls for a tier that comes back
// (reconcile, write_back, warm, scrub), declared and documented in
// state_manager.hpp, kept here so that header reads as the manager's
// contract and its data path.

#include <algorithm>  // sort, unique, min
#include <atomic>
#include <cstddef>  // size_t
#include <optional>
#include <span>
#include <stdexcept>  // invalid_argument
#include <string>
#include <vector>

#include "strata/manager/state_manager.hpp"

namespace strata {

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
ReconcileReport StateManager<C, P, Ts...>::reconcile(std::size_t tier) {
    check_coverable(tier, "reconcile");
    tiers_.quarantine(tier);
    if (!marks_loaded_.load()) {
        tiers_.load_marks(options_.write_through);
        marks_loaded_ = true;
    }
    auto keys = tiers_.list(tier);
    for (auto& k : tiers_.stale_keys(tier)) keys.push_back(std::move(k));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    ReconcileReport report{.examined = keys.size()};
    for_batches(keys, [&](std::span<const std::string> batch) {
        const auto changing = change_of(batch);
        // A value read from an erased copy before the tier was
        // quarantined (it came back older between two probe rounds) may
        // be cached.
        const auto gone = tiers_.reconcile(tier, batch, options_.write_through);
        for (const auto& k : gone) cache_.invalidate(k);
        report.erased += gone.size();
    });
    tiers_.release(tier);
    return report;
}

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
std::size_t StateManager<C, P, Ts...>::write_back(std::size_t tier) {
    check_coverable(tier, "write_back");
    const auto keys = tiers_.list(tier);
    std::size_t written = 0;
    for_batches(keys, [&](std::span<const std::string> batch) {
        const auto changing = change_of(batch);
        written += tiers_.write_back(tier, batch, options_.write_through);
    });
    return written;
}

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
std::size_t StateManager<C, P, Ts...>::warm(std::size_t tier, std::span<const std::string> keys) {
    if (tier >= tier_count) throw std::invalid_argument("strata: warm: tier index out of range");
    for (const auto& k : keys) validate_key(k);
    std::size_t copied = 0;
    for_batches(keys, [&](std::span<const std::string> batch) {
        std::vector<std::size_t> all(batch.size());
        for (std::size_t j = 0; j < all.size(); ++j) all[j] = j;
        std::shared_lock gate(write_gate_);
        typename detail::KeyStripes::WriteLock lock(stripes_, stripes_of(batch));
        auto found = tiers_.search(batch, all, options_.write_through);
        std::vector<Entry> entries;
        for (std::size_t j = 0; j < batch.size(); ++j)
            if (found[j].record && !found[j].doubt && found[j].tier > tier)
                entries.push_back({batch[j], std::move(*found[j].record)});
        std::optional<Error> failed;
        if (!entries.empty() && !tiers_.store(tier, entries, failed)) throw *failed;
        tiers_.counters(tier).promotions.fetch_add(entries.size(), std::memory_order_relaxed);
        copied += entries.size();
    });
    return copied;
}

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
ScrubReport StateManager<C, P, Ts...>::scrub(std::size_t batch) {
    if (batch == 0) throw std::invalid_argument("strata: scrub: batch must be > 0");
    ScrubReport report;
    for (std::size_t i = 0; i < tier_count; ++i) {
        const auto keys = tiers_.list(i);
        report.examined += keys.size();
        for (std::size_t from = 0; from < keys.size(); from += batch) {
            const std::span<const std::string> part(keys.data() + from, std::min(batch, keys.size() - from));
            const auto copies = tiers_.peek(i, part);
            std::vector<std::string> corrupt;
            for (std::size_t j = 0; j < part.size(); ++j)
                if (copies[j] && !copies[j]->intact()) corrupt.push_back(part[j]);
            if (corrupt.empty()) continue;
            tiers_.counters(i).corrupt.fetch_add(corrupt.size(), std::memory_order_relaxed);
            const auto changing = change_of(corrupt);
            for (auto& k : corrupt) cache_.invalidate(k);
            const auto lost = tiers_.repair(i, corrupt, options_.write_through);
            report.corrupt += corrupt.size();
            report.repaired += corrupt.size() - lost.size();
            for (const auto& k : lost) report.lost.push_back({tiers_.name_of(i), k});
        }
    }
    return report;
}

}  // namespace strata
