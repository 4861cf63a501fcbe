// FileTier's file names, as it finds them on disk: decode_path accepts only
// what encode_key produces, and encode_key -> decode_path gives the key back.
#include "fuzz_support.hpp"
#include "strata/tiers/detail/file_path.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);

    // As a path found under the root.
    if (const auto key = detail::file::decode_path(in)) {
        STRATA_FUZZ_CHECK(!key->empty() && key->size() <= max_key_size);
        STRATA_FUZZ_CHECK(key->find('\0') == std::string::npos);
        STRATA_FUZZ_CHECK(detail::file::encode_key(*key) == in);
    }

    // As a key: every valid key has a path, within bounds, that leads back to it.
    if (!in.empty() && in.size() <= max_key_size && in.find('\0') == std::string_view::npos) {
        const std::string path = detail::file::encode_key(in);
        STRATA_FUZZ_CHECK(path.size() <= detail::file::max_encoded_size);
        for (std::string_view rest = path; !rest.empty();) {
            const std::string_view component = fuzz::take_until(rest, '/');
            STRATA_FUZZ_CHECK(!component.empty() && !component.starts_with('.'));
            STRATA_FUZZ_CHECK(component.size() <= detail::file::max_component + detail::file::record_suffix.size());
        }
        const auto back = detail::file::decode_path(path);
        STRATA_FUZZ_CHECK(back && *back == in);
    }
    return 0;
}
