#pragma once

#include <algorithm>  // set_difference, min
#include <cstddef>    // size_t
#include <iterator>   // back_inserter
#include <span>
#include <string>
#include <string_view>
#include <type_traits>  // remove_reference_t
#include <utility>  // move
#include <vector>

#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/detail/direct_read.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

namespace strata::detail::checkpoint {

inline bool same_record(const std::optional<Record>& now, const Record& captured) {
    return now && now->version == captured.version && now->checksum == captured.checksum &&
           now->updated_at == captured.updated_at && now->expires_at == captured.expires_at &&
           now->value == captured.value;
}

// A capture goes back only into tiers like the ones it came from: the same
// name and temperature at the same index. `what` names the capture's kind.
template <class Set>
void check_layout(Set tiers, const CheckpointInfo& info, std::string_view what, std::string_view op) {
    for (const auto& t : info.tiers) {
        bool same = false;
        tiers.for_each([&](auto& tier, auto index) {
            using T = std::remove_reference_t<decltype(tier)>;
            if (index() == t.index) same = tier.name() == t.name && T::temperature == t.temperature;
        });
        if (!same)
            throw Error(ErrorKind::invalid, std::string(what), std::string(op),
                        std::string(what) + " '" + info.id + "' holds tier " + std::to_string(t.index) + " ('" +
                            t.name + "'), which this manager does not have at that index");
    }
}

// Puts the tiers of `Set` (a TierSet) back to a checkpoint, fed record by
// record from a verified stream: per batch, reads what the tier holds now and
// writes only the records that differ; at the end of a tier, erases every
// key the checkpoint does not hold. Running it twice changes nothing more,
// so a rollback cut short by a tier failure can simply be run again. Every
// batch written or erased goes through the manager's write pause, which
// makes the manager serve it from there (`put_back`: the tiers this restore
// rewrites, whose copies stay) and readers see each batch as one step.
// A RestoreScope narrows it to one tier, or to filling in what a tier lacks.
template <class Set, class Pause>
class Restorer {
public:
    Restorer(Set tiers, Pause& pause, std::uint64_t put_back, std::size_t batch, RollbackReport& report,
             RestoreScope scope = {})
        : tiers_(tiers),
          pause_(pause),
          put_back_(scope.fill_only ? ~std::uint64_t{0} : put_back),
          batch_size_(batch),
          report_(report),
          scope_(scope),
          now_(Clock::now()) {}

    void begin(const CapturedTier& t) {
        skipping_ = scope_.tier && *scope_.tier != t.index;
        if (skipping_) return;
        current_ = t.index;
        keep_.clear();
        batch_.clear();
        report_.tiers.push_back(TierRollback{t.index, t.name, 0, 0, 0});
    }

    void add(std::string key, Record r) {
        if (skipping_) return;
        // An expired record is gone by the rules of every tier: not restored,
        // and not kept, so a newer copy of the key is removed below.
        if (r.expired(now_)) {
            ++report_.expired_skipped;
            return;
        }
        keep_.push_back(key);
        batch_.push_back(Entry{std::move(key), std::move(r)});
        if (batch_.size() >= batch_size_) flush();
    }

    void end(const CapturedTier&) {
        if (skipping_) return;
        flush();
        if (!scope_.fill_only) erase_extra();
        const auto& t = report_.tiers.back();
        report_.keys_restored += t.restored;
        report_.keys_unchanged += t.unchanged;
        report_.keys_removed += t.removed;
    }

private:
    // The tier's keys the capture does not hold go.
    void erase_extra() {
        with_tier([&](auto& tier) {
            const auto current = sorted_keys(tier);
            std::vector<std::string> extra;
            std::set_difference(current.begin(), current.end(), keep_.begin(), keep_.end(), std::back_inserter(extra));
            for (std::size_t from = 0; from < extra.size(); from += batch_size_) {
                const std::span<const std::string> some(extra.data() + from, std::min(batch_size_, extra.size() - from));
                pause_.rewrite(current_, some, put_back_, [&] { report_.tiers.back().removed += tier.erase_many(some); });
            }
        });
    }

    template <class F>
    void with_tier(F&& f) {
        tiers_.for_each([&](auto& tier, auto index) {
            if (index() == current_) f(tier);
        });
    }

    void flush() {
        if (batch_.empty()) return;
        with_tier([&](auto& tier) {
            std::vector<std::string> keys;
            keys.reserve(batch_.size());
            for (const auto& e : batch_) keys.push_back(e.key);
            const auto held = read_many(tier, keys, "rollback");
            std::vector<Entry> changed;
            std::vector<std::string> newer;  // held at a newer version than captured
            for (std::size_t j = 0; j < batch_.size(); ++j) {
                // A copy marked stale is rewritten too, which clears the mark.
                if (same_record(held[j], batch_[j].record) && !pause_.is_stale(current_, batch_[j].key)) continue;
                if (scope_.fill_only && held[j] && held[j]->intact() && held[j]->version >= batch_[j].record.version)
                    continue;
                if (held[j] && held[j]->version > batch_[j].record.version) newer.push_back(batch_[j].key);
                changed.push_back(std::move(batch_[j]));
            }
            if (!changed.empty()) {
                std::vector<std::string> keys;
                keys.reserve(changed.size());
                for (const auto& e : changed) keys.push_back(e.key);
                pause_.rewrite(current_, keys, put_back_, [&] { restore(tier, changed, keys, newer); });
            }
            auto& t = report_.tiers.back();
            t.restored += changed.size();
            t.unchanged += batch_.size() - changed.size();
        });
        batch_.clear();
    }

    // A tier may refuse to move a key back to an older version (PostgresTier
    // with newer_versions_only, Error{conflict}): only then are the newer
    // keys erased and stored again. Elsewhere each key is replaced in one
    // step, so a process killed mid-rollback leaves it as it was or as
    // captured, never absent. Every record written is read back, so a
    // refusal fails loudly, not silently.
    template <class T>
    static void restore(T& tier, const std::vector<Entry>& changed, const std::vector<std::string>& keys,
                        const std::vector<std::string>& newer) {
        try {
            tier.store_many(std::span<const Entry>(changed));
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::conflict || newer.empty()) throw;
            tier.erase_many(std::span<const std::string>(newer));
            tier.store_many(std::span<const Entry>(changed));
        }
        const auto back = read_many(tier, keys, "rollback");
        for (std::size_t j = 0; j < changed.size(); ++j)
            if (!same_record(back[j], changed[j].record))
                throw Error(ErrorKind::invalid, std::string(tier.name()), "rollback",
                            "the tier did not take back key '" + keys[j] + "' as captured");
    }

    Set tiers_;
    Pause& pause_;
    std::uint64_t put_back_;
    std::size_t batch_size_;
    RollbackReport& report_;
    const RestoreScope scope_;
    bool skipping_ = false;  // a captured tier outside the scope
    Clock::time_point now_;
    std::size_t current_ = 0;
    std::vector<std::string> keep_;
    std::vector<Entry> batch_;
};

}  // namespace strata::detail::checkpoint
