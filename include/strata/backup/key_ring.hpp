#pragma once

#include <algorithm>  // find_if, any_of, copy_n
#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint32_t, uint64_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/backup/detail/aead.hpp"
#include "strata/backup/detail/kdf.hpp"
#include "strata/backup/detail/random.hpp"
#include "strata/backup/encryption_key.hpp"
#include "strata/core/digest.hpp"
#include "strata/core/envelope.hpp"  // put_u32, put_u64, get_u32, get_u64
#include "strata/core/error.hpp"

// A key ring's bytes. Integers little-endian.
//
//   0  magic "STRAKEYS"            8
//   8  format version              1
//   9  reserved, zero              3
//  12  slot count                  4 (1 to 64)
//  16  id of the data key          16
//  32  slots, each:
//        id of the user key        16
//        kind                      1 (0 key, 1 passphrase)
//        scrypt n, r, p, salt      8, 4, 4, 16 (passphrase slots only)
//        nonce                     12
//        wrapped data key, tag     32, 16
//      SHA-256 of all before       32
//
// The SHA-256 catches damage anywhere, before any key is tried. Each slot's
// AES-256-GCM binds the ring's magic, version and data key id and the slot's
// own fields, and the unwrapped key must have the ring's data key id, so a
// slot changed, moved between rings or forged under another data key fails.
namespace strata::detail::backup {

inline constexpr std::string_view ring_magic = "STRAKEYS";
inline constexpr std::uint8_t ring_format_version = 1;
inline constexpr std::size_t ring_header_size = 32;
inline constexpr std::size_t max_ring_slots = 64;
inline constexpr std::uint8_t slot_key = 0;
inline constexpr std::uint8_t slot_passphrase = 1;
inline constexpr std::size_t wrapped_size = key_size + tag_size;

[[noreturn]] inline void ring_error(ErrorKind kind, std::string_view op, const std::string& why) {
    throw Error(kind, "key ring", std::string(op), why);
}

// Reads a ring's fields in order, any overrun being damage.
struct RingReader {
    std::string_view in;
    std::size_t at = 0;

    std::string_view take(std::size_t n) {
        if (in.size() - at < n) ring_error(ErrorKind::corrupt, "parse", "is truncated");
        const std::string_view s = in.substr(at, n);
        at += n;
        return s;
    }
    template <std::size_t N>
    void take_into(std::array<std::uint8_t, N>& out) {
        std::copy_n(take(N).data(), N, reinterpret_cast<char*>(out.data()));
    }
    std::uint32_t u32() { return envelope::detail::get_u32(take(4), 0); }
    std::uint64_t u64() { return envelope::detail::get_u64(take(8), 0); }
    std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
};

}  // namespace strata::detail::backup

namespace strata {

// A repository's data key, wrapped by one or more user keys. Files are
// sealed under the data key, so adding, rotating or removing a user key
// rewrites the ring only, never the data. A user key made from a passphrase
// keeps its scrypt parameters in its slot, so the passphrase alone unwraps.
// Every operation either completes or leaves the ring as it was.
class KeyRing {
public:
    // A ring with a fresh random data key, wrapped by `user`.
    static KeyRing create(const EncryptionKey& user) {
        const EncryptionKey data = EncryptionKey::generate();
        KeyRing ring;
        ring.data_id_ = data.id();
        ring.slots_.push_back(ring.wrap(data, user));
        return ring;
    }

