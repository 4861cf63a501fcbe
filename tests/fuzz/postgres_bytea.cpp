// bytea columns as PostgreSQL returns them (`\x` then hex), which the tier
// decodes into values and checksums: what decodes is the hex of its bytes,
// and bytea_param -> decode_bytea gives any bytes back.
#include <cctype>

#include "fuzz_support.hpp"
#include "strata/core/digest.hpp"
#include "strata/tiers/postgres/sql.hpp"

using namespace strata;
using namespace strata::detail::postgres;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);

    // As the server's output.
    if (const auto bytes = decode_bytea(in)) {
        STRATA_FUZZ_CHECK(bytea_size(in) == bytes->size());
        const std::string again = bytea_param(*bytes);
        STRATA_FUZZ_CHECK(again.size() == in.size());
        for (std::size_t i = 0; i < in.size(); ++i)
            STRATA_FUZZ_CHECK(std::tolower(static_cast<unsigned char>(in[i])) == again[i]);
    }
    // As a checksum column, into a fixed-size digest.
    Digest d{};
    if (decode_bytea_into(in, reinterpret_cast<char*>(d.data()), d.size()))
        STRATA_FUZZ_CHECK(in.size() == 2 + 2 * d.size());

    // As a value bound as a parameter.
    const auto back = decode_bytea(bytea_param(in));
    STRATA_FUZZ_CHECK(back && *back == in);
    return 0;
}
