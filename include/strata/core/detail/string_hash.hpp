#pragma once

#include <cstddef>     // size_t
#include <cstdint>     // uint64_t
#include <functional>  // hash
#include <string_view>

// Two string hashes for two needs.
namespace strata::detail {

// std::hash: the fastest, but the same only within one process (the standard
// lets it differ by build or be seeded per run). For hash tables, cache
// shards and lock stripes that never leave the process. Hashes std::string
// and std::string_view alike, so lookups by view never allocate a key (use
// with std::equal_to<> in unordered containers).
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// FNV-1a 64: the same in every process, build and run. For anything another
// process or a later run must agree on, such as FileTier's lock-file stripes.
constexpr std::uint64_t stable_hash(std::string_view s) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

}  // namespace strata::detail
