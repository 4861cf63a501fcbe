#pragma once

#include <openssl/evp.h>  // EVP_EncodeBlock

#include <optional>
#include <string>
#include <string_view>

#include "strata/core/detail/percent.hpp"

namespace strata::detail::s3 {

// RFC 3986 unreserved bytes: the only ones SigV4 leaves unencoded.
inline constexpr detail::ByteSet unreserved = detail::alphanumeric.with("-._~");

// S3's URI encoding: every byte outside the unreserved set becomes %XX with
// upper-case hex; '/' is kept in object paths (keep_slash) and encoded in
// query names and values. No path normalisation: "a/../b" stays as it is.
inline std::string uri_encode(std::string_view s, bool keep_slash) {
    static constexpr detail::ByteSet path_kept = unreserved.with("/");
    return detail::percent_encode(s, keep_slash ? path_kept : unreserved);
}

// Decodes %XX escapes (and '+' as space when `plus_is_space`, as S3 writes
// keys with encoding-type=url). nullopt for a malformed escape.
inline std::optional<std::string> uri_decode(std::string_view s, bool plus_is_space = false) {
    return detail::percent_decode(s, {.plus_is_space = plus_is_space});
}

inline std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

}  // namespace strata::detail::s3
