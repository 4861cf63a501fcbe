#pragma once

#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <mutex>
#include <optional>

#include "strata/core/tier.hpp"  // TierStats

namespace strata::detail {

// The last TierStats read from each tier and when, so that a caller asking
// often (a metrics scrape every 15 s) does not make a tier count itself each
// time: on some tiers stats() is a scan (an S3 listing, a PostgreSQL count).
template <std::size_t N>
class TierStatsCache {
public:
    // Tier i's stats no older than `max_age`, read with `read()` when the kept
    // ones are older; nullopt, and nothing kept, when `read()` throws.
    template <class Read>
    std::optional<TierStats> get(std::size_t i, std::chrono::milliseconds max_age, Read&& read) {
        std::lock_guard lock(mutexes_[i]);  // one reader per tier: callers at once share its answer
        const auto now = std::chrono::steady_clock::now();
        if (kept_[i] && now - read_at_[i] < max_age) return kept_[i];
        try {
            kept_[i] = read();
            read_at_[i] = now;
        } catch (...) {
            kept_[i].reset();
        }
        return kept_[i];
    }

private:
    std::array<std::mutex, N> mutexes_;
    std::array<std::optional<TierStats>, N> kept_;
    std::array<std::chrono::steady_clock::time_point, N> read_at_{};
};

}  // namespace strata::detail
