#pragma once

#include <algorithm>  // min
#include <cstddef>    // size_t
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "strata/cache/detail/key_hash.hpp"
#include "strata/cache/detail/segmented_table.hpp"
#include "strata/cache/detail/shards.hpp"

namespace strata::detail {

// What every cache shard has whatever its policy: the table of entries, the
// lock the caller holds around each call (see ShardedCache), hit, miss and
// eviction counters, and the calls that do not depend on the policy.
template <std::size_t Segments>
class ShardBase {
public:
    void invalidate(const HashedKey& key) {
        if (const Handle e = table_.find(key)) table_.erase(e);
    }

    // Up to `limit` live keys: the segments in `segment_order`, each most
    // recent first. Only reads: being listed is not a use.
    std::vector<std::string> keys(std::span<const std::size_t> segment_order, std::size_t limit) const {
        std::vector<std::string> out;
        out.reserve(std::min(limit, table_.size()));
        for (const std::size_t segment : segment_order) {
            if (out.size() >= limit) break;
            table_.walk(segment, [&](const typename Table::Entry& e) {
                if (out.size() >= limit) return false;
                if (!Table::expired(e)) out.push_back(e.key);
                return true;
            });
        }
        return out;
    }

    void clear() noexcept { table_.clear(); }
    std::size_t size() const noexcept { return table_.size(); }

    std::mutex mutex;
    ShardCounter hits;
    ShardCounter misses;
    ShardCounter evictions;  // entries dropped to make room

protected:
    using Table = SegmentedTable<Segments>;
    using Handle = typename Table::Handle;

    // The entry for `key` if it is there and not expired (an expired one is
    // dropped); otherwise counts a miss and returns null.
    Handle find_live(const HashedKey& key) {
        const Handle e = table_.find(key);
        if (e != nullptr && !Table::expired(*e)) return e;
        if (e != nullptr) table_.erase(e);
        misses.bump();
        return nullptr;
    }

    // Drops `e` to make room for another entry.
    void evict(Handle e) {
        table_.erase(e);
        evictions.bump();
    }

    Table table_;
};

}  // namespace strata::detail
