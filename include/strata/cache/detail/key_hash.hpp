#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <string_view>

#include "strata/core/detail/string_hash.hpp"

namespace strata::detail {

// A key with its hash, computed once per call: the shard choice, the table
// probe and the frequency sketch all reuse it.
struct HashedKey {
    std::string_view key;
    std::size_t hash;
};

// In-process only: caches never persist or share a hash.
inline std::size_t hash_key(std::string_view key) noexcept { return StringHash{}(key); }

inline HashedKey hashed(std::string_view key) noexcept { return {key, hash_key(key)}; }

// SplitMix64's finaliser: turns one hash into independent-looking bits, so
// shard selection and sketch rows do not correlate with table slots (which
// use the hash as it is) or with each other.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace strata::detail
