#pragma once

#include <algorithm>  // sort, reverse
#include <array>
#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/checkpoint/checkpoint_info.hpp"

namespace strata {

// Which checkpoints to keep. Both rules apply: a checkpoint goes when it is
// not among the newest keep_last of its type, or when it is older than
// max_age. Zero / nullopt switch a rule off.
struct Retention {
    std::size_t keep_last = 0;
    // Per-type overrides of keep_last, indexed like checkpoint_types.
    std::array<std::optional<std::size_t>, checkpoint_types.size()> keep_last_of{};
    std::optional<Clock::duration> max_age = std::nullopt;

    Retention& keep(CheckpointType t, std::size_t n) {
        keep_last_of[static_cast<std::size_t>(t)] = n;
        return *this;
    }

    std::size_t limit(CheckpointType t) const {
        return keep_last_of[static_cast<std::size_t>(t)].value_or(keep_last);
    }

    bool active() const {
        if (keep_last || max_age) return true;
        for (const auto& k : keep_last_of)
            if (k && *k) return true;
        return false;
    }
};

// The ids `rules` drops from `infos` (any order), oldest first; `keep`
// (the checkpoint just created) is never among them, whatever the clock says.
inline std::vector<std::string> retention_victims(std::vector<CheckpointInfo> infos, const Retention& rules,
                                                  Clock::time_point now = Clock::now(), std::string_view keep = {}) {
    std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) {
        return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
    });
    std::array<std::size_t, checkpoint_types.size()> seen{};
    std::vector<std::string> out;
    for (const auto& info : infos) {
        const std::size_t limit = rules.limit(info.type);
        const bool surplus = limit != 0 && ++seen[static_cast<std::size_t>(info.type)] > limit;
        const bool old = rules.max_age && now - info.created_at > *rules.max_age;
        if ((surplus || old) && info.id != keep) out.push_back(info.id);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

}  // namespace strata
