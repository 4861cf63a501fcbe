// Decoding what a damaged or hostile store hands back: record envelopes and
// checkpoint streams. Every failure must be Error{corrupt}, so the manager
// tries another copy, and none may cost more memory than the input could
// really inflate to.
#include <gtest/gtest.h>
#include <sys/resource.h>  // setrlimit
#include <sys/wait.h>      // waitpid
#include <unistd.h>        // fork, _exit, alarm, sysconf
#include <zlib.h>          // crc32

#include <algorithm>  // copy_n, min
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>  // bad_alloc
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <strata/checkpoint/stream_reader.hpp>
#include <strata/checkpoint/stream_writer.hpp>
#include <strata/strata.hpp>

#include "common/damage.hpp"
#include "common/temp_dir.hpp"

// RLIMIT_AS cannot bound a process whose sanitizer reserves terabytes of
// shadow memory up front, so under ASan/TSan the decodes run in process and
// only their outcome is checked (the sanitizer's allocator still refuses,
// loudly, an allocation of gigabytes).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRATA_TEST_SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STRATA_TEST_SHADOW_MEMORY 1
#endif
#endif

namespace {

using strata::testing::flip_byte;

namespace fs = std::filesystem;
using strata::Clock;
using namespace std::chrono_literals;

constexpr std::uint64_t sixteen_gib = std::uint64_t{1} << 34;

void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// An envelope built byte by byte from the layout documented in envelope.hpp,
// independently of encode(), so a test can say anything a header can.
std::string raw_envelope(std::uint8_t version, std::uint8_t flags, std::uint64_t value_size, std::string_view payload) {
    std::string out = "STRA";
    out += static_cast<char>(version);
    out += static_cast<char>(flags);
    out += std::string(2, '\0');
    put_le(out, 1, 8);                          // record version
    put_le(out, 1'700'000'000'000'000'000, 8);  // updated_at
    put_le(out, 0, 8);                          // expires_at
    out += std::string(32, '\x11');             // value checksum
    put_le(out, value_size, 8);
    put_le(out, payload.size(), 8);
    if (version == 2) put_le(out, crc32(0L, reinterpret_cast<const Bytef*>(out.data()), 80), 4);
    out += payload;
    return out;
}

// Random letters: they compress, but only to about 60 %.
std::string text(std::size_t size) {
    std::mt19937 rng(size);
    std::string out;
    for (std::size_t i = 0; i < size; ++i) out += static_cast<char>('a' + rng() % 26);
    return out;
}

void expect_corrupt(std::string_view blob, const std::string& what) {
    try {
        strata::envelope::decode(blob);
        ADD_FAILURE() << what << ": decoded";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt) << what << ": " << e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": threw " << e.what() << " instead of Error{corrupt}";
    }
}

// ---- watching what a decode allocates -----------------------------------

// One line of /proc/self/status, in bytes (the kernel reports kB).
[[maybe_unused]] std::size_t status_bytes(std::string_view field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(field)) return std::stoul(line.substr(field.size() + 1)) * 1024;
    return 0;
}

// What a decode in a child process came to.
struct Contained {
    std::string outcome;          // "Error{corrupt}", "std::bad_alloc", ...
    std::string what;             // the exception's message
    std::size_t peak_growth = 0;  // how far the address space grew at its peak
};

