#pragma once

#include <openssl/rand.h>

#include <cstdint>  // uint8_t
#include <span>
#include <stdexcept>

namespace strata::detail::backup {

// Keys, salts and nonces come from OpenSSL's CSPRNG; a failure to seed it is
// never papered over with weaker bytes.
inline void random_bytes(std::span<std::uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
        throw std::runtime_error("strata: the random generator failed");
}

}  // namespace strata::detail::backup
