#pragma once

#include <algorithm>  // sort, unique, min
#include <chrono>
#include <concepts>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/key.hpp"  // erase_reserved_keys
#include "strata/core/record.hpp"

// Optional tier members, beyond what strata::Tier requires. Each is a named
// concept found with `if constexpr`; a tier that lacks one gets the fallback
// in detail:: below (or is passed over where none can be correct), never a
// dummy member. Decorators forward each exactly when the tier they wrap has it
// (a `requires` clause on the member).
namespace strata {

// peek_many(keys): fetch_many that leaves the tier's access bookkeeping alone
// (idle times, last_accessed), so tools (checkpoints, backups) can read every
// key without making it look recently used. Same results as fetch_many: input
// order, nullopt for absent or expired keys, unreadable records as fetch_many
// reports them.
template <class T>
concept HasPeekMany = requires(T& t, std::span<const std::string> keys) {
    { t.peek_many(keys) } -> std::same_as<std::vector<std::optional<Record>>>;
};

// idle_keys(age): keys neither read nor written (peeks do not count) for
// longer than `age`, never expired ones, in no particular order. What
// StateManager::demote_idle moves down. No fallback: a tier that keeps no
// access times cannot say.
template <class T>
concept HasIdleKeys = requires(T& t, std::chrono::milliseconds age) {
    { t.idle_keys(age) } -> std::same_as<std::vector<std::string>>;
};

// sweep_expired(): removes the tier's expired records now, rather than when
// they are next read; returns how many went. No fallback: the Tier calls never
// list an expired key, so nothing else can find them. Tiers whose backend
// expires records itself (Redis) need none.
template <class T>
concept HasSweepExpired = requires(T& t) {
    { t.sweep_expired() } -> std::convertible_to<std::size_t>;
};

// changed_since(version): the keys whose record version is greater than
// `version`, without duplicates, in no particular order, so an incremental
// backup reads only what changed. Expired records are left out, as keys()
// leaves them out: a key that expired reads as absent, which a caller must
// handle for erased keys anyway (changed_since cannot list those). A record
// whose version cannot be read (an unreadable blob) is listed, so the caller
// reads it and meets the damage instead of missing it.
template <class T>
concept HasChangedSince = requires(T& t, std::uint64_t version) {
    { t.changed_since(version) } -> std::same_as<std::vector<std::string>>;
};

// Says in words which capability a tier declares with the wrong signature:
// such a member would otherwise be silently passed over for the fallback.
// Call it beside check_tier (`static_assert(strata::check_capabilities<MyTier>())`).
template <class T>
constexpr bool check_capabilities() {
    static_assert(!requires { &T::peek_many; } || HasPeekMany<T>, "strata: peek_many must be"
                  " std::vector<std::optional<Record>> peek_many(std::span<const std::string>)");
    static_assert(!requires { &T::idle_keys; } || HasIdleKeys<T>,
                  "strata: idle_keys must be std::vector<std::string> idle_keys(std::chrono::milliseconds)");
    static_assert(!requires { &T::sweep_expired; } || HasSweepExpired<T>,
                  "strata: sweep_expired must be std::size_t sweep_expired()");
    static_assert(!requires { &T::changed_since; } || HasChangedSince<T>,
                  "strata: changed_since must be std::vector<std::string> changed_since(std::uint64_t)");
    return true;
}

namespace detail {

// peek_many when the tier has it; else fetch_many, which for a tier without
// peek_many is taken to have no bookkeeping worth sparing. A result of the
// wrong length is the tier's bug, reported as `invalid` under `op`, rather
// than records paired with the wrong keys.
template <class T>
std::vector<std::optional<Record>> peek_or_fetch(T& tier, std::span<const std::string> keys, const char* op) {
    std::vector<std::optional<Record>> got;
    if constexpr (HasPeekMany<T>)
        got = tier.peek_many(keys);
    else
        got = tier.fetch_many(keys);
    if (got.size() != keys.size())
        throw Error(ErrorKind::invalid, std::string(tier.name()), op,
                    "returned " + std::to_string(got.size()) + " results for " + std::to_string(keys.size()) + " keys");
    return got;
}

// Every key of a tier but strata's reserved ones, sorted bytewise, without
// duplicates: Tier::keys promises neither (Redis SCAN may report a key twice).
template <class T>
std::vector<std::string> all_keys_sorted(T& tier) {
    auto keys = tier.keys("*");
    erase_reserved_keys(keys);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

// Keys read per batch by the changed_since fallback, bounding its memory.
inline constexpr std::size_t changed_scan_batch = 1000;

// changed_since when the tier has it (reserved keys left out); else a full scan: every key, read in
// batches with peek_or_fetch, kept when its version is newer or unreadable.
// Keys that vanish or expire during the scan are left out, as the tier's own
// changed_since would leave them out a moment later.
template <class T>
std::vector<std::string> changed_since_or_scan(T& tier, std::uint64_t version) {
    if constexpr (HasChangedSince<T>) {
        auto keys = tier.changed_since(version);
        erase_reserved_keys(keys);
        return keys;
    } else {
        const auto keys = all_keys_sorted(tier);
        std::vector<std::string> out;
        for (std::size_t at = 0; at < keys.size(); at += changed_scan_batch) {
            const std::span<const std::string> batch(keys.data() + at, std::min(changed_scan_batch, keys.size() - at));
            const auto got = peek_or_fetch(tier, batch, "changed_since");
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const auto& r = got[i];
                // An all-zero checksum marks unreadable_record(): its version is unknown.
                if (r && (r->version > version || r->checksum == Digest{})) out.push_back(batch[i]);
            }
        }
        return out;
    }
}

}  // namespace detail
}  // namespace strata
