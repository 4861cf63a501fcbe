#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "strata/backup/backup_info.hpp"

namespace strata {

// How long each type is kept; nullopt keeps it until removed. A backup past
// its age still stays while a kept backup needs it (a full while its
// differentials or incrementals are kept).
struct BackupRetention {
    std::optional<Clock::duration> incremental = std::chrono::hours{24 * 7};
    std::optional<Clock::duration> differential = std::chrono::hours{24 * 30};
    std::optional<Clock::duration> full = std::chrono::hours{24 * 90};
    std::optional<Clock::duration> emergency = std::chrono::hours{24 * 90};
    std::optional<Clock::duration> snapshot = std::nullopt;

    const std::optional<Clock::duration>& max_age(BackupType t) const noexcept {
        switch (t) {
            case BackupType::incremental: return incremental;
            case BackupType::differential: return differential;
            case BackupType::full: return full;
            case BackupType::emergency: return emergency;
            case BackupType::snapshot: break;
        }
        return snapshot;
    }
};

// The ids `rules` drops from `infos` (oldest first, as list() gives them):
// those past their age that no kept backup depends on.
inline std::vector<std::string> backup_retention_victims(const std::vector<BackupInfo>& infos,
                                                         const BackupRetention& rules, Clock::time_point now) {
    std::set<std::string> kept;
    // Newest first, so a kept backup marks its parent before the parent is
    // judged.
    for (auto it = infos.rbegin(); it != infos.rend(); ++it) {
        const auto& age = rules.max_age(it->type);
        const bool expired = age && now - it->created_at > *age;
        if (expired && !kept.contains(it->id)) continue;
        kept.insert(it->id);
        if (!it->parent.empty()) kept.insert(it->parent);
    }
    std::vector<std::string> out;
    for (const auto& info : infos)
        if (!kept.contains(info.id)) out.push_back(info.id);
    return out;
}

}  // namespace strata
