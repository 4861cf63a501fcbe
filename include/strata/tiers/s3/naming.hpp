#pragma once

#include <openssl/evp.h>  // EVP_DecodeBlock

#include <optional>
#include <string>
#include <string_view>

#include "strata/core/detail/percent.hpp"
#include "strata/core/digest.hpp"

// From strata keys (any bytes but NUL) to S3 object names, and back.
//
// S3 names must be UTF-8, and S3-compatible servers that keep objects as
// files (s3rver, MinIO) mangle "/../", "//" and long path segments. So a
// name is the key with '%', '/', space, control bytes and bytes that are
// not UTF-8 written as %XX (spaces because some servers' XML parsers trim
// the <Key> of a multi-delete); everything else, unicode included, stays
// readable.
// The mapping is injective (decode inverts it) and byte-by-byte for ASCII,
// so a glob's ASCII literal prefix is still a listing prefix. A name that
// would exceed the limit becomes "%~" + SHA-256(key) ("%~" never starts
// an escape), with the key itself in the object's x-amz-meta-strata-key.
namespace strata::detail::s3 {

inline constexpr std::string_view hashed_marker = "%~";

// Length of the valid UTF-8 sequence (2 to 4 bytes) starting at s[i], or 0.
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned int cp = 0;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, values past U+10FFFF, and the two
    // non-characters XML cannot carry are escaped instead.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return len;
}

// Printable ASCII but '%' and '/'; bytes from 0x80 stay when they form valid UTF-8.
inline constexpr detail::ByteSet ascii_kept = detail::ByteSet::range('!', '~').without("%/");

inline std::string encode_key(std::string_view key) {
    std::string out;
    out.reserve(key.size() + 8);
    for (std::size_t i = 0; i < key.size();) {
        const auto c = static_cast<unsigned char>(key[i]);
        if (c >= 0x80) {
            if (const std::size_t len = utf8_sequence(key, i)) {
                out.append(key.substr(i, len));
                i += len;
                continue;
            }
        } else if (ascii_kept.contains(c)) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        detail::append_escape(out, c);
        ++i;
    }
    return out;
}

// nullopt for hashed names and for names strata did not write: other
// spellings of a key ("%41" for "A"), which would list a key twice, and
// escaped NULs, which no key holds.
inline std::optional<std::string> decode_name(std::string_view name) {
    auto key = detail::percent_decode(name, {.upper_case_only = true});
    if (!key || key->find('\0') != std::string::npos || encode_key(*key) != name) return std::nullopt;
    return key;
}

inline bool is_hashed(std::string_view name) noexcept { return name.starts_with(hashed_marker); }

inline std::string hashed_name(std::string_view key) { return std::string(hashed_marker) + to_hex(sha256(key)); }

// The listing prefix for keys starting with `literal`: its encoding up to
// the first non-ASCII byte, whose escaping depends on the bytes after it.
inline std::string listing_prefix(std::string_view literal) {
    std::size_t n = 0;
    while (n < literal.size() && static_cast<unsigned char>(literal[n]) < 0x80) ++n;
    return encode_key(literal.substr(0, n));
}

inline std::optional<std::string> base64_decode(std::string_view s) {
    if (s.size() % 4 != 0) return std::nullopt;
    std::string out(s.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    if (n < 0) return std::nullopt;
    std::size_t pad = 0;
    while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

}  // namespace strata::detail::s3
