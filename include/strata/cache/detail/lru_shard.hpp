#pragma once

#include <cstddef>  // size_t
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "strata/cache/detail/key_hash.hpp"
#include "strata/cache/detail/segmented_table.hpp"
#include "strata/cache/detail/shards.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// One shard of an LRU cache: a recency list and its index. The caller holds
// `mutex` (see ShardedCache).
class alignas(64) LruShard {
public:
    static constexpr std::size_t min_capacity = 64;

    explicit LruShard(std::size_t capacity) : capacity_(capacity) {}

    // A hit on an entry already among the most recent quarter leaves the
    // order alone (see SegmentedTable::touch).
    std::optional<std::string> lookup(const HashedKey& key) {
        const Table::Handle e = table_.find(key);
        if (e == nullptr) {
            misses.bump();
            return std::nullopt;
        }
        if (Table::expired(*e)) {
            table_.erase(e);
            misses.bump();
            return std::nullopt;
        }
        table_.touch(e, capacity_ / 4);
        hits.bump();
        return e->value;
    }

    void insert(const HashedKey& key, std::string_view value, Clock::time_point expires_at) {
        if (const Table::Handle e = table_.find(key)) {
            e->value.assign(value);
            e->expires_at = expires_at;
            table_.move_to_front(e, 0);
            return;
        }
        if (capacity_ == 0) return;
        if (table_.size() >= capacity_) table_.erase(table_.back(0));
        table_.emplace_front(0, key, value, expires_at);
    }

    void invalidate(const HashedKey& key) {
        if (const Table::Handle e = table_.find(key)) table_.erase(e);
    }

    void clear() noexcept { table_.clear(); }
    std::size_t size() const noexcept { return table_.size(); }

    std::mutex mutex;
    ShardCounter hits;
    ShardCounter misses;

private:
    using Table = SegmentedTable<1>;
    Table table_;
    std::size_t capacity_;
};

}  // namespace strata::detail
