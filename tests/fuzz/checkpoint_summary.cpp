// The summary a checkpoint store keeps beside each stream, as list() reads it
// back from a directory or a tier. Its last line seals it with a SHA-256 a
// mutation cannot forge, so the target seals what it is given: the fields
// behind the seal are what gets fuzzed. Inputs already sealed are read as
// they are too.
#include "fuzz_support.hpp"
#include "strata/checkpoint/detail/summary.hpp"

using namespace strata;

namespace {

bool same(const CheckpointInfo& a, const CheckpointInfo& b) {
    const auto tier_eq = [](const CapturedTier& x, const CapturedTier& y) {
        return x.index == y.index && x.name == y.name && x.temperature == y.temperature && x.keys == y.keys &&
               x.bytes == y.bytes;
    };
    const auto skipped_eq = [](const SkippedRecord& x, const SkippedRecord& y) {
        return x.tier == y.tier && x.key == y.key;
    };
    return a.id == b.id && a.type == b.type && a.created_at == b.created_at && a.format_version == b.format_version &&
           std::equal(a.tiers.begin(), a.tiers.end(), b.tiers.begin(), b.tiers.end(), tier_eq) &&
           a.key_count == b.key_count && a.bytes == b.bytes && a.stored_bytes == b.stored_bytes &&
           a.consistency_hash == b.consistency_hash && a.stream_hash == b.stream_hash &&
           a.writes_held == b.writes_held && a.version_cut == b.version_cut && a.capture_time == b.capture_time &&
           std::equal(a.skipped.begin(), a.skipped.end(), b.skipped.begin(), b.skipped.end(), skipped_eq);
}

void check(std::string_view summary) {
    const auto info = detail::checkpoint::decode_summary(summary);
    if (!info) return;
    STRATA_FUZZ_CHECK(!info->id.empty() && info->format_version != 0);
    // What a store reads, it writes again as a summary that reads the same.
    const std::string again = detail::checkpoint::encode_summary(*info);
    const auto back = detail::checkpoint::decode_summary(again);
    STRATA_FUZZ_CHECK(back && same(*back, *info));
    STRATA_FUZZ_CHECK(detail::checkpoint::encode_summary(*back) == again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);
    check(in);
    std::string sealed(in);
    if (!sealed.empty() && !sealed.ends_with('\n')) sealed += '\n';
    sealed += "sha256 " + to_hex(sha256(sealed)) + "\n";
    check(sealed);
    return 0;
}
