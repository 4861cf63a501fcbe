#pragma once

#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/detail/percent.hpp"
#include "strata/core/key.hpp"

// How FileTier names the file of a key. A key is any byte string (no NUL, up
// to 1024 bytes), so it cannot be a file name as it is: '/' and ".." would
// leave the root, long keys overflow NAME_MAX, control bytes upset tools.
//
// Encoding: bytes in [A-Za-z0-9_.-] stay, every other byte becomes %XX
// (upper-case hex). The result is cut into components of at most
// `max_component` characters (never inside an escape); every component but
// the last is a directory ending in ".d", the last a file ending in ".rec".
// A '.' that would start a component is escaped, so no component is ".", ".."
// or hidden, and names starting with '.' are free for temporary files.
// Directory and file names end differently, so a key's file can never be
// another key's directory. Decoding accepts only what encoding produces, so
// each path has exactly one key and stray files are ignored.
namespace strata::detail::file {

inline constexpr std::size_t max_component = 200;  // + suffix stays far below NAME_MAX (255)
inline constexpr std::string_view dir_suffix = ".d";
inline constexpr std::string_view record_suffix = ".rec";

inline constexpr detail::ByteSet plain_bytes = detail::alphanumeric.with("_-.");

constexpr bool plain_byte(unsigned char c) noexcept { return plain_bytes.contains(c); }

// The path of `key`'s file relative to the root, components joined by '/'.
inline std::string encode_key(std::string_view key) {
    std::string out;
    out.reserve(key.size() + key.size() / 2 + record_suffix.size());
    std::size_t length = 0;  // characters in the current component
    for (const char ch : key) {
        const auto c = static_cast<unsigned char>(ch);
        auto token_size = [&] { return plain_byte(c) && !(c == '.' && length == 0) ? 1u : 3u; };
        if (length + token_size() > max_component) {
            out += dir_suffix;
            out += '/';
            length = 0;
        }
        if (token_size() == 1) {
            out += ch;
            length += 1;
        } else {
            detail::append_escape(out, c);
            length += 3;
        }
    }
    out += record_suffix;
    return out;
}

// The longest relative path: a maximal key of bytes that all need escaping.
inline constexpr std::size_t max_encoded_size = [] {
    const std::size_t per_component = max_component / 3;
    const std::size_t components = (max_key_size + per_component - 1) / per_component;
    return max_key_size * 3 + (components - 1) * (dir_suffix.size() + 1) + record_suffix.size();
}();

// The key whose file is at `relative` (as encode_key returns it), or nullopt
// when no key maps there (temporary files, stray or hand-made names).
inline std::optional<std::string> decode_path(std::string_view relative) {
    if (relative.size() < record_suffix.size() || !relative.ends_with(record_suffix)) return std::nullopt;
    std::string escaped;
    escaped.reserve(relative.size());
    std::string_view rest = relative.substr(0, relative.size() - record_suffix.size());
    for (std::size_t slash; (slash = rest.find('/')) != std::string_view::npos; rest.remove_prefix(slash + 1)) {
        const std::string_view dir = rest.substr(0, slash);
        if (!dir.ends_with(dir_suffix)) return std::nullopt;
        escaped += dir.substr(0, dir.size() - dir_suffix.size());
    }
    escaped += rest;

    auto key = detail::percent_decode(escaped, {.upper_case_only = true});
    if (!key || key->empty() || key->size() > max_key_size || key->find('\0') != std::string::npos) return std::nullopt;
    // Only the canonical spelling counts: "a%41" and "aA" are not both "aA".
    if (encode_key(*key) != relative) return std::nullopt;
    return key;
}

}  // namespace strata::detail::file