// Runs `decode` in a forked child whose address space may grow by at most a
// GiB (setrlimit), so a decode that believes a lying length fails there
// rather than taking the machine's memory. The peak growth (VmPeak; fork
// resets it) shows any large allocation that succeeded, and the message any
// that failed and became an error, whatever the timing.
template <class F>
Contained contained(F decode) {
#ifdef STRATA_TEST_SHADOW_MEMORY
    try {
        decode();
    } catch (const strata::Error& e) {
        return {e.kind() == strata::ErrorKind::corrupt ? "Error{corrupt}" : "another Error", e.what(), 0};
    } catch (const std::exception& e) {
        return {"another exception", e.what(), 0};
    }
    return {"no exception", "", 0};
#else
    constexpr std::size_t cap = std::size_t{1} << 30;
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return {"pipe failed", "", 0};
    const pid_t pid = ::fork();
    if (pid < 0) return {"fork failed", "", 0};
    if (pid == 0) {
        ::alarm(60);  // never outlive a broken parent
        ::close(pipe_fds[0]);
        Contained c{"no exception", "", 0};
        const std::size_t before = status_bytes("VmPeak:");
        const rlimit limit{status_bytes("VmSize:") + cap, status_bytes("VmSize:") + cap};
        try {
            if (::setrlimit(RLIMIT_AS, &limit) != 0) throw std::runtime_error("setrlimit failed");
            decode();
        } catch (const strata::Error& e) {
            c = {e.kind() == strata::ErrorKind::corrupt ? "Error{corrupt}" : "another Error", e.what(), 0};
        } catch (const std::bad_alloc& e) {
            c = {"std::bad_alloc", e.what(), 0};
        } catch (const std::exception& e) {
            c = {"another exception", e.what(), 0};
        }
        const std::string report = c.outcome + '\n' + std::to_string(status_bytes("VmPeak:") - before) + '\n' + c.what;
        const bool sent = ::write(pipe_fds[1], report.data(), report.size()) == static_cast<ssize_t>(report.size());
        ::_exit(sent ? 0 : 1);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        report.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return {"the child died (wait status " + std::to_string(status) + ")", "", 0};
    const auto first = report.find('\n'), second = report.find('\n', first + 1);
    return {report.substr(0, first), report.substr(second + 1),
            std::stoul(report.substr(first + 1, second - first - 1))};
#endif
}

// A decode refused as corrupt, for what it is rather than for want of
// memory, having allocated less than `most` bytes on the way.
void expect_contained(const Contained& c, std::size_t most, const std::string& what) {
    EXPECT_EQ(c.outcome, "Error{corrupt}") << what << ": " << c.what;
    EXPECT_EQ(c.what.find("memory"), std::string::npos) << what << ": " << c.what;
    EXPECT_LT(c.peak_growth, most) << what << ": the address space grew by " << (c.peak_growth >> 20) << " MiB";
}

constexpr std::size_t mib = std::size_t{1} << 20;

}  // namespace

// ---- B: claimed sizes bounded by the input --------------------------------

// The report's record: 93 bytes whose header claims a 16 GiB value. Version
// 1 (80-byte header, 13-byte payload) as reported, and version 2 (84 + 9)
// with a correct CRC, so the size check itself must refuse it.
TEST(Decode, NinetyThreeByteEnvelopeClaimingSixteenGibIsCorruptWithoutAllocatingIt) {
    for (const auto& [version, value] : {std::pair{1, "hello"}, std::pair{2, "a"}}) {
        const auto blob = raw_envelope(static_cast<std::uint8_t>(version), strata::envelope::flag_compressed,
                                       sixteen_gib, strata::codec::zlib_compress(value));
        ASSERT_EQ(blob.size(), 93u);
        expect_contained(contained([&] { strata::envelope::decode(blob); }), mib, "version " + std::to_string(version));
    }
}

