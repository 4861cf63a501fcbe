#pragma once

#include <algorithm>  // lower_bound
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <limits>
#include <string>
#include <utility>  // move
#include <vector>

#include "strata/checkpoint/detail/spill.hpp"  // TempFile
#include "strata/core/envelope.hpp"
#include "strata/core/record.hpp"

// The state at a backup chain's last cut, gathered while every part is read
// and authenticated, before a restore writes anything. The cut's keys (the
// last part's key section) are held in memory; each key's newest record is
// parked in one temporary file, so a restore of any size holds keys, not
// values. Parts are offered newest first: a record is parked only when its
// key is at the cut and no newer part had it, so the file holds exactly the
// state restored.
namespace strata::detail::backup {

class ParkedChain {
public:
    explicit ParkedChain(std::vector<std::vector<std::string>> cut) : cut_(std::move(cut)), at_(cut_.size()) {
        for (std::size_t i = 0; i < cut_.size(); ++i) at_[i].assign(cut_[i].size(), none);
    }

    void offer(std::size_t tier, const std::string& key, const Record& r) {
        const auto& keys = cut_[tier];
        const auto it = std::lower_bound(keys.begin(), keys.end(), key);
        if (it == keys.end() || *it != key) return;  // deleted by the cut
        auto& at = at_[tier][static_cast<std::size_t>(it - keys.begin())];
        if (at != none) return;  // a newer part holds it
        at = file_.written();
        const std::string blob = envelope::encode(r, CompressionOptions{.enabled = false});
        file_.put_size(blob.size());
        file_.put(blob);
    }

    const std::vector<std::string>& cut(std::size_t tier) const { return cut_[tier]; }

    // Calls f(key, record) for every key at the cut that has a record, in
    // key order; returns how many keys at the cut had none.
    template <class F>
    std::uint64_t for_each(std::size_t tier, F&& f) {
        std::uint64_t missing = 0;
        std::string blob;
        for (std::size_t j = 0; j < cut_[tier].size(); ++j) {
            const std::uint64_t at = at_[tier][j];
            if (at == none) {
                ++missing;
                continue;
            }
            if (at != read_at_) file_.seek(at);  // parked in order, mostly: no seek then
            file_.get(blob, file_.get_size());
            read_at_ = at + 8 + blob.size();
            f(cut_[tier][j], envelope::decode(blob));
        }
        return missing;
    }

private:
    static constexpr std::uint64_t none = std::numeric_limits<std::uint64_t>::max();

    std::vector<std::vector<std::string>> cut_;
    std::vector<std::vector<std::uint64_t>> at_;  // per cut key: its record's place in file_
    checkpoint::TempFile file_;
    std::uint64_t read_at_ = none;
};

}  // namespace strata::detail::backup
