#pragma once

#include <algorithm>  // min, sort, unique
#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <iterator>  // make_move_iterator
#include <optional>
#include <span>
#include <string>
#include <type_traits>  // remove_reference_t
#include <utility>      // move
#include <vector>

#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/detail/direct_read.hpp"
#include "strata/checkpoint/detail/spill.hpp"

// The capture shared by checkpoints and backups: reads chosen keys of the
// tiers in `Mask` straight from the tiers into a CheckpointWriter, one tier
// section after another. What differs between the tools is passed in:
//   select(tier, index) -> the keys to read of that tier, sorted, unique;
//   keep(index, name, key, const std::optional<Record>&) -> whether a copy
//     read goes in (it may throw to refuse the whole capture).
namespace strata::detail::checkpoint {

template <std::uint64_t Mask, class M, class W, class Select, class Keep>
class Capture {
public:
    Capture(M& mgr, W& writer, CheckpointInfo& info, std::size_t batch, Select& select, Keep& keep, const char* op)
        : mgr_(mgr), writer_(writer), info_(info), batch_(batch), select_(select), keep_(keep), op_(op) {}

    // With writes held: a consistent cut at info.version_cut.
    void held() {
        auto pause = mgr_.pause_writes();
        info_.version_cut = mgr_.current_version();
        mgr_.tiers().for_each([&](auto& tier, auto index) {
            if constexpr (selected(index())) {
                using T = std::remove_reference_t<decltype(tier)>;
                const std::string name(tier.name());
                const auto keys = select_(tier, index());
                writer_.begin_tier(index(), T::temperature, name);
                for (std::size_t from = 0; from < keys.size(); from += batch_) {
                    const auto batch = std::span<const std::string>(keys).subspan(from, std::min(batch_, keys.size() - from));
                    auto got = read_many(tier, batch, op_);
                    for (std::size_t j = 0; j < batch.size(); ++j)
                        if (keep_(index(), name, batch[j], got[j])) writer_.add(batch[j], *got[j]);
                }
                end_tier<T>(index(), name);
            }
        });
    }

    // With writes going on. Tiers listed one after another could each miss
    // a key that a write moved between them (a demotion, a write erasing
    // colder copies): the manager's write journal adds every key written
    // meanwhile. Then each batch of keys is read from every selected tier at
    // one instant, with writes of those keys held, so no key is caught
    // between tiers; the records wait in temporary files until the stream is
    // written tier by tier. A key present throughout the capture is in it,
    // at its version at some instant of the capture.
    void while_writing() {
        // The journal opens and the cut is read between writes: every write
        // at or below the cut has landed before the tiers are listed, and
        // every later one is journaled.
        decltype(mgr_.journal_writes()) journal;
        {
            auto pause = mgr_.pause_writes();
            journal = mgr_.journal_writes();
            info_.version_cut = mgr_.current_version();
        }
        std::vector<std::string> keys;
        auto tiers = mgr_.tiers();
        tiers.for_each([&](auto& tier, auto index) {
            if constexpr (selected(index())) {
                auto listed = select_(tier, index());
                keys.insert(keys.end(), std::make_move_iterator(listed.begin()), std::make_move_iterator(listed.end()));
            }
        });
        auto moved = journal->drain();
        keys.insert(keys.end(), std::make_move_iterator(moved.begin()), std::make_move_iterator(moved.end()));
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

        std::array<std::optional<SpillFile>, tier_count> spills;
        for (std::size_t from = 0; from < keys.size(); from += batch_) {
            const auto batch = std::span<const std::string>(keys).subspan(from, std::min(batch_, keys.size() - from));
            const auto hold = mgr_.hold_keys(batch);
            tiers.for_each([&](auto& tier, auto index) {
                if constexpr (selected(index())) {
                    const std::string name(tier.name());
                    auto& spill = spills[index()];
                    if (!spill) spill.emplace();
                    auto got = read_many(tier, batch, op_);
                    for (std::size_t j = 0; j < batch.size(); ++j)
                        if (keep_(index(), name, batch[j], got[j])) spill->add(batch[j], *got[j]);
                }
            });
        }
        tiers.for_each([&](auto& tier, auto index) {
            using T = std::remove_reference_t<decltype(tier)>;
            if constexpr (selected(index())) {
                const std::string name(tier.name());
                writer_.begin_tier(index(), T::temperature, name);
                if (auto& spill = spills[index()])
                    spill->replay([&](const std::string& k, const Record& r) { writer_.add(k, r); });
                end_tier<T>(index(), name);
            }
        });
    }

private:
    static constexpr std::size_t tier_count = decltype(std::declval<M&>().tiers())::size;
    static constexpr bool selected(std::size_t index) { return (Mask >> index & 1) != 0; }

    template <class T>
    void end_tier(std::size_t index, const std::string& name) {
        const auto [count, bytes] = writer_.end_tier();
        info_.tiers.push_back({index, name, T::temperature, count, bytes});
    }

    M& mgr_;
    W& writer_;
    CheckpointInfo& info_;
    std::size_t batch_;
    Select& select_;
    Keep& keep_;
    const char* op_;
};

}  // namespace strata::detail::checkpoint
