#pragma once

#include <atomic>
#include <cstdint>  // uint64_t
#include <string>

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
    std::uint64_t stale_keys = 0;  // keys skipped here until a failed write is undone
    bool last_call_ok = true;
};

namespace detail {

struct TierCounters {
    std::atomic<std::uint64_t> hits{0}, misses{0}, failures{0}, corrupt{0}, repairs{0}, promotions{0};
    std::atomic<bool> last_call_ok{true};

    void failed() noexcept {
        failures.fetch_add(1, std::memory_order_relaxed);
        last_call_ok.store(false, std::memory_order_relaxed);
    }
    void succeeded() noexcept { last_call_ok.store(true, std::memory_order_relaxed); }
};

}  // namespace detail
}  // namespace strata
