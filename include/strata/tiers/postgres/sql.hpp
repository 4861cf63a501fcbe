#pragma once

#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/detail/hex.hpp"

// Text encodings for values bound as parameters. Everything user-supplied
// (keys, values, patterns) travels as a parameter in one of these forms, so no
// key or pattern can change the text of a statement.
namespace strata::detail::postgres {

// bytea travels as the server's own hex text format (`\x` then hex digits) in
// both directions. It needs neither libpqxx 6's binarystring (deprecated in 7)
// nor libpqxx 7's std::byte strings (absent from 6), and a bytea array
// parameter costs no more than COPY's text format, which also hex-encodes.
// This one is a parameter for `$n::bytea`.
inline std::string bytea_param(std::string_view bytes) {
    std::string out = "\\x";
    out.reserve(2 + 2 * bytes.size());
    detail::append_hex(out, bytes);
    return out;
}

// Decodes the server's bytea output (`\x` then hex) into `out`, which must
// hold exactly the decoded size; false when the text is not in that form.
inline bool decode_bytea_into(std::string_view text, char* out, std::size_t size) noexcept {
    return text.size() >= 2 && text[0] == '\\' && text[1] == 'x' && detail::from_hex_into(text.substr(2), out, size);
}

// The decoded size of a bytea text, or nullopt when it cannot be one.
inline std::optional<std::size_t> bytea_size(std::string_view text) noexcept {
    if (text.size() < 2 || text.size() % 2 != 0) return std::nullopt;
    return (text.size() - 2) / 2;
}

// nullopt when the text is not bytea hex output: the tier reports such a row
// as an unreadable record.
inline std::optional<std::string> decode_bytea(std::string_view text) {
    const auto size = bytea_size(text);
    if (!size) return std::nullopt;
    std::string out(*size, '\0');
    if (!decode_bytea_into(text, out.data(), out.size())) return std::nullopt;
    return out;
}

// Builds a one-dimensional array literal ("{...}") for a parameter cast to
// bytea[] or bigint[]. Elements are hex digits, integers or NULL: none can
// contain a quote, comma or brace, so none can end the array early.
class ArrayLiteral {
public:
    ArrayLiteral() { text_ += '{'; }

    void reserve(std::size_t n) { text_.reserve(n); }

    // `\\x` in the literal is `\x` once the array parser drops its escape.
    void add_bytea(std::string_view bytes) {
        separate();
        text_ += "\\\\x";
        detail::append_hex(text_, bytes);
    }

    void add_int(long long v) {
        separate();
        text_ += std::to_string(v);
    }

    void add_null() {
        separate();
        text_ += "NULL";
    }

    std::string finish() && {
        text_ += '}';
        return std::move(text_);
    }

private:
    void separate() {
        if (text_.size() > 1) text_ += ',';
    }
    std::string text_;
};

}  // namespace strata::detail::postgres
