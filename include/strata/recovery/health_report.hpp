#pragma once

#include <algorithm>  // all_of
#include <chrono>
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <vector>

#include "strata/core/record.hpp"  // Clock
#include "strata/core/temperature.hpp"
#include "strata/manager/health.hpp"

namespace strata {

// One tier as the last probe round saw it, beside what the manager counted.
struct TierStatus {
    std::string name{};
    Temperature temperature{};
    bool durable = false;
    bool up = true;      // down after failure_threshold failed rounds in a row, up after one good one
    bool probed = false;  // false until a round has probed it
    unsigned consecutive_failures = 0;
    std::string last_error{};  // of the last failed probe; empty after a good one
    std::chrono::microseconds probe_latency{0};  // write, read back, erase and ping; the deadline if it ran out
    std::optional<Clock::time_point> last_probe{};
    TierHealth health{};  // the manager's counters (mgr.health())
};

struct HealthReport {
    Clock::time_point at{};
    std::uint64_t round = 0;
    std::vector<TierStatus> tiers{};  // hottest first, as the manager holds them

    bool healthy() const {
        return std::all_of(tiers.begin(), tiers.end(), [](const TierStatus& t) { return t.up; });
    }
};

}  // namespace strata
