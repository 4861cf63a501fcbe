#pragma once

#include <chrono>
#include <cstddef>  // size_t
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/record.hpp"  // Clock

namespace strata {

// The classes of failure a RecoveryOrchestrator knows. Every class but
// `custom` has a built-in meaning; `custom` failures are told apart by name.
enum class FailureType {
    tier_down,          // a tier failed failure_threshold probe rounds in a row
    data_corruption,    // records that fail their checksum
    memory_pressure,    // the process is over the memory limit the user set
    disk_full,          // no space left under a FileTier or a checkpoint/backup directory
    network_partition,  // servers reachable from elsewhere, not from here
    checkpoint_failed,  // a checkpoint could not be created or verified
    backup_failed,      // a backup could not be created or verified
    custom,             // the service's own failures, by name (trading engine crash, model failure)
};

inline constexpr std::size_t failure_type_count = 8;

constexpr std::string_view to_string(FailureType t) noexcept {
    switch (t) {
        case FailureType::tier_down: return "tier_down";
        case FailureType::data_corruption: return "data_corruption";
        case FailureType::memory_pressure: return "memory_pressure";
        case FailureType::disk_full: return "disk_full";
        case FailureType::network_partition: return "network_partition";
        case FailureType::checkpoint_failed: return "checkpoint_failed";
        case FailureType::backup_failed: return "backup_failed";
        case FailureType::custom: return "custom";
    }
    return "unknown";
}

// One failure, as probes see it or a program reports it:
//
//     recovery.report({.type = strata::FailureType::custom, .name = "trading_engine_crash",
//                      .detail = "engine exited with status 134"});
//
// `detail` and `name` go into the escalation checklist as they are: put no
// key values or secrets there.
struct FailureEvent {
    FailureType type = FailureType::custom;
    std::string name{};  // required for custom failures: selects the handler registered under it
    std::string tier{};  // the tier's name, when the failure is one tier's
    std::optional<std::size_t> tier_index{};  // its position in the manager, hottest first
    std::string detail{};
    // For tier_down: the tier answered without what the last good probe left
    // in it (restarted from older data, or replaced), so its copies cannot be
    // trusted as they stand: a hot tier is reconciled, a durable one restored.
    bool tier_reset = false;
    // When the failure was seen; report() fills in the orchestrator's clock
    // when left at the epoch.
    Clock::time_point detected_at{};
    // For handlers: a handler that recovered but could not save everything
    // sets this to the age of the newest acknowledged write it lost, which
    // becomes the incident's RPO. Unset means nothing acknowledged was lost.
    // Mutable because handlers receive the event by const reference; each
    // attempt gets a copy of its own.
    mutable std::optional<Clock::duration> data_lost{};
};

// True when the failure was dealt with; false or an exception is a failed
// attempt, retried up to RecoveryOptions::max_attempts times.
using FailureHandler = std::function<bool(const FailureEvent&)>;

}  // namespace strata
