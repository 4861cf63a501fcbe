#pragma once

#include <zlib.h>

#include <algorithm>  // min, max
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <limits>
#include <memory>     // unique_ptr
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

// Deflate's densest code spends one bit on a 258-byte match and one on its
// distance, so no zlib stream inflates to more than 1032 times its size; a
// header claiming more is lying. A spare 1032 bytes on top.
inline constexpr std::uint64_t zlib_max_ratio = 1032;

inline constexpr std::uint64_t zlib_max_inflated(std::uint64_t compressed) {
    constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    return compressed >= most / zlib_max_ratio - 1 ? most : (compressed + 1) * zlib_max_ratio;
}

// Inflates `in`, which must expand to exactly `expected_size` bytes: the size
// comes from a header, so a wrong one means the data is corrupt. The output
// grows as inflation proceeds instead of being sized from the header, so a
// lying header costs no more memory than the data really inflates to (never
// more than expected_size + 1 bytes).
inline std::string zlib_decompress(std::string_view in, std::size_t expected_size) {
    if (expected_size > zlib_max_inflated(in.size()))
        throw ZlibError(std::to_string(in.size()) + " bytes of zlib data cannot inflate to the " +
                        std::to_string(expected_size) + " recorded");
    z_stream z{};
    if (inflateInit(&z) != Z_OK) throw ZlibError("zlib inflateInit failed");
    const std::unique_ptr<z_stream, decltype(&inflateEnd)> end(&z, &inflateEnd);
    constexpr std::size_t most_per_call = std::numeric_limits<uInt>::max();
    // Room for one byte past the expected size shows data that inflates to more.
    const std::size_t limit = expected_size + 1;
    // A first guess for records that compress a few times over, then doubling.
    std::string out(std::min(limit, std::max<std::size_t>(4 * in.size(), 64 * 1024)), '\0');
    std::size_t consumed = 0, produced = 0;
    for (;;) {
        if (produced == out.size()) {
            if (out.size() == limit) throw ZlibError("zlib data inflates to more than its recorded size");
            out.resize(std::min(limit, 2 * out.size()));
        }
        // zlib's API is not const-correct: next_in is never written through.
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
        z.avail_in = static_cast<uInt>(std::min(in.size() - consumed, most_per_call));
        z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        z.avail_out = static_cast<uInt>(std::min(out.size() - produced, most_per_call));
        const uInt had_in = z.avail_in, had_out = z.avail_out;
        const int rc = inflate(&z, Z_NO_FLUSH);
        consumed += had_in - z.avail_in;
        produced += had_out - z.avail_out;
        if (rc == Z_STREAM_END) break;
        // Z_BUF_ERROR here (no progress with output room left) means the
        // input ran out mid-stream.
        if (rc != Z_OK) throw ZlibError("zlib data is corrupt or truncated (code " + std::to_string(rc) + ")");
    }
    if (produced != expected_size || consumed != in.size())
        throw ZlibError("zlib data does not match its recorded size");
    out.resize(produced);
    return out;
}

}  // namespace strata::codec
