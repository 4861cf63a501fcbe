#pragma once

#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t

#include "strata/backup/encryption_key.hpp"

namespace strata::fuzz {

// The key the backup targets open with and make_seeds seals their seeds
// under (another `x` gives a key the targets do not hold).
inline EncryptionKey backup_key(std::uint8_t x = 0xA5) {
    std::array<std::uint8_t, 32> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(x ^ i);
    return EncryptionKey::from_bytes(b);
}

inline const EncryptionKey& fixed_backup_key() {
    static const EncryptionKey key = backup_key();
    return key;
}

}  // namespace strata::fuzz
