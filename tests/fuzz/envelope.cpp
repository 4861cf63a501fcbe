// The record envelope as tiers read it back from Redis, files and S3: both
// format versions, compressed payloads included.
#include "fuzz_support.hpp"
#include "strata/core/envelope.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);

    std::optional<envelope::Header> header;
    fuzz::returns_or_fails_as({ErrorKind::corrupt}, [&] { header = envelope::decode_header(in); });
    STRATA_FUZZ_CHECK(envelope::peek_header(in).has_value() == header.has_value());

    Record r;
    if (!fuzz::returns_or_fails_as({ErrorKind::corrupt}, [&] { r = envelope::decode(in); })) {
        // A tier's view of the same blob: a record that fails verification.
        STRATA_FUZZ_CHECK(!envelope::decode_or_unreadable(in).intact());
        return 0;
    }
    STRATA_FUZZ_CHECK(header.has_value());
    STRATA_FUZZ_CHECK(r.value.size() == header->value_size);
    STRATA_FUZZ_CHECK(r.version == header->version && r.checksum == header->checksum);
    STRATA_FUZZ_CHECK(r.expires_at.has_value() == ((header->flags & envelope::flag_expires) != 0));

    // What decodes, encodes again to a blob that decodes to the same record.
    const std::string again = envelope::encode(r, {.enabled = true, .threshold = 0, .level = 1});
    const Record back = envelope::decode(again);
    STRATA_FUZZ_CHECK(back.value == r.value && back.version == r.version && back.updated_at == r.updated_at &&
                      back.expires_at == r.expires_at && back.checksum == r.checksum);
    // A current, uncompressed blob is the one encoding of its record.
    if (header->size == envelope::header_size && !(header->flags & envelope::flag_compressed))
        STRATA_FUZZ_CHECK(envelope::encode(r, {.enabled = false}) == in);
    return 0;
}
