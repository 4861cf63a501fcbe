#pragma once

#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <optional>
#include <span>
#include <string>
#include <string_view>

// Bytes as hex digits and back: digests, PostgreSQL's bytea text, the %XX of
// percent encodings. Encoding picks the case (formats differ: SHA-256 and
// bytea are lower case, percent escapes upper case); decoding takes either.
namespace strata::detail {

enum class HexCase { lower, upper };

inline constexpr std::string_view hex_digits(HexCase c) noexcept {
    return c == HexCase::lower ? "0123456789abcdef" : "0123456789ABCDEF";
}

inline void append_hex(std::string& out, unsigned char byte, HexCase c = HexCase::lower) {
    const std::string_view digits = hex_digits(c);
    out += digits[byte >> 4];
    out += digits[byte & 0xF];
}

// Sized once and written through a pointer: PostgreSQL's bytea parameters run
// every value through here.
inline void append_hex(std::string& out, std::string_view bytes, HexCase c = HexCase::lower) {
    const std::string_view digits = hex_digits(c);
    const std::size_t at = out.size();
    out.resize(at + 2 * bytes.size());
    char* p = out.data() + at;
    for (const unsigned char b : bytes) {
        *p++ = digits[b >> 4];
        *p++ = digits[b & 0xF];
    }
}

inline std::string to_hex(std::string_view bytes, HexCase c = HexCase::lower) {
    std::string out;
    append_hex(out, bytes, c);
    return out;
}

inline std::string to_hex(std::span<const std::uint8_t> bytes, HexCase c = HexCase::lower) {
    return to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), c);
}

// Digit values, 0xFF for anything else: decoding bytea is the hot loop of
// every PostgreSQL fetch, so it is a table lookup rather than branches.
inline constexpr auto hex_values = [] {
    std::array<std::uint8_t, 256> t{};
    t.fill(0xFF);
    for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::uint8_t>(c);
    for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<std::uint8_t>(10 + c);
    return t;
}();

// 0-15, or -1 for a byte that is no hex digit.
constexpr int hex_value(char c) noexcept {
    const std::uint8_t v = hex_values[static_cast<unsigned char>(c)];
    return v == 0xFF ? -1 : v;
}

// Decodes exactly 2 * size digits into `out`; false if any is not a digit.
inline bool from_hex_into(std::string_view hex, void* out, std::size_t size) noexcept {
    if (hex.size() != 2 * size) return false;
    const auto* in = reinterpret_cast<const unsigned char*>(hex.data());
    auto* o = static_cast<unsigned char*>(out);
    std::uint8_t bad = 0;
    for (std::size_t i = 0; i < size; ++i) {
        const std::uint8_t hi = hex_values[in[2 * i]], lo = hex_values[in[2 * i + 1]];
        bad |= (hi | lo) & 0xF0;
        o[i] = static_cast<unsigned char>((hi << 4) | lo);
    }
    return bad == 0;
}

inline std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out(hex.size() / 2, '\0');
    if (!from_hex_into(hex, out.data(), out.size())) return std::nullopt;
    return out;
}

}  // namespace strata::detail
