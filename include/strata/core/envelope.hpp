#pragma once

#include <zlib.h>  // crc32

#include <chrono>
#include <cstdint>  // uint8_t, uint32_t, uint64_t, int64_t
#include <cstring>  // memcpy
#include <new>      // bad_alloc
#include <optional>
#include <string>
#include <string_view>

#include "strata/codec/zlib.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

namespace strata {

// Per-tier compression: only values above `threshold` bytes are compressed,
// and only when that makes them smaller (zlib costs ~10 µs on a 500-byte
// record for a ratio of ~1.5, more than a batched read of it).
struct CompressionOptions {
    bool enabled = true;
    std::size_t threshold = 1024;
    int level = 1;
};

// The one binary format of a record in tiers that store a blob (Redis, file,
// S3). All integers little-endian:
//
//   0  magic "STRA"            4 bytes
//   4  format version          1 (2; 1 in records of the previous release)
//   5  flags                   1 (bit 0 compressed, bit 1 encrypted, bit 2 expires)
//   6  reserved, zero          2
//   8  record version          8
//  16  updated_at, ns epoch    8 (signed)
//  24  expires_at, ns epoch    8 (signed, zero unless flag bit 2)
//  32  SHA-256 of the value    32
//  64  value size              8 (before compression)
//  72  payload size            8 (as stored)
//  80  CRC-32 of bytes 0-79    4 (zlib's crc32; absent in version 1)
//  84  payload                   (at 80 in version 1)
//
// The SHA-256 covers the value only; the CRC covers the rest of the header,
// so a flipped bit in an expiry or a version reads as corruption rather than
// as a different record.
namespace envelope {

inline constexpr std::string_view magic = "STRA";
inline constexpr std::uint8_t format_version = 2;
// The version 2 header, the longest: reading this many bytes of a blob gets
// the header of either version.
inline constexpr std::size_t header_size = 84;
inline constexpr std::size_t v1_header_size = 80;
inline constexpr std::uint8_t flag_compressed = 1u << 0;
inline constexpr std::uint8_t flag_encrypted = 1u << 1;
inline constexpr std::uint8_t flag_expires = 1u << 2;
inline constexpr std::uint8_t known_flags = flag_compressed | flag_encrypted | flag_expires;
// Refuses to allocate for a header that claims more than this.
inline constexpr std::uint64_t max_value_size = std::uint64_t{1} << 34;

// Everything a header says, read without the payload.
struct Header {
    std::uint8_t flags = 0;
    std::uint64_t version = 0;
    Clock::time_point updated_at{};
    std::optional<Clock::time_point> expires_at;
    Digest checksum{};
    std::uint64_t value_size = 0;
    std::uint64_t payload_size = 0;
    std::size_t size = 0;  // of the header itself: where the payload starts
};

namespace detail {

inline void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

inline void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

inline std::uint64_t get_u64(std::string_view in, std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
    return v;
}

inline std::uint32_t get_u32(std::string_view in, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
    return v;
}

inline std::int64_t to_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline Clock::time_point from_ns(std::int64_t ns) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

// Over every header byte before the CRC itself.
inline std::uint32_t header_crc(std::string_view in) {
    return static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(v1_header_size)));
}

[[noreturn]] inline void corrupt(const std::string& why) {
    throw Error(ErrorKind::corrupt, "", "decode", "record envelope " + why);
}

}  // namespace detail

inline std::string encode(const Record& r, const CompressionOptions& opt = {}) {
    std::string compressed;
    const bool compress = opt.enabled && r.value.size() > opt.threshold &&
                          (compressed = codec::zlib_compress(r.value, opt.level)).size() < r.value.size();
    const std::string_view payload = compress ? std::string_view(compressed) : std::string_view(r.value);

    std::uint8_t flags = 0;
    if (compress) flags |= flag_compressed;
    if (r.expires_at) flags |= flag_expires;

    std::string out;
    out.reserve(header_size + payload.size());
    out += magic;
    out += static_cast<char>(format_version);
    out += static_cast<char>(flags);
    out += std::string(2, '\0');
    detail::put_u64(out, r.version);
    detail::put_u64(out, static_cast<std::uint64_t>(detail::to_ns(r.updated_at)));
    detail::put_u64(out, r.expires_at ? static_cast<std::uint64_t>(detail::to_ns(*r.expires_at)) : 0);
    out.append(reinterpret_cast<const char*>(r.checksum.data()), r.checksum.size());
    detail::put_u64(out, r.value.size());
    detail::put_u64(out, payload.size());
    detail::put_u32(out, detail::header_crc(out));
    out += payload;
    return out;
}

