#pragma once

#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <functional>  // equal_to
#include <memory>      // unique_ptr
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>  // move
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/detail/string_hash.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/tier.hpp"
#include "strata/tiers/detail/per_key_batch.hpp"

namespace strata {

struct MemoryTierOptions {
    std::string name = "memory";  // the tier's name in errors and reports
};

// The in-process hot tier: a sharded hash map. Not durable, so a manager
// writes through to the first durable tier below it. Expired records are
// dropped on read and by sweep_expired().
class MemoryTier {
public:
    static constexpr Temperature temperature = Temperature::hot;
    static constexpr bool durable = false;

    MemoryTier() : MemoryTier(MemoryTierOptions{}) {}
    explicit MemoryTier(MemoryTierOptions options)
        : options_(std::move(options)), shards_(std::make_unique<Shard[]>(shard_count)) {}

    std::string_view name() const noexcept { return options_.name; }

    std::optional<Record> fetch(std::string_view key) { return read(key, true); }

    // fetch_many that leaves idle times alone: checkpoints read through it,
    // so capturing the tier never makes its keys look recently used.
    std::vector<std::optional<Record>> peek_many(std::span<const std::string> keys) {
        for (const auto& k : keys) validate_key(k);
        std::vector<std::optional<Record>> out;
        out.reserve(keys.size());
        for (const auto& k : keys) out.push_back(read(k, false));
        return out;
    }

    void store(std::string_view key, const Record& record) {
        validate_key(key);
        Shard& s = shard(key);
        std::lock_guard lock(s.mutex);
        s.map.insert_or_assign(std::string(key), Slot{record, Clock::now()});
    }

    bool erase(std::string_view key) {
        validate_key(key);
        Shard& s = shard(key);
        std::lock_guard lock(s.mutex);
        auto it = s.map.find(key);
        if (it == s.map.end()) return false;
        s.map.erase(it);
        return true;
    }

    // In-process: no round trip to save, so batches are loops.
    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> keys) {
        return detail::fetch_each(*this, keys);
    }
    void store_many(std::span<const Entry> entries) { detail::store_each(*this, entries); }
    std::size_t erase_many(std::span<const std::string> keys) { return detail::erase_each(*this, keys); }

    std::vector<std::string> keys(std::string_view pattern) {
        const Glob glob(pattern);
        const auto now = Clock::now();
        std::vector<std::string> out;
        for_each_slot([&](const std::string& key, const Slot& slot) {
            if (!slot.record.expired(now) && glob.matches(key)) out.push_back(key);
        });
        return out;
    }

    // Keys neither read nor written for longer than `older_than`: what a
    // demotion sweep moves to a colder tier.
    std::vector<std::string> idle_keys(std::chrono::milliseconds older_than) {
        const auto now = Clock::now();
        const auto cutoff = now - older_than;
        std::vector<std::string> out;
        for_each_slot([&](const std::string& key, const Slot& slot) {
            if (slot.accessed < cutoff && !slot.record.expired(now)) out.push_back(key);
        });
        return out;
    }

    // Live keys whose record version is above `version` (capabilities.hpp).
    std::vector<std::string> changed_since(std::uint64_t version) {
        const auto now = Clock::now();
        std::vector<std::string> out;
        for_each_slot([&](const std::string& key, const Slot& slot) {
            if (slot.record.version > version && !slot.record.expired(now)) out.push_back(key);
        });
        return out;
    }

    std::size_t sweep_expired() {
        const auto now = Clock::now();
        std::size_t n = 0;
        for (std::size_t i = 0; i < shard_count; ++i) {
            std::lock_guard lock(shards_[i].mutex);
            n += std::erase_if(shards_[i].map, [&](const auto& kv) { return kv.second.record.expired(now); });
        }
        return n;
    }

    TierStats stats() {
        TierStats st;
        for_each_slot([&](const std::string& key, const Slot& slot) {
            ++st.keys;
            st.bytes += key.size() + slot.record.value.size();
        });
        return st;
    }

    bool ping() const noexcept { return true; }

private:
    static constexpr std::size_t shard_count = 32;

    struct Slot {
        Record record;
        Clock::time_point accessed;
    };
    struct Shard {
        std::mutex mutex;
        std::unordered_map<std::string, Slot, detail::StringHash, std::equal_to<>> map;
    };

    std::optional<Record> read(std::string_view key, bool counts_as_use) {
        validate_key(key);
        const auto now = Clock::now();
        Shard& s = shard(key);
        std::lock_guard lock(s.mutex);
        auto it = s.map.find(key);
        if (it == s.map.end()) return std::nullopt;
        if (it->second.record.expired(now)) {
            s.map.erase(it);
            return std::nullopt;
        }
        if (counts_as_use) it->second.accessed = now;
        return it->second.record;
    }

    Shard& shard(std::string_view key) { return shards_[detail::StringHash{}(key) % shard_count]; }

    template <class F>
    void for_each_slot(F&& f) {
        for (std::size_t i = 0; i < shard_count; ++i) {
            std::lock_guard lock(shards_[i].mutex);
            for (const auto& [key, slot] : shards_[i].map) f(key, slot);
        }
    }

    MemoryTierOptions options_;
    std::unique_ptr<Shard[]> shards_;
};

static_assert(check_tier<MemoryTier>());
static_assert(check_capabilities<MemoryTier>());

}  // namespace strata
