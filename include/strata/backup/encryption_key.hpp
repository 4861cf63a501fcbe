#pragma once

#include <fcntl.h>     // open
#include <sys/stat.h>  // fstat
#include <unistd.h>    // read, close

#include <openssl/crypto.h>  // OPENSSL_cleanse, CRYPTO_memcmp

#include <algorithm>  // copy
#include <array>
#include <cerrno>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint32_t, uint64_t
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "strata/backup/detail/bytes.hpp"  // key_size, as_bytes
#include "strata/backup/detail/kdf.hpp"
#include "strata/backup/detail/random.hpp"
#include "strata/core/detail/hex.hpp"
#include "strata/core/error.hpp"

namespace strata {

// How a key is made from a passphrase: scrypt's cost parameters and salt.
// They are not secret and are stored with the repository (in its key ring),
// so the same passphrase gives the same key again. The defaults take 32 MiB
// and ~0.1 s per derivation; tests may lower n.
struct KdfParams {
    std::uint64_t n = std::uint64_t{1} << 15;
    std::uint32_t r = 8;
    std::uint32_t p = 1;
    std::array<std::uint8_t, 16> salt{};

    // The defaults with a fresh random salt.
    static KdfParams generate() {
        KdfParams k;
        detail::backup::random_bytes(k.salt);
        return k;
    }

    friend bool operator==(const KdfParams&, const KdfParams&) = default;
};

// Names a key without revealing it: 16 bytes of HKDF-SHA256 of the key, so
// the id says which key wraps a repository and proves nothing else.
struct KeyId {
    std::array<std::uint8_t, 16> bytes{};

    std::string to_hex() const { return detail::to_hex(bytes); }
    friend bool operator==(const KeyId&, const KeyId&) = default;
};

class EncryptionKey;

namespace detail::backup {

// Bounds on stored scrypt parameters: a key ring read from a store must not
// make a process allocate gigabytes or spin for hours. Empty when fine.
inline std::string_view kdf_params_problem(const KdfParams& k) noexcept {
    if (k.n < 2 || (k.n & (k.n - 1)) != 0) return "scrypt's n must be a power of two of at least 2";
    if (k.r < 1 || k.r > 64 || k.p < 1 || k.p > 64) return "scrypt's r and p must be between 1 and 64";
    if (k.n > (std::uint64_t{1} << 24) || 128 * k.n * k.r > (std::uint64_t{1} << 30))
        return "scrypt's parameters ask for more than 1 GiB";
    return {};
}

// The one way to the bytes of a key, for the ciphers of this directory.
struct KeyAccess {
    static std::span<const std::uint8_t, key_size> bytes(const EncryptionKey& k) noexcept;
};

[[noreturn]] inline void key_file_error(ErrorKind kind, const std::filesystem::path& path, std::string_view why) {
    throw Error(kind, "backup key", "load", "key file '" + path.string() + "' " + std::string(why));
}

}  // namespace detail::backup

// A 256-bit key: a repository's data key, or a user key that wraps it (see
// KeyRing). The bytes never leave the object except into OpenSSL: there is
// no printer, no accessor, and errors name files, never contents. The bytes
// are wiped when the object dies. Copyable, because options structs that
// hold a key are copied; every copy wipes its own bytes.
class EncryptionKey {
public:
    static constexpr std::size_t size = detail::backup::key_size;

    static EncryptionKey generate() {
        EncryptionKey k;
        detail::backup::random_bytes(k.bytes_);
        return k;
    }

    // Exactly 32 bytes, else std::invalid_argument.
    static EncryptionKey from_bytes(std::span<const std::uint8_t> bytes) {
        if (bytes.size() != size)
            throw std::invalid_argument("strata: an encryption key is 32 bytes, not " +
                                        std::to_string(bytes.size()));
        EncryptionKey k;
        std::copy(bytes.begin(), bytes.end(), k.bytes_.begin());
        return k;
    }