// Validates every header field of `in`, which may end after the header, and
// throws Error{corrupt} on truncation, garbage, unknown versions or flags,
// and a version 2 header that fails its CRC. Version 1 headers (the previous
// release's) carry no CRC: a flipped bit in one goes unnoticed unless it
// breaks a field, until the record is rewritten as version 2.
inline Header decode_header(std::string_view in) {
    using namespace detail;
    if (in.size() < v1_header_size)
        corrupt("is truncated: " + std::to_string(in.size()) + " bytes, header needs " +
                std::to_string(v1_header_size));
    if (in.substr(0, 4) != magic) corrupt("has a bad magic number");
    Header h;
    switch (const auto v = static_cast<std::uint8_t>(in[4])) {
        case 1: h.size = v1_header_size; break;
        case 2: h.size = header_size; break;
        default: corrupt("has unknown format version " + std::to_string(v));
    }
    if (in.size() < h.size)
        corrupt("is truncated: " + std::to_string(in.size()) + " bytes, header needs " + std::to_string(h.size));
    h.flags = static_cast<std::uint8_t>(in[5]);
    if (h.flags & ~known_flags) corrupt("has unknown flags");
    if (h.flags & flag_encrypted) corrupt("is encrypted, which tiers never store");
    if (in[6] != 0 || in[7] != 0) corrupt("has non-zero reserved bytes");
    h.version = get_u64(in, 8);
    h.updated_at = from_ns(static_cast<std::int64_t>(get_u64(in, 16)));
    const auto expires = static_cast<std::int64_t>(get_u64(in, 24));
    if (h.flags & flag_expires)
        h.expires_at = from_ns(expires);
    else if (expires != 0)
        corrupt("has an expiry without its flag");
    std::memcpy(h.checksum.data(), in.data() + 32, h.checksum.size());
    h.value_size = get_u64(in, 64);
    h.payload_size = get_u64(in, 72);
    if (h.value_size > max_value_size) corrupt("claims an impossible value size");
    // Last, so damage that breaks a field is reported by name.
    if (h.size == header_size && get_u32(in, v1_header_size) != header_crc(in))
        corrupt("has a header that does not match its CRC");
    return h;
}

// The header of `in` if it decodes, for peeks (listing, sweeping) that act
// only on a sound one.
inline std::optional<Header> peek_header(std::string_view in) {
    try {
        return decode_header(in);
    } catch (const Error&) {
        return std::nullopt;
    }
}

// Decodes a whole blob; throws Error{corrupt} for anything decode_header
// refuses, a payload that does not match the header, and any failure to
// inflate, running out of memory included. A claimed value size is trusted
// only as far as the payload could produce it, so a lying header never
// costs more memory than the blob's own size allows. It does not check the
// checksum: that is the manager's job on every read, so the same check
// covers every tier.
inline Record decode(std::string_view in) {
    using namespace detail;
    const Header h = decode_header(in);
    if (h.payload_size != in.size() - h.size)
        corrupt("is truncated or padded: payload should be " + std::to_string(h.payload_size) + " bytes, is " +
                std::to_string(in.size() - h.size));
    const std::string_view payload = in.substr(h.size);
    if (h.flags & flag_compressed) {
        if (h.value_size > codec::zlib_max_inflated(payload.size()))
            corrupt("claims a value of " + std::to_string(h.value_size) + " bytes, more than its " +
                    std::to_string(payload.size()) + " compressed bytes can inflate to");
    } else if (h.value_size != h.payload_size) {
        corrupt("has mismatched value and payload sizes");
    }

    Record r;
    r.version = h.version;
    r.updated_at = h.updated_at;
    r.expires_at = h.expires_at;
    r.checksum = h.checksum;
    try {
        if (h.flags & flag_compressed)
            r.value = codec::zlib_decompress(payload, static_cast<std::size_t>(h.value_size));
        else
            r.value.assign(payload);
    } catch (const codec::ZlibError& e) {
        corrupt(std::string("payload: ") + e.what());
    } catch (const std::bad_alloc&) {
        corrupt("needs more memory for its " + std::to_string(h.value_size) + "-byte value than is available");
    }
    return r;
}

// For tiers: a stored blob that cannot be decoded becomes a record that fails
// verification, so one bad key never fails a whole batch.
inline Record decode_or_unreadable(std::string_view in) {
    try {
        return decode(in);
    } catch (const Error& e) {
        return unreadable_record(e.what());
    }
}

}  // namespace envelope
}  // namespace strata
