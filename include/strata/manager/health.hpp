#pragma once

#include <atomic>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <string>

#include "strata/core/record.hpp"  // Clock
#include "strata/core/temperature.hpp"

namespace strata {

// What the manager saw of one tier since it started: the raw material for
// recovery and metrics.
struct TierHealth {
    std::string name;
    Temperature temperature{};
    bool durable = false;
    std::uint64_t hits = 0;        // reads answered by this tier
    std::uint64_t misses = 0;      // reads it did not have
    std::uint64_t failures = 0;    // calls that threw (tier down, timeout)
    std::uint64_t corrupt = 0;     // copies whose checksum did not match
    std::uint64_t repairs = 0;     // corrupt copies overwritten with a valid one
    std::uint64_t promotions = 0;  // records copied into this tier by promotion
    std::uint64_t demotions = 0;   // records moved down into this tier (demote, demote_idle)
    std::uint64_t stale_keys = 0;  // keys skipped here until a failed write is undone
    bool last_call_ok = true;
    // When a call last failed and last succeeded (nullopt: never since the
    // manager started): how long a tier has been down, or was.
    std::optional<Clock::time_point> last_failure;
    std::optional<Clock::time_point> last_success;
};

// What the manager's cache answered since the manager started, and holds now.
struct CacheHealth {
    std::uint64_t hits = 0;    // reads answered by the cache
    std::uint64_t misses = 0;  // reads that went to the tiers
    std::size_t size = 0;
    std::size_t capacity = 0;
};

namespace detail {

struct CacheCounters {
    std::atomic<std::uint64_t> hits{0}, misses{0};
};

struct TierCounters {
    std::atomic<std::uint64_t> hits{0}, misses{0}, failures{0}, corrupt{0}, repairs{0}, promotions{0}, demotions{0};
    std::atomic<bool> last_call_ok{true};
    // Clock ticks since the epoch; 0 for never.
    std::atomic<Clock::rep> last_failure{0}, last_success{0};

    void failed() noexcept {
        failures.fetch_add(1, std::memory_order_relaxed);
        last_call_ok.store(false, std::memory_order_relaxed);
        last_failure.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    void succeeded() noexcept {
        last_call_ok.store(true, std::memory_order_relaxed);
        last_success.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    static std::optional<Clock::time_point> when(const std::atomic<Clock::rep>& ticks) noexcept {
        const auto t = ticks.load(std::memory_order_relaxed);
        if (t == 0) return std::nullopt;
        return Clock::time_point(Clock::duration(t));
    }
};

}  // namespace detail
}  // namespace strata
