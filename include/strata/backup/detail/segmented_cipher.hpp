#pragma once

#include <openssl/crypto.h>  // OPENSSL_cleanse, CRYPTO_memcmp

#include <algorithm>  // min, max, copy
#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint32_t, uint64_t
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "strata/backup/detail/aead.hpp"
#include "strata/backup/detail/kdf.hpp"
#include "strata/backup/detail/random.hpp"
#include "strata/backup/detail/segment_format.hpp"
#include "strata/backup/encryption_key.hpp"
#include "strata/codec/zlib.hpp"

// Streaming encryption of one backup file (layout in segment_format.hpp), the
// online AEAD of Hoang, Reyhanitabar, Rogaway and Vizár ("STREAM", as in
// Tink's streaming AEAD): each file has its own key, HKDF-SHA256 of the data
// key and a random salt; each segment is sealed with AES-256-GCM under a
// nonce made of its index and a last-segment flag, with the file header as
// associated data. So a segment moved, dropped, repeated, taken from another
// file or followed by more bytes fails authentication, and memory stays
// bounded by the segment size however large the file.
namespace strata::detail::backup {

struct SealOptions {
    std::uint32_t segment_size = 64 * 1024;
    // zlib's level, 0 for none. A segment is stored deflated only when that
    // makes it smaller, so incompressible data costs no more than its size
    // (and, after a few segments, no deflate time: see max_backoff).
    int compression_level = 1;
};

// The file key, HKDF-SHA256 of the data key and the file's salt, and the key
// check, HKDF-SHA256 of the data key alone. The check tells a wrong key from
// damage, which GCM alone cannot; it does not depend on the salt, so a
// damaged salt is damage, not a wrong key. Through HKDF, neither reveals
// anything of the data key.
struct FileKeys {
    std::array<std::uint8_t, key_size> file_key{};
    std::array<std::uint8_t, key_check_size> key_check{};

    FileKeys(const EncryptionKey& data_key, std::span<const std::uint8_t, salt_size> salt) {
        hkdf_sha256(KeyAccess::bytes(data_key), salt, "strata backup file v1", file_key);
        hkdf_sha256(KeyAccess::bytes(data_key), {}, "strata backup key check v1", key_check);
    }
    FileKeys(const FileKeys&) = delete;
    FileKeys& operator=(const FileKeys&) = delete;
    ~FileKeys() { OPENSSL_cleanse(file_key.data(), file_key.size()); }
};

// Seven zero bytes, the segment index (big-endian, as in STREAM) and the
// last-segment flag. No random prefix is needed: no two files share a key.
inline Nonce segment_nonce(std::uint32_t index, bool last) noexcept {
    Nonce n{};
    for (int i = 0; i < 4; ++i) n[7 + i] = static_cast<std::uint8_t>(index >> (8 * (3 - i)));
    n[11] = last ? 1 : 0;
    return n;
}

// Takes plaintext in pieces of any size; hands out the file in pieces.
class SegmentSealer {
public:
    explicit SegmentSealer(const EncryptionKey& data_key, SealOptions options = {})
        : options_(validate(options)), header_(make_header(options_.segment_size)),
          keys_(data_key, header_.salt), aead_(keys_.file_key, Aes256Gcm::Direction::seal) {
        std::copy(keys_.key_check.begin(), keys_.key_check.end(), header_.key_check.begin());
        aad_ = encode_header(header_);
        plain_.reserve(options_.segment_size);
    }

    // out(std::string_view) receives the file's bytes.
    template <class Out>
    void write(std::string_view in, Out&& out) {
        start(out);
        while (!in.empty()) {
            if (plain_.size() == options_.segment_size) seal(false, out);
            const std::size_t take = std::min(in.size(), options_.segment_size - plain_.size());
            plain_.append(in.data(), take);
            in.remove_prefix(take);
        }
    }

    // Seals the last segment. No write may follow.
    template <class Out>
    void finish(Out&& out) {
        start(out);
        seal(true, out);
    }

    std::uint64_t plaintext_bytes() const noexcept { return plaintext_bytes_; }

private:
    static SealOptions validate(SealOptions o) {
        if (o.segment_size < min_segment_size || o.segment_size > max_segment_size)
            throw std::invalid_argument("strata: a backup segment size must be between 64 bytes and 4 MiB");
        if (o.compression_level < 0 || o.compression_level > 9)
            throw std::invalid_argument("strata: a zlib level must be between 0 and 9");
        return o;
    }

    static FileHeader make_header(std::uint32_t segment_size) {
        FileHeader h;
        h.segment_size = segment_size;
        random_bytes(h.salt);
        return h;
    }

    template <class Out>
    void start(Out& out) {
        if (started_) return;
        started_ = true;
        out(std::string_view(aad_));
    }

    template <class Out>
    void seal(bool last, Out& out) {
        if (index_ > 0xFFFFFFFFu) throw std::length_error("strata: a backup file holds at most 2^32 segments");
        body_.clear();
        std::string deflated;
        const bool attempt = options_.compression_level > 0 && !plain_.empty() && skip_ == 0;
        if (skip_ > 0) --skip_;
        if (attempt) deflated = codec::zlib_compress(plain_, options_.compression_level);
        const bool shrank = attempt && 4 + deflated.size() < plain_.size();
        if (attempt) {
            backoff_ = shrank ? 0 : std::min<std::uint32_t>(std::max<std::uint32_t>(1, 2 * backoff_), max_backoff);
            skip_ = backoff_;
        }
        if (shrank) {
            body_ += static_cast<char>(body_deflated);
            envelope::detail::put_u32(body_, static_cast<std::uint32_t>(plain_.size()));
            body_ += deflated;
        } else {
            body_ += static_cast<char>(body_stored);
            body_ += plain_;
        }
        frame_.clear();
        envelope::detail::put_u32(frame_, static_cast<std::uint32_t>(body_.size() + tag_size));
        aead_.seal(segment_nonce(static_cast<std::uint32_t>(index_), last), aad_, body_, frame_);
        out(std::string_view(frame_));
        plaintext_bytes_ += plain_.size();
        plain_.clear();
        ++index_;
    }

