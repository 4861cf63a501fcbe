#pragma once

#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint32_t, uint64_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/digest.hpp"
#include "strata/core/record.hpp"
#include "strata/core/temperature.hpp"

namespace strata {

// Why a checkpoint was taken; retention keeps the last N of each type.
enum class CheckpointType { manual, automatic, emergency, pre_upgrade, daily };

inline constexpr std::array<CheckpointType, 5> checkpoint_types{CheckpointType::manual, CheckpointType::automatic,
                                                                CheckpointType::emergency, CheckpointType::pre_upgrade,
                                                                CheckpointType::daily};

constexpr std::string_view to_string(CheckpointType t) noexcept {
    switch (t) {
        case CheckpointType::manual: return "manual";
        case CheckpointType::automatic: return "automatic";
        case CheckpointType::emergency: return "emergency";
        case CheckpointType::pre_upgrade: return "pre_upgrade";
        case CheckpointType::daily: return "daily";
    }
    return "unknown";
}

constexpr std::optional<CheckpointType> parse_checkpoint_type(std::string_view s) noexcept {
    for (auto t : checkpoint_types)
        if (to_string(t) == s) return t;
    return std::nullopt;
}

// One tier in a checkpoint: its index in the manager and its name, both
// checked on rollback so a checkpoint never lands in a different tier.
struct CapturedTier {
    std::size_t index = 0;
    std::string name;
    Temperature temperature = Temperature::hot;
    std::uint64_t keys = 0;
    std::uint64_t bytes = 0;  // keys + values, uncompressed
};

// A record left out of a capture because its value no longer matched its
// checksum (only with CaptureOptions::on_corrupt = skip; the default fails).
struct SkippedRecord {
    std::size_t tier = 0;
    std::string key;
};

struct CheckpointInfo {
    std::string id;  // UTC time, sequence and type: sorts by creation time
    CheckpointType type = CheckpointType::manual;
    Clock::time_point created_at{};
    std::uint32_t format_version = 0;
    std::vector<CapturedTier> tiers;
    std::uint64_t key_count = 0;
    std::uint64_t bytes = 0;         // keys + values, uncompressed
    std::uint64_t stored_bytes = 0;  // the compressed stream as stored
    // SHA-256 over (tier, key, version, checksum) of every record in tier
    // order then key order: equal hashes mean the same captured state.
    Digest consistency_hash{};
    Digest stream_hash{};  // SHA-256 of the stored bytes, checked before any parse
    // True when writes through the manager were held for the capture (a
    // consistent cut); otherwise version_cut is the newest version handed
    // out when the capture began, and later writes may or may not be in it.
    bool writes_held = true;
    std::uint64_t version_cut = 0;
    std::chrono::nanoseconds capture_time{0};
    std::vector<SkippedRecord> skipped;
};

struct TierRollback {
    std::size_t index = 0;
    std::string name;
    std::uint64_t restored = 0;   // written back: changed, deleted or expired since
    std::uint64_t unchanged = 0;  // already as captured, left alone
    std::uint64_t removed = 0;    // created since the capture, erased
};

// What a rollback or a backup restore changes. By default every captured
// tier becomes exactly the captured state.
struct RestoreScope {
    // Only this tier (its index in the manager); every captured tier when unset.
    std::optional<std::size_t> tier{};
    // Put back only records the tier lacks or holds at an older version:
    // nothing newer is overwritten, nothing is erased, hotter copies stay.
    // For a durable tier that came back empty or behind while writes went
    // on: what it gained since stays; keys erased after the capture come
    // back.
    bool fill_only = false;
};

struct RollbackReport {
    std::string id;
    std::vector<TierRollback> tiers;
    std::uint64_t keys_restored = 0;
    std::uint64_t keys_unchanged = 0;
    std::uint64_t keys_removed = 0;
    // Captured records whose expiry has passed since: not restored, and any
    // newer copy of them is removed, as if they had expired in place.
    std::uint64_t expired_skipped = 0;
    std::chrono::nanoseconds verify_time{0};
    std::chrono::nanoseconds restore_time{0};  // while writes were held
};

struct CheckpointStats {
    std::size_t checkpoints = 0;
    std::size_t unreadable = 0;  // stored, but their summary does not parse
    std::uint64_t stored_bytes = 0;
    std::array<std::size_t, checkpoint_types.size()> by_type{};
    std::optional<Clock::time_point> oldest, newest;
    // Since this Checkpointer was made:
    std::uint64_t created = 0;
    std::uint64_t failed_captures = 0;
    std::uint64_t rollbacks = 0;
    std::uint64_t refused_rollbacks = 0;
    std::uint64_t verify_failures = 0;
    std::uint64_t removed = 0;
    std::optional<CheckpointInfo> last_created;
};

}  // namespace strata
