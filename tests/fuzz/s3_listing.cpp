// ListObjectsV2 answers as S3Tier::keys reads them: the page, the object
// names it lists (decoded back to keys, or hashed names whose key comes
// base64-encoded in x-amz-meta-strata-key), and the continuation. Anything
// malformed throws XmlError, which the client reports as corrupt. Names are
// taken as listed under an empty S3Options::prefix.
#include "fuzz_support.hpp"
#include "strata/tiers/s3/client.hpp"
#include "strata/tiers/s3/naming.hpp"

using namespace strata;
using namespace strata::detail::s3;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);

    ListPage page;
    try {
        page = parse_list(in);
    } catch (const XmlError&) {
        return 0;
    }
    STRATA_FUZZ_CHECK(!page.next_token || !page.next_token->empty());
    for (const auto& o : page.objects) {
        if (is_hashed(o.key)) {
            (void)base64_decode(o.key.substr(hashed_marker.size()));
            continue;
        }
        // Only names strata wrote decode, each to the one key written there.
        if (const auto key = decode_name(o.key))
            STRATA_FUZZ_CHECK(key->find('\0') == std::string::npos && encode_key(*key) == o.key);
    }
    // As a key: its object name decodes back to it (the mapping is injective).
    if (!in.empty() && in.find('\0') == std::string_view::npos) {
        const auto back = decode_name(encode_key(in));
        STRATA_FUZZ_CHECK(back && *back == in);
    }
    // The metadata header of a hashed name, as a HEAD answer carries it.
    if (const auto key = base64_decode(in)) STRATA_FUZZ_CHECK(key->size() <= in.size() / 4 * 3);
    return 0;
}