    // A segment that did not shrink makes the next 1, 2, 4, ... up to 64
    // skip zlib: incompressible data (values already compressed or
    // encrypted) then costs almost no deflate time, and data that turns
    // compressible again is noticed within 64 segments.
    static constexpr std::uint32_t max_backoff = 64;

    SealOptions options_;
    FileHeader header_;
    FileKeys keys_;
    Aes256Gcm aead_;
    std::string aad_;
    std::string plain_, body_, frame_;
    std::uint64_t index_ = 0;
    std::uint64_t plaintext_bytes_ = 0;
    std::uint32_t skip_ = 0, backoff_ = 0;
    bool started_ = false;
};

// Takes a file in pieces of any size; hands out each segment's plaintext
// once it has been authenticated. The file as a whole is authentic only when
// finish() returns: a caller that acts on what it reads verifies first (one
// pass into nothing), as a truncated file is only known at its end.
//
// A wrong data key fails with Error{rejected}; anything else that does not
// authenticate with Error{corrupt}. The key check tells them apart; a damaged
// key check with the right key is corrupt, as the first segment still opens
// under the check the key gives.
class SegmentOpener {
public:
    SegmentOpener(const EncryptionKey& data_key, std::string name)
        : data_key_(data_key), frames_("open", std::move(name)) {}

    // out(std::string_view) receives the plaintext.
    template <class Out>
    void write(std::string_view in, Out&& out) {
        frames_.write(in, [&](std::string_view sealed, std::uint32_t index, bool last) {
            open(sealed, index, last, out);
        });
    }

    template <class Out>
    void finish(Out&& out) {
        try {
            frames_.finish([&](std::string_view sealed, std::uint32_t index, bool last) {
                open(sealed, index, last, out);
            });
        } catch (const Error&) {
            // A file too short to show whether the key is right is more
            // likely opened with the wrong key than damaged before segment 0.
            if (!opened_any_ && frames_.header()) {
                if (!keys_) begin(*frames_.header());
                if (key_mismatch_) wrong_key();
            }
            throw;
        }
    }

    std::uint64_t plaintext_bytes() const noexcept { return plaintext_bytes_; }
    std::uint64_t segments() const noexcept { return frames_.segments(); }

private:
    template <class Out>
    void open(std::string_view sealed, std::uint32_t index, bool last, Out& out) {
        const FileHeader& h = *frames_.header();
        if (!keys_) begin(h);
        opened_any_ = true;
        plain_.clear();
        if (!aead_->open(segment_nonce(index, last), aad_, sealed, plain_)) {
            if (key_mismatch_) wrong_key();
            fail("segment " + std::to_string(index) +
                 " does not authenticate (altered, moved, dropped, or from another file)");
        }
        if (key_mismatch_) fail("has a damaged key check");
        const std::string_view data = unpack(index);
        const bool full = data.size() == h.segment_size;
        if (last ? data.size() > h.segment_size || (data.empty() && index > 0) : !full)
            fail("segment " + std::to_string(index) + " holds " + std::to_string(data.size()) + " bytes");
        plaintext_bytes_ += data.size();
        out(data);
    }

    void begin(const FileHeader& h) {
        keys_.emplace(data_key_, h.salt);
        key_mismatch_ = CRYPTO_memcmp(keys_->key_check.data(), h.key_check.data(), key_check_size) != 0;
        // The header as the right key would have sealed it: with a damaged
        // key check, segments still authenticate, which is how damage is
        // told from a wrong key.
        FileHeader expected = h;
        std::copy(keys_->key_check.begin(), keys_->key_check.end(), expected.key_check.begin());
        aad_ = encode_header(expected);
        aead_.emplace(keys_->file_key, Aes256Gcm::Direction::open);
    }

    std::string_view unpack(std::uint32_t index) {
        const std::string_view body(plain_);
        if (body.front() == static_cast<char>(body_stored)) return body.substr(1);
        if (body.front() != static_cast<char>(body_deflated) || body.size() < 5)
            fail("segment " + std::to_string(index) + " has an unknown body");
        const std::uint32_t size = envelope::detail::get_u32(body, 1);
        if (size > frames_.header()->segment_size)
            fail("segment " + std::to_string(index) + " claims " + std::to_string(size) + " bytes");
        try {
            inflated_ = codec::zlib_decompress(body.substr(5), size);
        } catch (const codec::ZlibError& e) {
            fail("segment " + std::to_string(index) + " does not inflate: " + e.what());
        }
        return inflated_;
    }

    [[noreturn]] void wrong_key() const {
        file_error(ErrorKind::rejected, "open", name(),
                   "was not sealed with this key (the key check does not match): use the repository's key");
    }
    [[noreturn]] void fail(const std::string& why) const { file_error(ErrorKind::corrupt, "open", name(), why); }
    const std::string& name() const noexcept { return frames_.name(); }

    EncryptionKey data_key_;
    FrameSplitter frames_;
    std::optional<FileKeys> keys_;
    std::optional<Aes256Gcm> aead_;
    std::string aad_;
    std::string plain_, inflated_;
    std::uint64_t plaintext_bytes_ = 0;
    bool key_mismatch_ = false;
    bool opened_any_ = false;
};

}  // namespace strata::detail::backup
