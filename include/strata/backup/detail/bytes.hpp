#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <span>
#include <string_view>

// What the backup ciphers share: the key size and a byte view of text.
namespace strata::detail::backup {

// AES-256 keys, HKDF outputs that become keys, and user keys: 32 bytes.
inline constexpr std::size_t key_size = 32;

inline std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace strata::detail::backup