// A claim the payload's size allows (100 MB from ~120 kB) but its data does
// not bear out costs only what the data inflates to, not the claim. Version
// 1, which both releases read: the payload path is the same for both.
TEST(Decode, PlausibleButFalseClaimCostsOnlyWhatTheDataInflatesTo) {
    const auto payload = strata::codec::zlib_compress(text(200'000));
    constexpr std::uint64_t claim = 100'000'000;
    ASSERT_LE(claim, strata::codec::zlib_max_inflated(payload.size()));
    const auto blob = raw_envelope(1, strata::envelope::flag_compressed, claim, payload);
    expect_contained(contained([&] { strata::envelope::decode(blob); }), 4 * mib, "100 MB claimed");
}

TEST(Decode, ClaimedSizeIsBoundedByWhatThePayloadCanInflateTo) {
    const std::string value(100'000, '\0');
    const auto payload = strata::codec::zlib_compress(value, 9);
    const auto bound = strata::codec::zlib_max_inflated(payload.size());
    ASSERT_GE(bound, value.size());  // the bound admits the densest real stream
    const auto good = raw_envelope(2, strata::envelope::flag_compressed, value.size(), payload);
    EXPECT_EQ(strata::envelope::decode(good).value, value);
    expect_corrupt(raw_envelope(2, strata::envelope::flag_compressed, bound + 1, payload), "beyond the bound");
    EXPECT_THROW(strata::codec::zlib_decompress(payload, static_cast<std::size_t>(bound + 1)),
                 strata::codec::ZlibError);
}

TEST(Decode, DamagedCompressedPayloadsAreCorrupt) {
    const auto value = text(5000);
    const auto payload = strata::codec::zlib_compress(value);
    auto envelope = [&](std::uint64_t value_size, std::string_view p) {
        return raw_envelope(2, strata::envelope::flag_compressed, value_size, p);
    };
    ASSERT_EQ(strata::envelope::decode(envelope(value.size(), payload)).value, value);  // the undamaged one decodes

    for (const std::size_t keep :
         {std::size_t{0}, std::size_t{1}, std::size_t{2}, payload.size() / 2, payload.size() - 4, payload.size() - 1})
        expect_corrupt(envelope(value.size(), payload.substr(0, keep)), "truncated to " + std::to_string(keep));
    expect_corrupt(envelope(value.size(), payload + "x"), "trailing byte");
    expect_corrupt(envelope(value.size(), "this is not a zlib stream at all"), "garbage");
    expect_corrupt(envelope(value.size() - 1, payload), "inflates to more than claimed");
    expect_corrupt(envelope(value.size() + 1, payload), "inflates to less than claimed");
    auto flipped = payload;
    flipped[payload.size() / 2] ^= 0x20;
    expect_corrupt(envelope(value.size(), flipped), "flipped bit");
    // A bomb: a few hundred bytes that inflate to 10 MB, claiming 10 bytes.
    expect_corrupt(envelope(10, strata::codec::zlib_compress(std::string(10'000'000, 'z'), 9)), "bomb");
}

// ---- C: the header's own CRC ------------------------------------------------

TEST(Decode, EncodeWritesVersionTwoWithAHeaderCrc) {
    const auto r = strata::make_record("v", 3, Clock::now() + 1h, Clock::now());
    const auto blob = strata::envelope::encode(r);
    ASSERT_EQ(blob.size(), strata::envelope::header_size + 1);
    EXPECT_EQ(blob[4], 2);
    std::string crc;
    put_le(crc, crc32(0L, reinterpret_cast<const Bytef*>(blob.data()), 80), 4);
    EXPECT_EQ(blob.substr(80, 4), crc);
}

// Every single-bit flip anywhere in a version 2 header, and every whole-byte
// flip, fails decode as corrupt: expiry, version and sizes included.
TEST(Decode, AnyFlippedHeaderBitIsCorrupt) {
    const auto now = Clock::now();
    for (const auto& r : {strata::make_record("short value", 9, now + 1h, now),
                          strata::make_record(std::string(5000, 'c'), 10, std::nullopt, now)}) {
        const auto blob = strata::envelope::encode(r);
        ASSERT_EQ(strata::envelope::decode(blob).value, r.value);
        for (std::size_t at = 0; at < strata::envelope::header_size; ++at) {
            for (const int mask : {1, 2, 4, 8, 16, 32, 64, 128, 255}) {
                auto bad = blob;
                bad[at] = static_cast<char>(bad[at] ^ mask);
                expect_corrupt(bad, "byte " + std::to_string(at) + " ^ " + std::to_string(mask));
                EXPECT_FALSE(strata::envelope::peek_header(bad)) << "byte " << at << " ^ " << mask;
            }
        }
    }
}

namespace {

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    return out;
}

Clock::time_point at_ns(std::int64_t ns) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

// Written by the previous release's encode() (format version 1, no CRC).
// Value "written by 0.1", version 7, updated 1700000000123456789 ns,
// expiring 4102444800000000000 ns (2100).
const std::string v1_plain = from_hex(
    "5354524101040000070000000000000015cd853dfe9c97170000a656cfcfee38"
    "e6fd91a007a41cc472cd9806c9f5315cb99cae8ecbcbf042a37fc42bbf657a40"
    "0e000000000000000e000000000000007772697474656e20627920302e31");
// 2000 'x', version 8, same update time, no expiry, compressed.
const std::string v1_compressed = from_hex(
    "5354524101010000080000000000000015cd853dfe9c97170000000000000000"
    "5c0e0ea421571c300b5df6aec0a118b5c3dc02e0683a546341d5efc689df2f58"
    "d0070000000000001d000000000000007801aba81805a321301a02a321301a02"
    "a321301a02433d0400cf40a9ae");

}  // namespace

TEST(Decode, VersionOneRecordsOfThePreviousReleaseStillDecode) {
    const auto plain = strata::envelope::decode(v1_plain);
    EXPECT_EQ(plain.value, "written by 0.1");
    EXPECT_EQ(plain.version, 7u);
    EXPECT_EQ(plain.updated_at, at_ns(1'700'000'000'123'456'789));
    EXPECT_EQ(plain.expires_at, at_ns(4'102'444'800'000'000'000));
    EXPECT_TRUE(plain.intact());
    const auto compressed = strata::envelope::decode(v1_compressed);
    EXPECT_EQ(compressed.value, std::string(2000, 'x'));
    EXPECT_EQ(compressed.version, 8u);
    EXPECT_FALSE(compressed.expires_at);
    EXPECT_TRUE(compressed.intact());
    const auto header = strata::envelope::peek_header(v1_plain);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->size, strata::envelope::v1_header_size);
    EXPECT_EQ(header->expires_at, at_ns(4'102'444'800'000'000'000));
    // Without a CRC, structural damage is still caught.
    expect_corrupt(v1_plain.substr(0, v1_plain.size() - 1), "truncated v1");
}

namespace {

using FileManager = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;

fs::path file_of(FileManager& mgr, std::string_view key) {
    return mgr.tier<strata::FileTier>().root() / strata::detail::file::encode_key(key);
}


}  // namespace

// The expiry's top byte flipped moves it before 1970: read as it stands, the
// record would be expired, so absent, and swept; it is a corrupt copy.
TEST(Decode, FlippedExpiryInAFileTierIsACorruptCopyNotAnAbsentOne) {
    strata::testing::TempDir dir;
    FileManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}, strata::FileTier{dir.path}};
    mgr.set("order:1", "open", strata::warm, strata::SetOptions{1h});
    ASSERT_EQ(mgr.get("order:1"), "open");
    const auto path = file_of(mgr, "order:1");
    flip_byte(path, 31, 0x80);

    EXPECT_EQ(mgr.tier<strata::FileTier>().sweep_expired(), 0u);
    EXPECT_EQ(mgr.tier<strata::FileTier>().keys("*"), std::vector<std::string>{"order:1"});
    try {
        const auto got = mgr.get("order:1");
        ADD_FAILURE() << "get returned " << (got ? "'" + *got + "'" : "absent");
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt) << e.what();
    }
    EXPECT_TRUE(fs::exists(path));  // left for repair, not removed as expired
}

