#pragma once

#include <cstdint>  // uint64_t
#include <cstring>  // memcpy
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // pair, move

#include "strata/backup/backup_info.hpp"
#include "strata/backup/detail/segmented_cipher.hpp"
#include "strata/backup/encryption_key.hpp"
#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/checkpoint_store.hpp"  // max_checkpoint_id_size
#include "strata/checkpoint/detail/format.hpp"  // put_u64, get_u64, put_bytes, to_ns, from_ns
#include "strata/checkpoint/detail/summary.hpp"
#include "strata/core/digest.hpp"
#include "strata/core/error.hpp"

// A backup's manifest: what list() shows, what the keyless structural check
// compares the stored bytes with, and what the key check authenticates.
//
// Stored as the backup's summary: plain size (8), the plain manifest (ending
// in the SHA-256 of what precedes it, so damage shows without a key), then
// the plain manifest sealed under the data key (so a changed parent, type or
// hash is caught by anyone holding the key, who alone could have written it).
//
// A backup's stream is two sealed files one after the other: the records
// (the checkpoint stream format, so the checkpoint reader checks structure,
// order, counts and every record's checksum) and the keys present at the cut
// per captured tier (what tells deletions).
namespace strata::detail::backup {

struct Part {
    std::uint64_t size = 0;  // sealed bytes as stored
    Digest sha256{};         // of those bytes
};

struct Manifest {
    BackupInfo info;
    CheckpointInfo records;  // the record stream's summary; its tiers are the captured tiers
    Part records_part, keys_part;
    Digest keys_hash{};  // SHA-256 of the key section's plaintext
};

inline constexpr std::string_view manifest_magic = "STRABMAN";
inline constexpr std::uint64_t manifest_version = 1;

inline void put_digest(std::string& out, const Digest& d) {
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
}

inline std::string encode_manifest(const Manifest& m) {
    using namespace detail::checkpoint;
    std::string s(manifest_magic);
    put_u64(s, manifest_version);
    put_bytes(s, m.info.id);
    put_u64(s, static_cast<std::uint64_t>(m.info.type));
    put_bytes(s, m.info.parent);
    put_u64(s, static_cast<std::uint64_t>(to_ns(m.info.created_at)));
    put_u64(s, m.info.key_count);
    put_u64(s, m.info.changed_keys);
    put_u64(s, m.info.deleted_keys);
    put_u64(s, m.info.version_cut);
    put_u64(s, m.info.writes_held ? 1 : 0);
    put_bytes(s, encode_summary(m.records));
    for (const Part* p : {&m.records_part, &m.keys_part}) {
        put_u64(s, p->size);
        put_digest(s, p->sha256);
    }
    put_digest(s, m.keys_hash);
    put_digest(s, sha256(s));
    return s;
}

// Reads fields in order; any overrun marks the whole manifest bad.
struct ManifestReader {
    std::string_view in;
    std::size_t at = 0;
    bool bad = false;

    std::string_view take(std::size_t n) {
        if (bad || in.size() - at < n) {
            bad = true;
            return {};
        }
        const auto s = in.substr(at, n);
        at += n;
        return s;
    }
    std::uint64_t u64() {
        const auto s = take(8);
        return bad ? 0 : detail::checkpoint::get_u64(s, 0);
    }
    std::string bytes(std::uint64_t limit) {
        const std::uint64_t n = u64();
        if (n > limit) bad = true;
        return std::string(take(bad ? 0 : static_cast<std::size_t>(n)));
    }
    Digest digest() {
        Digest d{};
        const auto s = take(d.size());
        if (!bad) std::memcpy(d.data(), s.data(), d.size());
        return d;
    }
};

// nullopt for anything but a whole, intact manifest of this format.
inline std::optional<Manifest> decode_manifest(std::string_view s) {
    if (s.size() < manifest_magic.size() + Digest{}.size() || !s.starts_with(manifest_magic)) return std::nullopt;
    const auto body = s.substr(0, s.size() - Digest{}.size());
    ManifestReader tail{s, body.size()};
    if (tail.digest() != sha256(body)) return std::nullopt;
    ManifestReader r{body, manifest_magic.size()};
    if (r.u64() != manifest_version) return std::nullopt;
    Manifest m;
    m.info.id = r.bytes(max_checkpoint_id_size);
    const auto type = r.u64();
    m.info.parent = r.bytes(max_checkpoint_id_size);
    m.info.created_at = detail::checkpoint::from_ns(static_cast<std::int64_t>(r.u64()));
    m.info.key_count = r.u64();
    m.info.changed_keys = r.u64();
    m.info.deleted_keys = r.u64();
    m.info.version_cut = r.u64();
    m.info.writes_held = r.u64() != 0;
    auto records = detail::checkpoint::decode_summary(r.bytes(std::uint64_t{16} << 20));
    for (Part* p : {&m.records_part, &m.keys_part}) {
        p->size = r.u64();
        p->sha256 = r.digest();
    }
    m.keys_hash = r.digest();
    if (r.bad || r.at != body.size() || !records || type >= backup_types.size()) return std::nullopt;
    m.info.type = static_cast<BackupType>(type);
    m.records = std::move(*records);
    m.info.stored_bytes = m.records_part.size + m.keys_part.size;
    if (is_base(m.info.type) != m.info.parent.empty()) return std::nullopt;
    return m;
}

[[noreturn]] inline void backup_error(ErrorKind kind, std::string_view op, std::string_view id, const std::string& why) {
    throw Error(kind, "backup", std::string(op), "backup '" + std::string(id) + "' " + why);
}

// The summary a store keeps for a backup.
inline std::string seal_manifest(const Manifest& m, const EncryptionKey& data_key) {
    const std::string plain = encode_manifest(m);
    std::string out;
    detail::checkpoint::put_u64(out, plain.size());
    out += plain;
    SegmentSealer sealer(data_key, SealOptions{.compression_level = 0});
    const auto append = [&](std::string_view bytes) { out += bytes; };
    sealer.write(plain, append);
    sealer.finish(append);
    return out;
}

// Splits a stored summary into the plain manifest and its sealed copy.
inline std::optional<std::pair<std::string_view, std::string_view>> split_summary(std::string_view stored) {
    if (stored.size() < 8) return std::nullopt;
    const std::uint64_t n = detail::checkpoint::get_u64(stored, 0);
    if (n > stored.size() - 8) return std::nullopt;
    return std::pair{stored.substr(8, n), stored.substr(8 + n)};
}

// Keyless: the manifest as stored, or Error{corrupt}.
inline Manifest read_manifest(std::string_view stored, std::string_view id, std::string_view op) {
    const auto parts = split_summary(stored);
    auto m = parts ? decode_manifest(parts->first) : std::nullopt;
    if (!m || m->info.id != id || m->records.id != id) backup_error(ErrorKind::corrupt, op, id, "has a damaged manifest");
    return std::move(*m);
}

// Checks the sealed copy under the data key: Error{rejected} for a backup of
// another repository's key, Error{corrupt} for a manifest changed since.
inline void authenticate_manifest(std::string_view stored, const EncryptionKey& data_key, std::string_view id) {
    const auto parts = split_summary(stored);
    if (!parts) backup_error(ErrorKind::corrupt, "verify", id, "has a damaged manifest");
    std::string opened;
    const auto append = [&](std::string_view bytes) { opened += bytes; };
    SegmentOpener opener(data_key, std::string(id) + "/manifest");
    opener.write(parts->second, append);
    opener.finish(append);
    if (opened != parts->first) backup_error(ErrorKind::corrupt, "verify", id, "has a manifest changed after sealing");
}

}  // namespace strata::detail::backup
