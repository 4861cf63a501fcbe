#pragma once

#include <algorithm>  // max
#include <atomic>
#include <chrono>
#include <cstdint>  // uint64_t

#include "strata/core/record.hpp"

namespace strata {

// The one monotonic source of record versions in a manager. Versions are
// microseconds since the epoch, bumped past the last one handed out, so they
// keep increasing across restarts too; observe() lifts the clock past any
// version read back from a tier (written by a clock running ahead).
class VersionClock {
public:
    std::uint64_t next() noexcept {
        const auto now = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count());
        std::uint64_t prev = last_.load(std::memory_order_relaxed);
        std::uint64_t v;
        do {
            v = std::max(prev + 1, now);
        } while (!last_.compare_exchange_weak(prev, v, std::memory_order_relaxed));
        return v;
    }

    void observe(std::uint64_t version) noexcept {
        std::uint64_t prev = last_.load(std::memory_order_relaxed);
        while (prev < version && !last_.compare_exchange_weak(prev, version, std::memory_order_relaxed)) {
        }
    }

    // The newest version handed out or observed: a cut for checkpoints.
    std::uint64_t current() const noexcept { return last_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> last_{0};
};

}  // namespace strata