// header_expired reads the header of either version, also one of a v1 record
// with an empty value: 80 bytes where a v2 header takes 84.
TEST(Decode, FileTierSweepsExpiredVersionOneRecords) {
    strata::testing::TempDir dir;
    strata::FileTier tier(dir.path);
    tier.store("live", strata::make_record("x", 1, Clock::now() + 1h, Clock::now()));
    auto expired = raw_envelope(1, strata::envelope::flag_expires, 0, "");
    ASSERT_EQ(expired.size(), strata::envelope::v1_header_size);
    expired.replace(24, 8, std::string("\x01\0\0\0\0\0\0\0", 8));  // 1 ns after the epoch
    expired.replace(32, 32, reinterpret_cast<const char*>(strata::sha256("").data()), 32);
    std::ofstream(dir.path / strata::detail::file::encode_key("old"), std::ios::binary) << expired;
    std::ofstream(dir.path / strata::detail::file::encode_key("v1"), std::ios::binary) << v1_plain;
    EXPECT_EQ(tier.keys("*"), (std::vector<std::string>{"live", "v1"}));
    EXPECT_EQ(tier.sweep_expired(), 1u);
    EXPECT_FALSE(fs::exists(dir.path / strata::detail::file::encode_key("old")));
    EXPECT_EQ(tier.fetch("v1")->value, "written by 0.1");
}

// ---- B, checkpoints: stream lengths bounded by the stream -------------------

