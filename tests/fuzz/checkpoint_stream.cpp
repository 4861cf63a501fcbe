// A checkpoint stream read back for verify() and rollback, against the
// summary stored with it. Input: the summary's lines (sealed here, as the
// seal is a SHA-256 no mutation forges), a NUL, one mode byte, then the
// stream. Mode bit 0: the stream is given before compression and deflated
// here; bit 1: the summary's stored size and stream SHA-256 are set to the
// stream's, so the parse gets past them; bits 2-7: how many bytes each read
// of the source returns (1 to 64 KiB), as stores hand out chunks of any size.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "strata/checkpoint/detail/summary.hpp"
#include "strata/checkpoint/stream_reader.hpp"

using namespace strata;

namespace {

struct Source {
    std::string_view bytes;
    std::size_t most;
    std::size_t read(char* out, std::size_t n) {
        n = std::min({n, most, bytes.size()});
        std::memcpy(out, bytes.data(), n);
        bytes.remove_prefix(n);
        return n;
    }
};

std::string deflate(std::string_view plain) {
    std::string out;
    codec::Deflater d;
    const auto keep = [&out](std::string_view chunk) { out += chunk; };
    d.write(plain, keep);
    d.finish(keep);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::bytes(data, size);
    std::string summary(fuzz::take_until(in, '\0'));
    if (in.empty()) return 0;
    const auto mode = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    if (!summary.ends_with('\n')) summary += '\n';
    summary += "sha256 " + to_hex(sha256(summary)) + "\n";
    auto info = detail::checkpoint::decode_summary(summary);
    if (!info) return 0;

    const std::string stored = mode & 1 ? deflate(in) : std::string(in);
    if (mode & 2) {
        info->stored_bytes = stored.size();
        info->stream_hash = sha256(stored);
    }
    const std::size_t most = (mode >> 2) == 0 ? codec::zlib_chunk_size : std::size_t{1} << ((mode >> 2) % 17);
    Source source{stored, most};

    std::vector<std::size_t> seen_tiers;
    std::uint64_t records = 0, bytes = 0;
    std::string last_key;
    bool in_tier = false;
    CheckpointReader reader(source, *info);
    const bool accepted = fuzz::returns_or_fails_as({ErrorKind::corrupt}, [&] {
        reader.run(
            [&](const CapturedTier& t) {
                STRATA_FUZZ_CHECK(!in_tier);
                in_tier = true;
                seen_tiers.push_back(t.index);
                last_key.clear();
            },
            [&](std::string key, Record r) {
                // Nothing reaches a callback before its own checks passed.
                STRATA_FUZZ_CHECK(in_tier && !key.empty() && r.intact());
                STRATA_FUZZ_CHECK(last_key.empty() || last_key < key);
                bytes += key.size() + r.value.size();
                STRATA_FUZZ_CHECK(bytes <= info->bytes);
                last_key = std::move(key);
                ++records;
            },
            [&](const CapturedTier&) {
                STRATA_FUZZ_CHECK(in_tier);
                in_tier = false;
            });
    });
    if (accepted) {
        STRATA_FUZZ_CHECK(!in_tier && seen_tiers.size() == info->tiers.size());
        STRATA_FUZZ_CHECK(records == info->key_count && bytes == info->bytes);
        STRATA_FUZZ_CHECK(stored.size() == info->stored_bytes && sha256(stored) == info->stream_hash);
    }
    return 0;
}
