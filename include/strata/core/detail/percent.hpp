#pragma once

#include <array>
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/detail/hex.hpp"

// Percent encoding: each byte outside a set kept as it is becomes %XX, with
// upper-case hex. FileTier paths, S3 object names and URIs, and checkpoint
// summaries differ only in the set they keep, which is what they pass.
namespace strata::detail {

// A set of byte values, built at compile time.
class ByteSet {
public:
    constexpr ByteSet() = default;
    constexpr explicit ByteSet(std::string_view bytes) { add(bytes); }

    // The bytes from `first` to `last`, both included.
    static constexpr ByteSet range(unsigned char first, unsigned char last) {
        ByteSet s;
        for (unsigned c = first; c <= last; ++c) s.set(static_cast<unsigned char>(c), true);
        return s;
    }

    constexpr ByteSet with(std::string_view bytes) const {
        ByteSet s = *this;
        s.add(bytes);
        return s;
    }

    constexpr ByteSet without(std::string_view bytes) const {
        ByteSet s = *this;
        for (const char c : bytes) s.set(static_cast<unsigned char>(c), false);
        return s;
    }

    constexpr bool contains(unsigned char c) const noexcept { return (bits_[c >> 6] >> (c & 63)) & 1; }

private:
    constexpr void add(std::string_view bytes) {
        for (const char c : bytes) set(static_cast<unsigned char>(c), true);
    }
    constexpr void set(unsigned char c, bool on) {
        const std::uint64_t bit = std::uint64_t{1} << (c & 63);
        bits_[c >> 6] = on ? bits_[c >> 6] | bit : bits_[c >> 6] & ~bit;
    }

    std::array<std::uint64_t, 4> bits_{};
};

// [A-Za-z0-9], the core of every kept set.
inline constexpr ByteSet alphanumeric = ByteSet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

inline void append_escape(std::string& out, unsigned char c) {
    out += '%';
    append_hex(out, c, HexCase::upper);
}

inline std::string percent_encode(std::string_view s, const ByteSet& kept) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        if (kept.contains(static_cast<unsigned char>(c)))
            out += c;
        else
            append_escape(out, static_cast<unsigned char>(c));
    }
    return out;
}

struct PercentDecoding {
    bool upper_case_only = false;  // "%2f" is not an escape (formats that only ever write "%2F")
    bool plus_is_space = false;    // as S3 writes keys with encoding-type=url
};

// nullopt for a malformed escape. Bytes not escaped are taken as they are.
inline std::optional<std::string> percent_decode(std::string_view s, PercentDecoding how = {}) {
    const auto digit = [&how](char c) { return how.upper_case_only && c >= 'a' && c <= 'f' ? -1 : hex_value(c); };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = digit(s[i + 1]), lo = digit(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += how.plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    return out;
}

}  // namespace strata::detail
