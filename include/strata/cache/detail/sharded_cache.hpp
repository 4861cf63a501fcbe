#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

#include "strata/cache/detail/key_hash.hpp"
#include "strata/cache/detail/shards.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// What every sharded cache policy does the same way: hash the key once, pick
// its shard, lock only that shard, refuse values that are already expired,
// and add up sizes and statistics. `Shard` decides what to keep; it is built
// from its share of the capacity and provides
//   static constexpr std::size_t min_capacity;  (fewest entries worth a shard)
//   std::optional<std::string> lookup(const HashedKey&);
//   void insert(const HashedKey&, std::string_view value, Clock::time_point expires_at);
//   void invalidate(const HashedKey&); void clear(); std::size_t size() const;
//   static constexpr std::array<std::size_t, N> segment_order;  (most valuable first)
//   std::vector<std::string> keys(std::span<const std::size_t> segment_order, std::size_t limit) const;
// each called with the shard's `mutex` held, and counters `hits`, `misses`,
// `evictions`.
template <class Shard>
class ShardedCache {
public:
    explicit ShardedCache(std::size_t capacity) : capacity_(capacity), shards_(capacity, shard_count_for(capacity, Shard::min_capacity)) {}

    std::optional<std::string> lookup(std::string_view key) {
        const HashedKey k = hashed(key);
        Shard& s = shards_.for_hash(k.hash);
        std::lock_guard lock(s.mutex);
        return s.lookup(k);
    }

    // `expires_at` is Clock::time_point::max() for "never".
    void insert(std::string_view key, std::string_view value, Clock::time_point expires_at) {
        const HashedKey k = hashed(key);
        Shard& s = shards_.for_hash(k.hash);
        const bool dead = expires_at != Clock::time_point::max() && expires_at <= Clock::now();
        std::lock_guard lock(s.mutex);
        // A value that is already expired is not kept, and the older value it
        // replaces must not be served either.
        if (dead)
            s.invalidate(k);
        else
            s.insert(k, value, expires_at);
    }

    void invalidate(std::string_view key) {
        const HashedKey k = hashed(key);
        Shard& s = shards_.for_hash(k.hash);
        std::lock_guard lock(s.mutex);
        s.invalidate(k);
    }

    void clear() {
        shards_.for_each([](Shard& s) {
            std::lock_guard lock(s.mutex);
            s.clear();
        });
    }

    std::size_t size() const {
        std::size_t n = 0;
        shards_.for_each([&n](Shard& s) {
            std::lock_guard lock(s.mutex);
            n += s.size();
        });
        return n;
    }

    // Up to `limit` live keys, each shard's in its own order, the shards
    // interleaved round-robin so the hot keys of one shard do not crowd out
    // another's. Each shard is locked only while it is walked, so this is no
    // snapshot: a key inserted meanwhile may or may not be listed. Each shard
    // copies up to `limit` keys, at most everything the cache holds.
    std::vector<std::string> keys(std::size_t limit) const {
        std::vector<std::vector<std::string>> per_shard;
        per_shard.reserve(shards_.count());
        shards_.for_each([&](Shard& s) {
            std::lock_guard lock(s.mutex);
            per_shard.push_back(s.keys(Shard::segment_order, limit));
        });
        std::vector<std::string> out;
        for (std::size_t rank = 0; out.size() < limit; ++rank) {
            const std::size_t before = out.size();
            for (auto& shard_keys : per_shard)
                if (rank < shard_keys.size() && out.size() < limit) out.push_back(std::move(shard_keys[rank]));
            if (out.size() == before) break;
        }
        return out;
    }

    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t shard_count() const noexcept { return shards_.count(); }

    std::uint64_t hits() const noexcept { return total(&Shard::hits); }
    std::uint64_t misses() const noexcept { return total(&Shard::misses); }
    std::uint64_t evictions() const noexcept { return total(&Shard::evictions); }

private:
    std::uint64_t total(ShardCounter Shard::*counter) const noexcept {
        std::uint64_t n = 0;
        shards_.for_each([&](Shard& s) { n += (s.*counter).value(); });
        return n;
    }

    std::size_t capacity_;
    Shards<Shard> shards_;
};

}  // namespace strata::detail