    // Bytes from serialize(): damage is corrupt, a newer format invalid.
    static KeyRing parse(std::string_view bytes) {
        using namespace detail::backup;
        if (bytes.size() < ring_header_size + Digest{}.size() || bytes.substr(0, ring_magic.size()) != ring_magic)
            ring_error(ErrorKind::corrupt, "parse", "is not a strata key ring (no STRAKEYS magic)");
        const std::string_view body = bytes.substr(0, bytes.size() - Digest{}.size());
        const Digest stored = [&] {
            Digest d;
            std::copy_n(bytes.data() + body.size(), d.size(), reinterpret_cast<char*>(d.data()));
            return d;
        }();
        const auto version = static_cast<std::uint8_t>(bytes[8]);
        if (version > ring_format_version)
            ring_error(ErrorKind::invalid, "parse",
                       "has format version " + std::to_string(version) + ", newer than this strata reads");
        if (sha256(body) != stored) ring_error(ErrorKind::corrupt, "parse", "is damaged (its SHA-256 does not match)");

        RingReader r{body, ring_magic.size() + 1};
        if (version != ring_format_version || r.take(3) != std::string_view("\0\0\0", 3))
            ring_error(ErrorKind::corrupt, "parse", "has a damaged header");
        const std::uint32_t count = r.u32();
        if (count < 1 || count > max_ring_slots)
            ring_error(ErrorKind::corrupt, "parse", "claims " + std::to_string(count) + " user keys");
        KeyRing ring;
        r.take_into(ring.data_id_.bytes);
        for (std::uint32_t i = 0; i < count; ++i) {
            Slot s;
            r.take_into(s.id.bytes);
            const std::uint8_t kind = r.u8();
            if (kind == slot_passphrase) {
                KdfParams k;
                k.n = r.u64();
                k.r = r.u32();
                k.p = r.u32();
                r.take_into(k.salt);
                if (const auto problem = kdf_params_problem(k); !problem.empty())
                    ring_error(ErrorKind::corrupt, "parse", "has a damaged slot: " + std::string(problem));
                s.kdf = k;
            } else if (kind != slot_key) {
                ring_error(ErrorKind::corrupt, "parse", "has a slot of unknown kind " + std::to_string(kind));
            }
            r.take_into(s.nonce);
            r.take_into(s.wrapped);
            if (ring.find(s.id)) ring_error(ErrorKind::corrupt, "parse", "holds one user key twice");
            ring.slots_.push_back(s);
        }
        if (r.at != body.size()) ring_error(ErrorKind::corrupt, "parse", "has bytes after its last slot");
        return ring;
    }

    std::string serialize() const {
        std::string out(detail::backup::ring_magic);
        out += static_cast<char>(detail::backup::ring_format_version);
        out.append(3, '\0');
        envelope::detail::put_u32(out, static_cast<std::uint32_t>(slots_.size()));
        append(out, data_id_.bytes);
        for (const Slot& s : slots_) {
            out += slot_fields(s);
            append(out, s.nonce);
            append(out, s.wrapped);
        }
        const Digest d = sha256(out);
        append(out, d);
        return out;
    }

    // The data key, unwrapped by a user key of the ring; any other key is
    // rejected.
    EncryptionKey unwrap(const EncryptionKey& user) const {
        const Slot* s = find(user.id());
        if (!s) no_match();
        return open(*s, user);
    }

    // The data key, unwrapped by the passphrase of a passphrase slot (scrypt
    // once per such slot until one matches).
    EncryptionKey unwrap_passphrase(std::string_view passphrase) const {
        if (passphrase.empty()) no_match();
        for (const Slot& s : slots_) {
            if (!s.kdf) continue;
            const EncryptionKey user = EncryptionKey::from_passphrase(passphrase, *s.kdf);
            if (user.id() == s.id) return open(s, user);
        }
        no_match();
    }

    // Wraps the data key for `added` too; `holder` is a key already in the
    // ring. A key already in the ring is a conflict.
    void add(const EncryptionKey& holder, const EncryptionKey& added) {
        if (find(added.id()))
            detail::backup::ring_error(ErrorKind::conflict, "add", "already holds user key " + added.id().to_hex());
        const EncryptionKey data = unwrap(holder);
        if (slots_.size() == detail::backup::max_ring_slots)
            detail::backup::ring_error(ErrorKind::invalid, "add", "holds 64 user keys, the most it can");
        slots_.push_back(wrap(data, added));
    }

