// Encrypted backup files and key rings as read back from a store. Input: one
// mode byte, then the bytes. Mode bits 0-1 pick what is done with them:
//   0  opened as a backup file under a fixed key, in pieces of 1 to 64 KiB
//      (bits 2-6), and checked for structure without the key
//   1  parsed as a key ring, then unwrapped with the fixed key
//   2  sealed as plaintext (segments of 64 bytes, compression on or off by
//      bit 2), opened again, then opened with one byte altered (the last
//      two input bytes say where and how): the change is always caught
//   3  the same bytes as a key ring altered at one byte after a round trip
// The seeds (tests/fuzz/corpus/backup_open/) are sealed under the same key.
#include <algorithm>
#include <cstring>

#include "backup_key.hpp"
#include "fuzz_support.hpp"
#include "strata/backup/detail/segmented_cipher.hpp"
#include "strata/backup/key_ring.hpp"

using namespace strata;
namespace bk = strata::detail::backup;

namespace {

// Opens `file` in pieces of `piece` bytes; the plaintext, or nothing when
// it failed as it may: corrupt, rejected or a newer format.
std::optional<std::string> open(std::string_view file, std::size_t piece, std::uint64_t* segments = nullptr) {
    std::string out;
    const auto keep = [&out](std::string_view s) { out += s; };
    bk::SegmentOpener opener(fuzz::fixed_backup_key(), "fuzz");
    const bool ok = fuzz::returns_or_fails_as({ErrorKind::corrupt, ErrorKind::rejected, ErrorKind::invalid}, [&] {
        for (std::size_t at = 0; at < file.size(); at += piece) opener.write(file.substr(at, piece), keep);
        opener.finish(keep);
    });
    if (!ok) return std::nullopt;
    STRATA_FUZZ_CHECK(opener.plaintext_bytes() == out.size());
    if (segments) *segments = opener.segments();
    return out;
}

bool structure_ok(std::string_view file, std::uint64_t& segments) {
    bk::FrameSplitter frames("check", "fuzz");
    const auto ignore = [](std::string_view, std::uint32_t, bool) {};
    const bool ok = fuzz::returns_or_fails_as({ErrorKind::corrupt, ErrorKind::invalid}, [&] {
        frames.write(file, ignore);
        frames.finish(ignore);
    });
    segments = frames.segments();
    return ok;
}

void open_file(std::string_view file, std::uint8_t mode) {
    const std::size_t piece = std::size_t{1} << ((mode >> 2) % 17);
    std::uint64_t opened_segments = 0, checked_segments = 0;
    const auto plain = open(file, piece, &opened_segments);
    const bool structure = structure_ok(file, checked_segments);
    if (!plain) return;
    // What opens has a sound structure, with as many segments, none over
    // the segment size the header gives.
    STRATA_FUZZ_CHECK(structure && checked_segments == opened_segments && opened_segments >= 1);
    const std::uint32_t segment_size = envelope::detail::get_u32(file, 12);
    STRATA_FUZZ_CHECK(plain->size() <= opened_segments * segment_size);
    STRATA_FUZZ_CHECK(plain->size() > (opened_segments - 1) * segment_size || opened_segments == 1);
}

void parse_ring(std::string_view bytes) {
    std::optional<KeyRing> ring;
    if (!fuzz::returns_or_fails_as({ErrorKind::corrupt, ErrorKind::invalid}, [&] { ring = KeyRing::parse(bytes); }))
        return;
    // A ring that parses is the one encoding of itself.
    STRATA_FUZZ_CHECK(ring->serialize() == bytes);
    fuzz::returns_or_fails_as({ErrorKind::corrupt, ErrorKind::rejected}, [&] {
        STRATA_FUZZ_CHECK(ring->unwrap(fuzz::fixed_backup_key()).id() == ring->data_key_id());
    });
}

// Where and how to alter a byte, from the input's last two bytes.
std::string altered(std::string bytes, std::string_view in) {
    const std::size_t at = in.size() < 2 ? 0 : static_cast<std::uint8_t>(in[in.size() - 2]) * 131u;
    const auto x = static_cast<char>(in.empty() || in.back() == 0 ? 1 : in.back());
    bytes[at % bytes.size()] = static_cast<char>(bytes[at % bytes.size()] ^ x);
    return bytes;
}

void seal_then_alter(std::string_view plain, std::uint8_t mode) {
    std::string file;
    const auto keep = [&file](std::string_view s) { file += s; };
    bk::SegmentSealer sealer(fuzz::fixed_backup_key(), {.segment_size = 64, .compression_level = mode & 4 ? 6 : 0});
    sealer.write(plain, keep);
    sealer.finish(keep);
    const auto back = open(file, 97);
    STRATA_FUZZ_CHECK(back && *back == plain);
    STRATA_FUZZ_CHECK(!open(altered(file, plain), 97));
}

void ring_then_alter(std::string_view in) {
    KeyRing ring = KeyRing::create(fuzz::fixed_backup_key());
    const std::string bytes = ring.serialize();
    const std::string changed = altered(bytes, in);
    std::optional<KeyRing> parsed;
    fuzz::returns_or_fails_as({ErrorKind::corrupt, ErrorKind::invalid}, [&] { parsed = KeyRing::parse(changed); });
    STRATA_FUZZ_CHECK(!parsed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::bytes(data, size);
    if (in.empty()) return 0;
    const auto mode = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    switch (mode & 3) {
        case 0: open_file(in, mode); break;
        case 1: parse_ring(in); break;
        case 2: seal_then_alter(in, mode); break;
        default: ring_then_alter(in); break;
    }
    return 0;
}