namespace {

struct StringSource {
    std::string_view data;
    std::size_t pos = 0;
    std::size_t read(char* out, std::size_t n) {
        n = std::min(n, data.size() - pos);
        std::copy_n(data.data() + pos, n, out);
        pos += n;
        return n;
    }
};

struct StringSink {
    std::string data;
    void write(std::string_view chunk) { data += chunk; }
};

strata::CheckpointInfo info_for(std::string_view stream, std::uint64_t bytes) {
    strata::CheckpointInfo info;
    info.id = "cp";
    info.tiers = {strata::CapturedTier{0, "memory", strata::Temperature::hot, 1, bytes}};
    info.key_count = 1;
    info.bytes = bytes;
    info.stored_bytes = stream.size();
    return info;
}

// Reads the whole stream; throws what the reader throws.
void read_checkpoint(std::string_view stream, const strata::CheckpointInfo& info) {
    StringSource source{stream};
    strata::CheckpointReader reader(source, info);
    reader.run([](const auto&) {}, [](auto&&, auto&&) {}, [](const auto&) {});
}

void expect_checkpoint_corrupt(std::string_view stream, const strata::CheckpointInfo& info, const std::string& what) {
    try {
        read_checkpoint(stream, info);
        ADD_FAILURE() << what << ": read";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt) << what << ": " << e.what();
    }
}

// A checkpoint stream whose one record claims a 16 GiB value and is followed
// by 192 MiB of zeros (about 1 MB compressed): a reader that believes the
// length buffers all of them looking for the rest.
const std::string& lying_checkpoint() {
    static const std::string stream = [] {
        using namespace strata::detail::checkpoint;
        std::string head(magic);
        put_u64(head, format_version);
        put_bytes(head, "cp");
        head += tag_tier;
        put_u64(head, 0);
        put_u64(head, static_cast<std::uint64_t>(strata::Temperature::hot));
        put_bytes(head, "memory");
        head += tag_record;
        put_bytes(head, "k");
        put_u64(head, 1);  // version
        put_u64(head, 0);  // updated
        put_u64(head, 0);  // flags
        put_u64(head, 0);  // expires
        head += std::string(32, '\0');
        put_u64(head, sixteen_gib);
        StringSink out;
        strata::codec::Deflater deflater(1);
        const auto emit = [&](std::string_view chunk) { out.write(chunk); };
        deflater.write(head, emit);
        const std::string zeros(1u << 20, '\0');
        for (int i = 0; i < 192; ++i) deflater.write(zeros, emit);
        deflater.finish(emit);
        return out.data;
    }();
    return stream;
}

}  // namespace

TEST(Decode, CheckpointRecordClaimingSixteenGibIsCorruptWithoutBufferingTheStream) {
    const auto& stream = lying_checkpoint();
    ASSERT_LT(stream.size(), 2u << 20);
    // Refused by the summary's byte count, and by the stream's size alone
    // when the summary's count would allow it.
    for (const std::uint64_t summary_bytes : {std::uint64_t{100}, std::uint64_t{1} << 40}) {
        const auto info = info_for(stream, summary_bytes);
        expect_contained(contained([&] { read_checkpoint(stream, info); }), 64 * mib,
                         "summary bytes " + std::to_string(summary_bytes));
    }
}

TEST(Decode, DamagedCheckpointStreamsAreCorrupt) {
    StringSink sink;
    strata::CheckpointWriter writer(sink, "cp");
    writer.begin_tier(0, strata::Temperature::hot, "memory");
    const auto value = text(300'000);
    writer.add("a", strata::make_record(value, 1, std::nullopt, Clock::now()));
    writer.add("b", strata::make_record("small", 2, std::nullopt, Clock::now()));
    const auto [keys, bytes] = writer.end_tier();
    const auto summary = writer.finish();
    const std::string& stream = sink.data;
    auto info = info_for(stream, summary.bytes);
    info.tiers[0].keys = info.key_count = keys;
    info.tiers[0].bytes = bytes;
    info.consistency_hash = summary.consistency_hash;
    info.stream_hash = summary.stream_hash;
    ASSERT_NO_THROW(read_checkpoint(stream, info));  // the undamaged stream reads

    expect_checkpoint_corrupt(stream.substr(0, stream.size() / 2), info, "truncated");
    expect_checkpoint_corrupt(stream + "x", info, "a byte appended");
    auto flipped = stream;
    flipped[flipped.size() / 2] ^= 0x20;
    expect_checkpoint_corrupt(flipped, info, "flipped byte");
    auto shorter = info;
    shorter.stored_bytes = stream.size() - 10;
    expect_checkpoint_corrupt(stream, shorter, "longer than its summary");
    auto fewer = info;
    fewer.bytes = fewer.tiers[0].bytes = value.size() - 1;
    expect_checkpoint_corrupt(stream, fewer, "a value larger than the summary counts");
}
