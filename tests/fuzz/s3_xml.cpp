// S3's XML answers other than listings: error bodies (error_info and all
// that acts on it) and DeleteObjects results. Malformed XML throws XmlError
// from parse_xml and nothing else; error_info never throws.
#include "fuzz_support.hpp"
#include "strata/tiers/s3/errors.hpp"
#include "strata/tiers/s3/xml.hpp"

using namespace strata;
using namespace strata::detail::s3;

namespace {

std::size_t count_nodes(const XmlNode& n, int depth) {
    STRATA_FUZZ_CHECK(depth <= xml_impl::max_depth + 1);
    std::size_t total = 1;
    for (const auto& c : n.children) total += count_nodes(c, depth + 1);
    return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);

    try {
        const XmlNode root = parse_xml(in);
        STRATA_FUZZ_CHECK(count_nodes(root, 1) <= xml_impl::max_nodes);
        // A DeleteObjects result, as delete_objects reads it.
        for (const auto& c : root.children)
            if (c.name == "Error") (void)kind_of_code(c.child_text("Code").value_or(""), 0);
    } catch (const XmlError&) {
    }

    // The same body as an error response, at a status at which every
    // function that acts on errors reads the body (each parses it again:
    // one status keeps the target fast).
    HttpResponse r;
    r.status = 403;
    r.body = std::string(in);
    const S3ErrorInfo info = error_info(r);
    STRATA_FUZZ_CHECK(!info.code.empty());
    (void)retryable(r);
    (void)clock_skewed(r);
    (void)kind_of(r);
    const std::string said = describe(r, "bucket", "http://127.0.0.1:9000", "key", 2);
    STRATA_FUZZ_CHECK(said.find(info.code) != std::string::npos);
    return 0;
}
