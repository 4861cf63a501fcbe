#pragma once

#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/record.hpp"  // Clock

namespace strata {

// incremental: changes since the last backup of any type; differential:
// changes since the last full capture (full, snapshot or emergency);
// snapshot: a full cut that retention keeps until it is removed; emergency:
// a full capture now, writes going on.
enum class BackupType { full, incremental, differential, snapshot, emergency };

inline constexpr std::array backup_types{BackupType::full, BackupType::incremental, BackupType::differential,
                                         BackupType::snapshot, BackupType::emergency};

constexpr std::string_view to_string(BackupType t) noexcept {
    switch (t) {
        case BackupType::full: return "full";
        case BackupType::incremental: return "incremental";
        case BackupType::differential: return "differential";
        case BackupType::snapshot: return "snapshot";
        case BackupType::emergency: return "emergency";
    }
    return "unknown";
}

inline std::optional<BackupType> parse_backup_type(std::string_view s) noexcept {
    for (const auto t : backup_types)
        if (to_string(t) == s) return t;
    return std::nullopt;
}

// A full, snapshot or emergency backup stands alone; the others need the
// chain of parents back to one.
constexpr bool is_base(BackupType t) noexcept {
    return t != BackupType::incremental && t != BackupType::differential;
}

struct BackupInfo {
    std::string id;  // UTC time, sequence and type: sorts by creation time
    BackupType type = BackupType::full;
    std::string parent;  // empty for full, snapshot and emergency
    Clock::time_point created_at{};
    std::uint64_t key_count = 0;     // keys at the cut, all captured tiers
    std::uint64_t changed_keys = 0;  // records stored in this backup
    std::uint64_t deleted_keys = 0;  // keys of the parent's cut gone at this one
    std::uint64_t stored_bytes = 0;  // what the store holds for it, sealed
    // Writes held: the cut is exactly this version. Otherwise the newest
    // version handed out when the capture began; later writes may be in it.
    std::uint64_t version_cut = 0;
    bool writes_held = true;
};

// What test_restore found: the chain rebuilt in scratch memory against the
// manifest of the backup it ends at.
struct TestRestoreReport {
    std::string id;
    bool ok = false;
    std::uint64_t keys = 0;           // rebuilt
    std::uint64_t expected_keys = 0;  // the manifest's key_count
    std::string problem;              // empty when ok
};

struct BackupStats {
    std::array<std::uint64_t, backup_types.size()> created{};  // by type, since this BackupManager was made
    std::array<std::optional<Clock::time_point>, backup_types.size()> last_success{};
    std::uint64_t failures = 0;  // creates that threw
    std::uint64_t restores = 0;
    std::uint64_t refused_restores = 0;  // broken chain, damage, wrong key: nothing changed
    std::uint64_t verify_failures = 0;
    std::uint64_t removed = 0;
    std::chrono::nanoseconds last_duration{0};  // of the last create
    std::optional<TestRestoreReport> last_test_restore;
    // From the store, at the time of the call:
    std::size_t backups = 0;
    std::uint64_t stored_bytes = 0;
};

}  // namespace strata
