#pragma once

#include <cstdint>  // uint64_t
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/record.hpp"  // Clock
#include "strata/recovery/failure.hpp"

namespace strata {

// One run of a handler for an incident.
struct HandlerAttempt {
    unsigned number = 0;  // 1 for the first
    Clock::time_point started{}, ended{};
    bool ok = false;
    bool timed_out = false;  // abandoned at handler_timeout; its thread may still run
    std::string error{};       // what the handler threw, or why the attempt failed
};

enum class IncidentOutcome {
    open,       // automation is still at work (or waiting for a tier to come back)
    recovered,  // handlers succeeded and, for a tier, it answers probes again
    escalated,  // automation gave up; a person was handed a checklist
};

constexpr std::string_view to_string(IncidentOutcome o) noexcept {
    switch (o) {
        case IncidentOutcome::open: return "open";
        case IncidentOutcome::recovered: return "recovered";
        case IncidentOutcome::escalated: return "escalated";
    }
    return "unknown";
}

// A failure from detection to its end. Times come from
// RecoveryOptions::clock.
struct Incident {
    std::string id{};  // "<UTC time>-<sequence>-<type>": sorts by detection; names the checklist
    FailureEvent event{};
    std::vector<HandlerAttempt> attempts{};
    IncidentOutcome outcome = IncidentOutcome::open;
    // When everything was healthy again: handlers succeeded and, for a tier
    // that went down, it answered probes. Set for an escalated tier too if
    // it came back later.
    std::optional<Clock::time_point> healthy_at{};
    std::optional<Clock::duration> rto{};  // detected_at -> healthy_at
    // The age of the newest acknowledged write lost: zero for a recovered
    // incident whose handlers lost nothing, unknown (nullopt) for an
    // escalated one unless a handler said.
    std::optional<Clock::duration> rpo{};
    bool rto_missed = false;  // over RecoveryOptions::rto_target (or still down when it passed)
    bool rpo_missed = false;  // over RecoveryOptions::rpo_target
    std::optional<Clock::time_point> escalated_at{};
    std::string escalation_reason{};
    std::filesystem::path checklist{};  // empty when no escalation_dir is set or writing failed
    std::string escalation_error{};     // why the checklist or the callback failed, if either did
};

struct RecoveryStats {
    std::uint64_t rounds = 0;     // probe rounds run
    std::uint64_t incidents = 0;  // opened
    std::uint64_t recovered = 0;
    std::uint64_t escalated = 0;
    std::uint64_t rto_misses = 0;
    std::uint64_t rpo_misses = 0;
    std::optional<Clock::duration> last_rto{}, last_rpo{}, worst_rto{};
    std::vector<Incident> open{};     // not finished yet, oldest first
    std::vector<Incident> history{};  // finished, oldest first, at most RecoveryOptions::history
};

}  // namespace strata
