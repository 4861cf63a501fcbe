#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <memory>   // unique_ptr
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "strata/backup/detail/bytes.hpp"  // key_size, as_bytes

// AES-256-GCM through OpenSSL's EVP_CIPHER, one context per sealer or opener
// so the key schedule is computed once per file, not per segment.
namespace strata::detail::backup {

inline constexpr std::size_t nonce_size = 12;
inline constexpr std::size_t tag_size = 16;
using Nonce = std::array<std::uint8_t, nonce_size>;

inline const EVP_CIPHER* aes_256_gcm() {
    static const EVP_CIPHER* const cipher = [] {
        const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
        return fetched ? fetched : EVP_aes_256_gcm();
    }();
    return cipher;
}

class Aes256Gcm {
public:
    enum class Direction { seal, open };

    Aes256Gcm(std::span<const std::uint8_t, key_size> key, Direction direction)
        : ctx_(EVP_CIPHER_CTX_new()), direction_(direction) {
        if (!ctx_ || EVP_CipherInit_ex(ctx_.get(), aes_256_gcm(), nullptr, key.data(), nullptr,
                                       direction == Direction::seal ? 1 : 0) != 1)
            throw std::runtime_error("strata: AES-256-GCM initialisation failed");
    }

    // Appends the ciphertext of `plain` and its tag to `out`.
    void seal(const Nonce& nonce, std::string_view aad, std::string_view plain, std::string& out) {
        const std::size_t at = out.size();
        out.resize(at + plain.size() + tag_size);
        auto* o = reinterpret_cast<std::uint8_t*>(out.data() + at);
        int len = 0, tail = 0;
        if (!start(nonce, aad) ||
            EVP_CipherUpdate(ctx_.get(), o, &len, as_bytes(plain).data(), static_cast<int>(plain.size())) != 1 ||
            EVP_CipherFinal_ex(ctx_.get(), o + len, &tail) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_GET_TAG, tag_size, o + plain.size()) != 1)
            throw std::runtime_error("strata: AES-256-GCM sealing failed");
    }

    // Appends the plaintext of `sealed` (ciphertext then tag) to `out`; false,
    // with `out` as it was, when the tag does not verify.
    bool open(const Nonce& nonce, std::string_view aad, std::string_view sealed, std::string& out) {
        if (sealed.size() < tag_size) return false;
        const std::size_t body = sealed.size() - tag_size, at = out.size();
        out.resize(at + body);
        auto* o = reinterpret_cast<std::uint8_t*>(out.data() + at);
        // The tag is input here; OpenSSL's ctrl is not const-correct.
        auto* tag = const_cast<char*>(sealed.data() + body);
        int len = 0, tail = 0;
        if (!start(nonce, aad) ||
            EVP_CipherUpdate(ctx_.get(), o, &len, as_bytes(sealed).data(), static_cast<int>(body)) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag) != 1 ||
            EVP_CipherFinal_ex(ctx_.get(), o + len, &tail) != 1) {
            out.resize(at);
            return false;
        }
        return true;
    }

private:
    bool start(const Nonce& nonce, std::string_view aad) {
        int len = 0;
        return EVP_CipherInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce.data(),
                                 direction_ == Direction::seal ? 1 : 0) == 1 &&
               (aad.empty() || EVP_CipherUpdate(ctx_.get(), nullptr, &len, as_bytes(aad).data(),
                                                static_cast<int>(aad.size())) == 1);
    }

    struct Free {
        void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
    };
    std::unique_ptr<EVP_CIPHER_CTX, Free> ctx_;
    Direction direction_;
};

}  // namespace strata::detail::backup
