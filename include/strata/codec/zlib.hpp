#pragma once

#include <zlib.h>

#include <cstddef>  // size_t
#include <stdexcept>
#include <string>
#include <string_view>

namespace strata::codec {

// Raised when compressed bytes do not inflate to what their header promised.
struct ZlibError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Compresses `in` as one zlib stream. Level 1 by default: state records are
// small and read often, so speed beats the last few percent of size.
inline std::string zlib_compress(std::string_view in, int level = 1) {
    uLongf bound = compressBound(static_cast<uLong>(in.size()));
    std::string out(bound, '\0');
    const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                             reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()), level);
    if (rc != Z_OK) throw ZlibError("zlib compression failed (code " + std::to_string(rc) + ")");
    out.resize(bound);
    return out;
}

// Inflates `in`, which must expand to exactly `expected_size` bytes: the size
// comes from a header, so a wrong one means the data is corrupt.
inline std::string zlib_decompress(std::string_view in, std::size_t expected_size) {
    std::string out(expected_size, '\0');
    uLongf out_len = static_cast<uLongf>(expected_size);
    uLong in_len = static_cast<uLong>(in.size());
    // uncompress2 reports how much input it used, so trailing garbage is caught.
    const int rc = uncompress2(reinterpret_cast<Bytef*>(out.data()), &out_len,
                               reinterpret_cast<const Bytef*>(in.data()), &in_len);
    if (rc != Z_OK) throw ZlibError("zlib data is corrupt or truncated (code " + std::to_string(rc) + ")");
    if (out_len != expected_size || in_len != in.size())
        throw ZlibError("zlib data does not match its recorded size");
    return out;
}

}  // namespace strata::codec
