#pragma once

#include <cstddef>  // size_t
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

inline constexpr std::size_t max_key_size = 1024;

// Keys are checked before any tier is touched, so a bad key can never reach a
// backend half-way through a write.
inline void validate_key(std::string_view key) {
    if (key.empty()) throw std::invalid_argument("strata: key is empty");
    if (key.size() > max_key_size)
        throw std::invalid_argument("strata: key is " + std::to_string(key.size()) +
                                    " bytes, over the limit of " + std::to_string(max_key_size));
    if (key.find('\0') != std::string_view::npos)
        throw std::invalid_argument("strata: key contains a NUL byte");
}

// Keys strata keeps for itself in the tiers (recovery's probe records, for
// one) start with this. keys(), checkpoints, backups and rollbacks leave
// them out, so a probe caught mid-flight is never listed, captured or
// restored; an application's own keys should not use it.
inline constexpr std::string_view reserved_key_prefix = "__strata_";

inline bool is_reserved_key(std::string_view key) noexcept { return key.starts_with(reserved_key_prefix); }

// Drops strata's own keys from a tier's listing.
inline void erase_reserved_keys(std::vector<std::string>& keys) {
    std::erase_if(keys, [](const std::string& k) { return is_reserved_key(k); });
}

}  // namespace strata
