#pragma once

#include <charconv>  // from_chars
#include <cstddef>   // size_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/digest.hpp"
#include "strata/core/key.hpp"

namespace strata::detail {

// The manager's stale marks, kept across restarts as records in its first
// durable tier: "__strata_stale__/<tier index>/<sha256 of the key, hex>",
// whose value is the key. The hash keeps the record's name short whatever
// the key (a FileTier names files after keys); the value says which key.
inline constexpr std::string_view stale_mark_prefix = "__strata_stale__/";
static_assert(std::string_view(stale_mark_prefix).starts_with(reserved_key_prefix),
              "stale marks must be reserved keys, so that listings, captures and restores leave them out");

inline std::string stale_mark_key(std::size_t tier, std::string_view key) {
    return std::string(stale_mark_prefix) + std::to_string(tier) + "/" + to_hex(sha256(key));
}

inline std::string stale_mark_pattern() { return std::string(stale_mark_prefix) + "*"; }

// The tier index a mark's record name holds; nullopt for a name strata
// never writes.
inline std::optional<std::size_t> stale_mark_tier(std::string_view name) {
    if (!name.starts_with(stale_mark_prefix)) return std::nullopt;
    name.remove_prefix(stale_mark_prefix.size());
    std::size_t tier = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tier);
    if (ec != std::errc{} || end == name.data() || end == name.data() + name.size() || *end != '/')
        return std::nullopt;
    return tier;
}

}  // namespace strata::detail
