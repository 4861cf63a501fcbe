#pragma once

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdint>  // uint8_t, uint32_t, uint64_t
#include <memory>   // unique_ptr
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "strata/backup/detail/bytes.hpp"  // as_bytes

// The two key derivations of backups, through OpenSSL 3's EVP_KDF: HKDF-SHA256
// (RFC 5869) for per-file keys, key checks and key ids, and scrypt (RFC 7914)
// for keys made from passphrases.
namespace strata::detail::backup {

// OpenSSL 3 looks an algorithm up by name on every implicit use; fetch once.
inline EVP_KDF* fetch_kdf(const char* name) {
    EVP_KDF* kdf = EVP_KDF_fetch(nullptr, name, nullptr);
    if (!kdf) throw std::runtime_error(std::string("strata: OpenSSL offers no ") + name);
    return kdf;
}

inline void derive(EVP_KDF* kdf, const OSSL_PARAM* params, std::span<std::uint8_t> out, const char* what) {
    struct Free {
        void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
    };
    const std::unique_ptr<EVP_KDF_CTX, Free> ctx(EVP_KDF_CTX_new(kdf));
    if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1)
        throw std::runtime_error(std::string("strata: ") + what + " failed");
}

// OSSL_PARAM takes non-const pointers but never writes through input octets.
inline OSSL_PARAM octets(const char* key, std::span<const std::uint8_t> bytes) {
    return OSSL_PARAM_construct_octet_string(key, const_cast<std::uint8_t*>(bytes.data()), bytes.size());
}

inline void hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                        std::string_view info, std::span<std::uint8_t> out) {
    static EVP_KDF* const kdf = fetch_kdf("HKDF");
    char digest[] = "SHA256";
    OSSL_PARAM params[5];
    std::size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
    // No salt means RFC 5869's string of zeros, which OpenSSL supplies itself.
    if (!salt.empty()) params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
    params[n++] = octets(OSSL_KDF_PARAM_INFO, as_bytes(info));
    params[n] = OSSL_PARAM_construct_end();
    derive(kdf, params, out, "HKDF-SHA256");
}

// The caller bounds n, r and p (see kdf_params_problem): memory is 128 * r * n
// bytes, which OpenSSL refuses above its own ceiling unless told the budget.
inline void scrypt(std::span<const std::uint8_t> password, std::span<const std::uint8_t> salt, std::uint64_t n,
                   std::uint32_t r, std::uint32_t p, std::span<std::uint8_t> out) {
    static EVP_KDF* const kdf = fetch_kdf("SCRYPT");
    std::uint64_t maxmem = 128 * std::uint64_t{r} * (n + 2 + p) + (std::uint64_t{1} << 20);
    OSSL_PARAM params[] = {octets(OSSL_KDF_PARAM_PASSWORD, password),
                           octets(OSSL_KDF_PARAM_SALT, salt),
                           OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
                           OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
                           OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
                           OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
                           OSSL_PARAM_construct_end()};
    derive(kdf, params, out, "scrypt");
}

}  // namespace strata::detail::backup
