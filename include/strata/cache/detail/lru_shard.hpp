#pragma once

#include <array>
#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/cache/detail/key_hash.hpp"
#include "strata/cache/detail/shard_base.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// One shard of an LRU cache: a recency list and its index.
class alignas(64) LruShard : public ShardBase<1> {
public:
    static constexpr std::size_t min_capacity = 64;
    static constexpr std::array<std::size_t, 1> segment_order{0};

    explicit LruShard(std::size_t capacity) : capacity_(capacity) {}

    // A hit on an entry already among the most recent quarter leaves the
    // order alone (see SegmentedTable::touch).
    std::optional<std::string> lookup(const HashedKey& key) {
        const Handle e = find_live(key);
        if (e == nullptr) return std::nullopt;
        table_.touch(e, capacity_ / 4);
        hits.bump();
        return e->value;
    }

    void insert(const HashedKey& key, std::string_view value, Clock::time_point expires_at) {
        if (const Handle e = table_.find(key)) {
            e->value.assign(value);
            e->expires_at = expires_at;
            table_.move_to_front(e, 0);
            return;
        }
        if (capacity_ == 0) return;
        if (table_.size() >= capacity_) evict(table_.back(0));
        table_.emplace_front(0, key, value, expires_at);
    }

private:
    std::size_t capacity_;
};

}  // namespace strata::detail
