#pragma once

#include <chrono>
#include <cstdint>  // uint8_t, uint64_t, int64_t
#include <cstring>  // memcpy
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
//   4  format version          1 (currently 1)
//   5  flags                   1 (bit 0 compressed, bit 1 encrypted, bit 2 expires)
//   6  reserved, zero          2
//   8  record version          8
//  16  updated_at, ns epoch    8 (signed)
//  24  expires_at, ns epoch    8 (signed, zero unless flag bit 2)
//  32  SHA-256 of the value    32
//  64  value size              8 (before compression)
//  72  payload size            8 (as stored)
//  80  payload
namespace envelope {

inline constexpr std::string_view magic = "STRA";
inline constexpr std::uint8_t format_version = 1;
inline constexpr std::size_t header_size = 80;
inline constexpr std::uint8_t flag_compressed = 1u << 0;
inline constexpr std::uint8_t flag_encrypted = 1u << 1;
inline constexpr std::uint8_t flag_expires = 1u << 2;
inline constexpr std::uint8_t known_flags = flag_compressed | flag_encrypted | flag_expires;
// Refuses to allocate for a header that claims more than this.
inline constexpr std::uint64_t max_value_size = std::uint64_t{1} << 34;

namespace detail {

inline void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

inline std::uint64_t get_u64(std::string_view in, std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
    return v;
}

inline std::int64_t to_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline Clock::time_point from_ns(std::int64_t ns) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
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
    out += payload;
    return out;
}

// Validates every field and throws Error{corrupt} on truncation, garbage,
// unknown versions or flags. It does not check the checksum: that is the
// manager's job on every read, so the same check covers every tier.
inline Record decode(std::string_view in) {
    using namespace detail;
    if (in.size() < header_size)
        corrupt("is truncated: " + std::to_string(in.size()) + " bytes, header needs " + std::to_string(header_size));
    if (in.substr(0, 4) != magic) corrupt("has a bad magic number");
    if (static_cast<std::uint8_t>(in[4]) != format_version)
        corrupt("has unknown format version " + std::to_string(static_cast<std::uint8_t>(in[4])));
    const auto flags = static_cast<std::uint8_t>(in[5]);
    if (flags & ~known_flags) corrupt("has unknown flags");
    if (flags & flag_encrypted) corrupt("is encrypted, which tiers never store");
    if (in[6] != 0 || in[7] != 0) corrupt("has non-zero reserved bytes");

    Record r;
    r.version = get_u64(in, 8);
    r.updated_at = from_ns(static_cast<std::int64_t>(get_u64(in, 16)));
    const auto expires = static_cast<std::int64_t>(get_u64(in, 24));
    if (flags & flag_expires)
        r.expires_at = from_ns(expires);
    else if (expires != 0)
        corrupt("has an expiry without its flag");
    std::memcpy(r.checksum.data(), in.data() + 32, r.checksum.size());
    const std::uint64_t value_size = get_u64(in, 64);
    const std::uint64_t payload_size = get_u64(in, 72);
    if (value_size > max_value_size) corrupt("claims an impossible value size");
    if (payload_size != in.size() - header_size)
        corrupt("is truncated or padded: payload should be " + std::to_string(payload_size) + " bytes, is " +
                std::to_string(in.size() - header_size));
    const std::string_view payload = in.substr(header_size);
    if (flags & flag_compressed) {
        try {
            r.value = codec::zlib_decompress(payload, value_size);
        } catch (const codec::ZlibError& e) {
            corrupt(std::string("payload: ") + e.what());
        }
    } else {
        if (value_size != payload_size) corrupt("has mismatched value and payload sizes");
        r.value.assign(payload);
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
