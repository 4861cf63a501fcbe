#pragma once

#include <algorithm>  // max
#include <array>
#include <cstddef>    // size_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/cache/detail/count_min_sketch.hpp"
#include "strata/cache/detail/key_hash.hpp"
#include "strata/cache/detail/shard_base.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// One shard of a W-TinyLFU cache, as Caffeine builds it: new entries land in
// a small LRU admission window (~1%); an entry pushed out of the window joins
// the main region only if the frequency sketch says it is used more often
// than the entry main would evict for it. Main is a segmented LRU: probation
// (~20%) for entries seen once there, protected (~80%) for entries hit again.
// A one-off scan therefore churns only the window and never displaces the
// frequently used set.
class alignas(64) TinyLfuShard : public ShardBase<3> {
    static constexpr std::size_t window = 0;
    static constexpr std::size_t probation = 1;
    static constexpr std::size_t protect = 2;

public:
    // Most valuable first: hit again in main, then admitted to main, then
    // still on trial in the window.
    static constexpr std::array<std::size_t, 3> segment_order{protect, probation, window};

    // Below this a 1% window rounds to a single entry and the sketch is tiny.
    static constexpr std::size_t min_capacity = 256;

    explicit TinyLfuShard(std::size_t capacity)
        : capacity_(capacity),
          window_capacity_(std::max<std::size_t>(1, capacity / 100)),
          main_capacity_(capacity > window_capacity_ ? capacity - window_capacity_ : 0),
          protected_capacity_(main_capacity_ * 4 / 5),
          // Caffeine's sizing: ~16 four-bit counters per entry, aged every
          // 10 x capacity samples.
          sketch_(capacity * 4),
          sample_limit_(std::max<std::size_t>(10 * capacity, 16)) {}

    std::optional<std::string> lookup(const HashedKey& key) {
        const Handle e = find_live(key);
        if (e == nullptr) return std::nullopt;
        record(key.hash);
        on_hit(e);
        hits.bump();
        return e->value;
    }

    void insert(const HashedKey& key, std::string_view value, Clock::time_point expires_at) {
        if (capacity_ == 0) return;
        record(key.hash);
        if (const Handle e = table_.find(key)) {
            e->value.assign(value);
            e->expires_at = expires_at;
            on_hit(e);
            return;
        }
        table_.emplace_front(window, key, value, expires_at);
        if (table_.size(window) > window_capacity_) admit(table_.back(window));
    }

private:
    void record(std::size_t hash) noexcept {
        sketch_.increment(hash);
        if (++samples_ >= sample_limit_) {
            sketch_.halve();
            samples_ /= 2;
        }
    }

    void on_hit(Handle e) {
        if (e->segment == window) {
            table_.touch(e, window_capacity_ / 4);
            return;
        }
        if (e->segment == protect) {
            table_.touch(e, protected_capacity_ / 4);
            return;
        }
        // A second hit in main earns protection; protected overflow goes back
        // to probation rather than out of the cache.
        table_.move_to_front(e, protect);
        if (table_.size(protect) > protected_capacity_) table_.move_to_front(table_.back(protect), probation);
    }

    // `candidate` has just left the window: into main, or out of the cache.
    void admit(Handle candidate) {
        const std::size_t main_size = table_.size(probation) + table_.size(protect);
        if (main_size < main_capacity_) {
            table_.move_to_front(candidate, probation);
            return;
        }
        if (main_size == 0) {
            evict(candidate);
            return;
        }
        const Handle victim = table_.size(probation) > 0 ? table_.back(probation) : table_.back(protect);
        // An expired victim goes whatever its past popularity. Ties go to the
        // incumbent: a key must prove itself to displace one already there.
        if (Table::expired(*victim) || sketch_.estimate(candidate->hash) > sketch_.estimate(victim->hash)) {
            evict(victim);
            table_.move_to_front(candidate, probation);
        } else {
            evict(candidate);
        }
    }

    std::size_t capacity_;
    std::size_t window_capacity_;
    std::size_t main_capacity_;
    std::size_t protected_capacity_;
    CountMinSketch<4> sketch_;
    std::size_t samples_ = 0;
    std::size_t sample_limit_;
};

}  // namespace strata::detail