    // A file of exactly 32 raw bytes, or of 64 hex digits and an optional
    // newline. Like ssh with its private keys, it refuses a file that anyone
    // but its owner may read or write (rejected: chmod 600 it), and anything
    // but a regular file (invalid). A missing file is not_found. Errors name
    // the path and never the contents.
    static EncryptionKey from_file(const std::filesystem::path& path) {
        using detail::backup::key_file_error;
        // Non-blocking, so a FIFO put in the key's place is refused rather
        // than waited on; regular files ignore the flag.
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
            const int err = errno;
            key_file_error(err == ENOENT || err == ENOTDIR ? ErrorKind::not_found
                           : err == EACCES || err == EPERM ? ErrorKind::rejected
                                                           : ErrorKind::unavailable,
                           path, "cannot be opened: " + std::generic_category().message(err));
        }
        struct Close {
            int fd;
            ~Close() { ::close(fd); }
        } closer{fd};
        struct stat st{};
        if (::fstat(fd, &st) != 0)
            key_file_error(ErrorKind::unavailable, path, "cannot be examined: " + std::generic_category().message(errno));
        if (!S_ISREG(st.st_mode)) key_file_error(ErrorKind::invalid, path, "is not a regular file");
        if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))
            key_file_error(ErrorKind::rejected, path, "may be read or written by others than its owner (chmod 600 it)");

        // One byte more than the longest valid file shows a longer one.
        struct Wiped {
            std::array<char, 2 * size + 2> bytes{};
            ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
        } buffer;
        std::size_t used = 0;
        while (used < buffer.bytes.size()) {
            const ssize_t got = ::read(fd, buffer.bytes.data() + used, buffer.bytes.size() - used);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) key_file_error(ErrorKind::unavailable, path, "cannot be read: " + std::generic_category().message(errno));
            if (got == 0) break;
            used += static_cast<std::size_t>(got);
        }
        const std::string_view text(buffer.bytes.data(), used);
        EncryptionKey k;
        if (used == size) {
            std::copy(text.begin(), text.end(), k.bytes_.begin());
            return k;
        }
        if (used == 2 * size || (used == 2 * size + 1 && text.back() == '\n')) {
            if (!detail::from_hex_into(text.substr(0, 2 * size), k.bytes_.data(), size))
                key_file_error(ErrorKind::invalid, path, "holds 64 characters that are not all hex digits");
            return k;
        }
        key_file_error(ErrorKind::invalid, path,
                       (used == buffer.bytes.size() ? "holds more than " + std::to_string(used - 1) + " bytes"
                                                    : "holds " + std::to_string(used) + " bytes") +
                           "; a key file holds 32 raw bytes or 64 hex digits and a newline");
    }

    // scrypt over the passphrase; the same passphrase and params give the
    // same key. The key remembers its params, so a key ring that takes it
    // stores them. An empty passphrase or unsafe params: std::invalid_argument.
    static EncryptionKey from_passphrase(std::string_view passphrase, const KdfParams& params) {
        if (passphrase.empty()) throw std::invalid_argument("strata: a passphrase must not be empty");
        if (const auto problem = detail::backup::kdf_params_problem(params); !problem.empty())
            throw std::invalid_argument("strata: " + std::string(problem));
        EncryptionKey k;
        detail::backup::scrypt(detail::backup::as_bytes(passphrase), params.salt, params.n, params.r, params.p,
                               k.bytes_);
        k.kdf_ = params;
        return k;
    }

    EncryptionKey(const EncryptionKey&) = default;
    EncryptionKey& operator=(const EncryptionKey&) = default;
    EncryptionKey(EncryptionKey&&) noexcept = default;
    EncryptionKey& operator=(EncryptionKey&&) noexcept = default;
    ~EncryptionKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

    KeyId id() const {
        KeyId id;
        detail::backup::hkdf_sha256(bytes_, {}, "strata key id v1", id.bytes);
        return id;
    }

    // Set when the key was made by from_passphrase.
    const std::optional<KdfParams>& kdf_params() const noexcept { return kdf_; }

    // In constant time, so comparing keys leaks nothing through timing.
    friend bool operator==(const EncryptionKey& a, const EncryptionKey& b) noexcept {
        return CRYPTO_memcmp(a.bytes_.data(), b.bytes_.data(), size) == 0;
    }

private:
    EncryptionKey() = default;
    friend struct detail::backup::KeyAccess;

    std::array<std::uint8_t, size> bytes_{};
    std::optional<KdfParams> kdf_;
};

inline std::span<const std::uint8_t, detail::backup::key_size> detail::backup::KeyAccess::bytes(
    const EncryptionKey& k) noexcept {
    return k.bytes_;
}

}  // namespace strata