    // Drops a user key. The last one stays: without it the data is lost.
    void remove(const KeyId& id) {
        const auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.id == id; });
        if (it == slots_.end())
            detail::backup::ring_error(ErrorKind::not_found, "remove", "holds no user key " + id.to_hex());
        if (slots_.size() == 1)
            detail::backup::ring_error(ErrorKind::invalid, "remove",
                                       "keeps its last user key: add another before removing this one");
        slots_.erase(it);
    }

    // Replaces `old_key` by `new_key`, as one step.
    void rotate(const EncryptionKey& old_key, const EncryptionKey& new_key) {
        KeyRing next = *this;
        next.add(old_key, new_key);
        next.remove(old_key.id());
        *this = std::move(next);
    }

    std::vector<KeyId> key_ids() const {
        std::vector<KeyId> ids;
        for (const Slot& s : slots_) ids.push_back(s.id);
        return ids;
    }
    const KeyId& data_key_id() const noexcept { return data_id_; }

private:
    struct Slot {
        KeyId id;
        std::optional<KdfParams> kdf;
        detail::backup::Nonce nonce{};
        std::array<std::uint8_t, detail::backup::wrapped_size> wrapped{};
    };

    KeyRing() = default;

    template <std::size_t N>
    static void append(std::string& out, const std::array<std::uint8_t, N>& bytes) {
        out.append(reinterpret_cast<const char*>(bytes.data()), N);
    }

    static std::string slot_fields(const Slot& s) {
        std::string out;
        append(out, s.id.bytes);
        out += static_cast<char>(s.kdf ? detail::backup::slot_passphrase : detail::backup::slot_key);
        if (s.kdf) {
            envelope::detail::put_u64(out, s.kdf->n);
            envelope::detail::put_u32(out, s.kdf->r);
            envelope::detail::put_u32(out, s.kdf->p);
            append(out, s.kdf->salt);
        }
        return out;
    }

    std::string aad(const Slot& s) const {
        std::string out(detail::backup::ring_magic);
        out += static_cast<char>(detail::backup::ring_format_version);
        append(out, data_id_.bytes);
        out += slot_fields(s);
        return out;
    }

    // The user key itself never meets AES directly: its wrapping key is
    // derived, so the same user key serves other purposes safely.
    static detail::backup::Aes256Gcm wrapper(const EncryptionKey& user, detail::backup::Aes256Gcm::Direction d) {
        struct Wiped {
            std::array<std::uint8_t, detail::backup::key_size> bytes{};
            ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
        } key;
        detail::backup::hkdf_sha256(detail::backup::KeyAccess::bytes(user), {}, "strata key ring wrap v1", key.bytes);
        return detail::backup::Aes256Gcm(key.bytes, d);
    }

    Slot wrap(const EncryptionKey& data, const EncryptionKey& user) const {
        Slot s;
        s.id = user.id();
        s.kdf = user.kdf_params();
        detail::backup::random_bytes(s.nonce);
        const auto key = detail::backup::KeyAccess::bytes(data);
        std::string sealed;
        wrapper(user, detail::backup::Aes256Gcm::Direction::seal)
            .seal(s.nonce, aad(s), std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), sealed);
        std::copy(sealed.begin(), sealed.end(), reinterpret_cast<char*>(s.wrapped.data()));
        return s;
    }

    EncryptionKey open(const Slot& s, const EncryptionKey& user) const {
        std::string plain;
        const std::string_view sealed(reinterpret_cast<const char*>(s.wrapped.data()), s.wrapped.size());
        const bool ok = wrapper(user, detail::backup::Aes256Gcm::Direction::open).open(s.nonce, aad(s), sealed, plain);
        struct Wipe {
            std::string& s;
            ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
        } wipe{plain};
        if (!ok || plain.size() != detail::backup::key_size)
            detail::backup::ring_error(ErrorKind::corrupt, "unwrap",
                                       "has a damaged slot for user key " + s.id.to_hex());
        EncryptionKey data = EncryptionKey::from_bytes(detail::backup::as_bytes(plain));
        if (data.id() != data_id_)
            detail::backup::ring_error(ErrorKind::corrupt, "unwrap",
                                       "slot for user key " + s.id.to_hex() + " holds another repository's data key");
        return data;
    }

    const Slot* find(const KeyId& id) const {
        const auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.id == id; });
        return it == slots_.end() ? nullptr : &*it;
    }

    [[noreturn]] static void no_match() {
        detail::backup::ring_error(ErrorKind::rejected, "unwrap", "no user key of this repository matches");
    }

    KeyId data_id_;
    std::vector<Slot> slots_;
};

}  // namespace strata
