#pragma once

#include <cstdint>  // uint8_t, uint64_t
#include <string>
#include <string_view>

#include "strata/core/envelope.hpp"  // put_u64, get_u64, to_ns, from_ns
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

// The checkpoint stream before compression. Integers are 8-byte
// little-endian (the envelope's helpers); every section starts with a tag
// byte so a misplaced byte is caught at once rather than read as a length.
//
//   header  "STRACKPT" format_version id_size id
//   tier    'T' index temperature name_size name
//   record  'R' key_size key version updated_ns flags expires_ns checksum[32] value_size value
//   tier end 'E' key_count bytes
//   end     'Z' key_count bytes consistency_hash[32]
//
// Records of a tier are in strictly increasing key order (bytewise), so the
// consistency hash, taken over them in stream order, is over sorted keys.
namespace strata::detail::checkpoint {

inline constexpr std::string_view magic = "STRACKPT";
inline constexpr std::uint64_t format_version = 1;
inline constexpr char tag_tier = 'T';
inline constexpr char tag_record = 'R';
inline constexpr char tag_tier_end = 'E';
inline constexpr char tag_end = 'Z';
inline constexpr std::uint64_t flag_expires = 1;

using envelope::detail::from_ns;
using envelope::detail::get_u64;
using envelope::detail::put_u64;
using envelope::detail::to_ns;

inline void put_bytes(std::string& out, std::string_view s) {
    put_u64(out, s.size());
    out += s;
}

// Adds one record to the consistency hash: what identifies the state of a
// key (tier, key, version, checksum), not the value, which the checksum
// already stands for.
inline void hash_record(Sha256& h, std::string& scratch, std::uint64_t tier, std::string_view key,
                        const Record& r) {
    scratch.clear();
    put_u64(scratch, tier);
    put_bytes(scratch, key);
    put_u64(scratch, r.version);
    scratch.append(reinterpret_cast<const char*>(r.checksum.data()), r.checksum.size());
    h.update(scratch);
}

[[noreturn]] inline void corrupt(std::string_view op, std::string_view id, const std::string& why) {
    throw Error(ErrorKind::corrupt, "checkpoint", std::string(op), "checkpoint '" + std::string(id) + "' " + why);
}

}  // namespace strata::detail::checkpoint
