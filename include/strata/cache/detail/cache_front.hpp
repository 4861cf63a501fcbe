#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/cache/detail/segmented_table.hpp"  // expiry_or_never
#include "strata/cache/detail/sharded_cache.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// The public face every sharded cache policy shares: the CachePolicy members
// and keys() (CacheListsKeys), forwarded to ShardedCache<Shard>. A policy
// derives from it, adds its constructor, and may hide insert() to change how
// expiry is stored.
template <class Shard>
class CacheFront {
public:
    explicit CacheFront(std::size_t capacity) : core_(capacity) {}

    std::optional<std::string> lookup(std::string_view key) { return core_.lookup(key); }

    void insert(std::string_view key, std::string_view value,
                std::optional<Clock::time_point> expires_at = std::nullopt) {
        core_.insert(key, value, expiry_or_never(expires_at));
    }

    void invalidate(std::string_view key) { core_.invalidate(key); }
    void clear() { core_.clear(); }

    std::vector<std::string> keys(std::size_t limit) const { return core_.keys(limit); }
    std::size_t size() const { return core_.size(); }
    std::size_t capacity() const noexcept { return core_.capacity(); }
    std::uint64_t hits() const noexcept { return core_.hits(); }
    std::uint64_t misses() const noexcept { return core_.misses(); }
    std::uint64_t evictions() const noexcept { return core_.evictions(); }

protected:
    ShardedCache<Shard> core_;
};

}  // namespace strata::detail
