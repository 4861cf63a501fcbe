#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>  // uint8_t
#include <memory>   // unique_ptr
#include <stdexcept>
#include <string>
#include <string_view>

namespace strata {

// A SHA-256 digest. Computed once when a write is accepted and carried with
// the record everywhere it goes.
using Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256 for data that arrives in pieces (checkpoints, backups).
class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("strata: SHA-256 initialisation failed");
    }

    Sha256& update(std::string_view bytes) {
        if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1)
            throw std::runtime_error("strata: SHA-256 update failed");
        return *this;
    }

    Digest finish() {
        Digest d{};
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &len) != 1 || len != d.size())
            throw std::runtime_error("strata: SHA-256 finalisation failed");
        return d;
    }

private:
    struct Free {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

inline Digest sha256(std::string_view bytes) {
    Digest d{};
    unsigned int len = 0;
    // One-shot EVP_Digest avoids a context allocation per record.
    if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != d.size())
        throw std::runtime_error("strata: SHA-256 failed");
    return d;
}

inline std::string to_hex(const Digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(d.size() * 2, '0');
    for (std::size_t i = 0; i < d.size(); ++i) {
        s[2 * i] = digits[d[i] >> 4];
        s[2 * i + 1] = digits[d[i] & 0xF];
    }
    return s;
}

}  // namespace strata
