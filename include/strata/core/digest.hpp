#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>  // uint8_t
#include <memory>   // unique_ptr
#include <stdexcept>
#include <string>
#include <string_view>

#include "strata/core/detail/hex.hpp"

namespace strata {

// A SHA-256 digest. Computed once when a write is accepted and carried with
// the record everywhere it goes.
using Digest = std::array<std::uint8_t, 32>;

namespace detail {

// OpenSSL 3 looks an algorithm up by name on every implicit use, which costs
// more than hashing a small record; fetch it once.
inline const EVP_MD* sha256_algorithm() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static const EVP_MD* const md = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched ? fetched : EVP_sha256();
    }();
    return md;
#else
    return EVP_sha256();
#endif
}

}  // namespace detail

// Incremental SHA-256 for data that arrives in pieces (checkpoints, backups).
class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), detail::sha256_algorithm(), nullptr) != 1)
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
    struct Free {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    // One context per thread, reset per call: no allocation per record.
    thread_local const std::unique_ptr<EVP_MD_CTX, Free> ctx(EVP_MD_CTX_new());
    Digest d{};
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), detail::sha256_algorithm(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1 || len != d.size())
        throw std::runtime_error("strata: SHA-256 failed");
    return d;
}

inline std::string to_hex(const Digest& d) { return detail::to_hex(d); }

}  // namespace strata
