// Writes the seed corpora under tests/fuzz/corpus/<target>/ with the
// library's own writers, so the seeds are what strata really stores and
// servers really send. The seeds are committed; run this again only when a
// format changes, from the repository's root:
//
//   g++ -std=c++20 -Iinclude -Itests tests/fuzz/make_seeds.cpp -o build-fuzz/make_seeds -lexpat -lssl -lcrypto -lz
//   build-fuzz/make_seeds
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "backup_key.hpp"
#include "strata/backup/detail/manifest.hpp"
#include "strata/backup/detail/segmented_cipher.hpp"
#include "strata/backup/key_ring.hpp"
#include "strata/checkpoint/detail/summary.hpp"
#include "strata/checkpoint/stream_writer.hpp"
#include "strata/codec/zlib_stream.hpp"
#include "strata/core/envelope.hpp"
#include "strata/tiers/detail/file_path.hpp"
#include "strata/tiers/postgres/sql.hpp"
#include "strata/tiers/s3/naming.hpp"
#include "strata/tiers/s3/uri.hpp"
#include "strata/tiers/s3/xml.hpp"

using namespace strata;
using namespace std::string_literals;

namespace {

const std::filesystem::path root = "tests/fuzz/corpus";

void seed(std::string_view target, std::string_view name, std::string_view bytes) {
    std::filesystem::create_directories(root / target);
    std::ofstream(root / target / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const Clock::time_point t0 = Clock::time_point(std::chrono::seconds(1'780'000'000));

Record record(std::string value, std::uint64_t version, bool expires = false) {
    return make_record(std::move(value), version, expires ? std::optional(t0 + std::chrono::hours(1)) : std::nullopt,
                       t0);
}

// A version 2 envelope as the previous release wrote it: version 1, no CRC.
std::string as_v1(std::string v2) {
    v2[4] = 1;
    return v2.erase(envelope::v1_header_size, envelope::header_size - envelope::v1_header_size);
}

void envelopes() {
    const std::string big(3000, 'x');
    seed("envelope", "small", envelope::encode(record("hello", 1)));
    seed("envelope", "empty_value", envelope::encode(record("", 7)));
    seed("envelope", "expiring", envelope::encode(record("session", 3, true)));
    seed("envelope", "compressed", envelope::encode(record(big, 9)));
    seed("envelope", "v1_small", as_v1(envelope::encode(record("hello", 1))));
    seed("envelope", "v1_compressed_expiring", as_v1(envelope::encode(record(big + "tail", 2, true))));
    seed("envelope", "header_only", envelope::encode(record("abc", 1)).substr(0, envelope::header_size));
}

// An expression, then optionally a NUL and 8 bytes: the instant next_after starts from.
void crons() {
    auto from = [](std::int64_t ticks) { return "\0"s + std::string(reinterpret_cast<const char*>(&ticks), sizeof ticks); };
    seed("cron", "daily", "0 0 * * *");
    seed("cron", "six_hourly", "0 */6 * * *");
    seed("cron", "every_minute", "*/1 * * * *");
    seed("cron", "macro", "@weekly");
    seed("cron", "names_lists_steps", "1-5,10-20/3 9-17 1,15 jan-MAR/2 mon-fri");
    seed("cron", "either_day", "0 12 1 * MON");
    seed("cron", "sunday_as_7", "* * * * 5-7/2");
    seed("cron", "never", "0 0 30 2 *");
    seed("cron", "leap_sunday_near_max", "0 0 29 2 */7" + from(std::numeric_limits<std::int64_t>::max() - 40'000'000'000'000'000));
    seed("cron", "before_epoch", "59 23 31 12 *" + from(std::numeric_limits<std::int64_t>::min()));
    seed("cron", "bad_step", "*/0 * * * *");
}

void file_paths() {
    const std::vector<std::string> keys{"a", "user:42/profile", ".hidden", "..", "a b\tc%", "\x01\xff\x7f",
                                        std::string(300, 'k'), std::string(120, '/')};
    int i = 0;
    for (const auto& k : keys) seed("file_path", "key" + std::to_string(i++), detail::file::encode_key(k));
    seed("file_path", "not_canonical", "a%41.rec");
    seed("file_path", "stray_dir", "x/y.rec");
    seed("file_path", "temporary", ".tmp.123");
}

void globs() {
    seed("glob", "prefix_star", "user:*\0user:42"s);
    seed("glob", "class_any_escape", "[a-z]?\\*x\0b1*x"s);
    seed("glob", "negated", "[^abc]*\0d"s);
    seed("glob", "unclosed", "a[\0a["s);
    seed("glob", "stars", "*?*a*\0bcabc"s);
    seed("glob", "like_specials", "%_\\\\\0%_\\"s);
    seed("glob", "range_reversed", "[z-a\\]]\0]"s);
}

void http_dates() {
    seed("http_date", "imf_fixdate", "Sun, 06 Nov 1994 08:49:37 GMT");
    seed("http_date", "rfc850", "Sunday, 06-Nov-94 08:49:37 GMT");
    seed("http_date", "asctime", "Sun Nov  6 08:49:37 1994");
    seed("http_date", "recent", "Wed, 02 Dec 2026 05:48:58 GMT");
    seed("http_date", "leap_second", "Sat, 31 Dec 2016 23:59:60 GMT");
    seed("http_date", "leap_day", "Thu, 29 Feb 2024 00:00:00 GMT");
}

struct Sink {
    std::string bytes;
    void write(std::string_view s) { bytes += s; }
};

std::string inflate(std::string_view stored) {
    std::string out;
    codec::Inflater().write(stored, out);
    return out;
}

// A capture of two tiers as the Checkpointer writes it, and its summary.
std::pair<CheckpointInfo, std::string> checkpoint(int records) {
    Sink sink;
    CheckpointInfo info;
    info.id = "20261202T054858Z-000001-manual";
    info.created_at = t0;
    info.format_version = 1;
    info.version_cut = 42;
    info.capture_time = std::chrono::milliseconds(3);
    CheckpointWriter writer(sink, info.id);
    const std::pair<Temperature, std::string> tiers[] = {{Temperature::hot, "memory"}, {Temperature::cold, "file"}};
    for (std::size_t t = 0; t < 2; ++t) {
        writer.begin_tier(t, tiers[t].first, tiers[t].second);
        for (int i = 0; i < records; ++i)
            writer.add("key" + std::to_string(i), record(std::string(static_cast<std::size_t>(i * 7), 'v'),
                                                         static_cast<std::uint64_t>(i + 1), i % 3 == 0));
        const auto [keys, bytes] = writer.end_tier();
        info.tiers.push_back({t, tiers[t].second, tiers[t].first, keys, bytes});
    }
    const auto total = writer.finish();
    info.key_count = total.key_count;
    info.bytes = total.bytes;
    info.stored_bytes = total.stored_bytes;
    info.consistency_hash = total.consistency_hash;
    info.stream_hash = total.stream_hash;
    return {info, sink.bytes};
}

// The summary without its seal line, as checkpoint_stream takes it.
std::string unsealed(const CheckpointInfo& info) {
    std::string s = detail::checkpoint::encode_summary(info);
    s.pop_back();
    return s.substr(0, s.rfind('\n') + 1);
}

void checkpoints() {
    for (const int records : {0, 1, 5}) {
        auto [info, stored] = checkpoint(records);
        const std::string n = std::to_string(records);
        seed("checkpoint_summary", "records" + n, detail::checkpoint::encode_summary(info));
        seed("checkpoint_summary", "records" + n + "_unsealed", unsealed(info));
        // Mode 0: as stored; 2: sizes set by the target; 3: plain, deflated by the target;
        // 2 | 3 << 2: read 8 bytes at a time.
        seed("checkpoint_stream", "records" + n + "_stored", unsealed(info) + '\0' + '\0' + stored);
        seed("checkpoint_stream", "records" + n + "_plain", unsealed(info) + '\0' + '\3' + inflate(stored));
        seed("checkpoint_stream", "records" + n + "_small_reads", unsealed(info) + '\0' + '\x0e' + stored);
    }
    auto [info, stored] = checkpoint(2);
    info.skipped = {{1, "bad key%"}, {0, "k\n2"}};
    info.tiers[1].name = "file tier/ü";
    seed("checkpoint_summary", "skipped_and_escapes", detail::checkpoint::encode_summary(info));
}

void s3_xml() {
    const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    seed("s3_xml", "no_such_key",
         decl + "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
                "<Key>a/b</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>");
    seed("s3_xml", "slow_down", decl + "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>");
    seed("s3_xml", "skewed",
         decl + "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the "
                "current time is too large.</Message><MaxAllowedRequestTimeSkewMilliseconds>900000"
                "</MaxAllowedRequestTimeSkewMilliseconds></Error>");
    seed("s3_xml", "delete_result",
         decl + "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted><Key>p/a</Key></Deleted>"
                "<Error><Key>p/b%20&amp;c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                "</DeleteResult>");
    seed("s3_xml", "delete_result_empty",
         decl + "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>");
    seed("s3_xml", "html", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>");
    seed("s3_xml", "entities", "<!DOCTYPE e [<!ENTITY a \"&#x41;&#13;\">]><Error><Code>&a;</Code></Error>");
}

// Listed under an empty S3Options::prefix, as the target reads them.
void s3_listings() {
    using detail::s3::encode_key, detail::s3::uri_encode, detail::s3::xml_escape;
    const std::string head =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix></Prefix>";
    const auto object = [](std::string_view name, int size) {
        return "<Contents><Key>" + std::string(name) +
               "</Key><LastModified>2026-12-02T05:48:58.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328"
               "&quot;</ETag><Size>" + std::to_string(size) + "</Size><StorageClass>STANDARD</StorageClass></Contents>";
    };
    seed("s3_listing", "url_encoded",
         head + "<KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType>"
                "<IsTruncated>false</IsTruncated>" +
             object(uri_encode(encode_key("user:42/a b"), false), 97) +
             object(uri_encode(encode_key("caf\xc3\xa9 \xff"), false), 12) +
             object(uri_encode(detail::s3::hashed_name(std::string(2000, 'k')), false), 120) + "</ListBucketResult>");
    seed("s3_listing", "truncated",
         head + "<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
                "</NextContinuationToken>" + object(encode_key("k1"), 5) + "</ListBucketResult>");
    seed("s3_listing", "plain_keys",
         head + "<IsTruncated>false</IsTruncated>" + object(encode_key("caf\xc3\xa9"), 0) +
             object(xml_escape(encode_key("a<b>&'\"")), 3) + "</ListBucketResult>");
    seed("s3_listing", "empty", head + "<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>");
    seed("s3_listing", "base64_key", "dXNlcjo0Mg==");
}

// bytea as PostgreSQL prints it: lower-case hex; upper case is valid hex too.
void postgres_bytea() {
    using detail::postgres::bytea_param;
    seed("postgres_bytea", "empty", bytea_param(""));
    seed("postgres_bytea", "value", bytea_param("hello\0\xff"s));
    const Digest d = sha256("abc");
    seed("postgres_bytea", "checksum", bytea_param(std::string_view(reinterpret_cast<const char*>(d.data()), d.size())));
    seed("postgres_bytea", "upper_case", "\\xDEADbeef");
}

// The tree encoding of redis_reply.cpp, with hiredis's type numbers.
constexpr int string_type = 1, array_type = 2, integer_type = 3, nil_type = 4, status_type = 5, error_type = 6;

struct Tree {
    std::string bytes;
    Tree& str(int type, std::string_view s) {
        bytes += static_cast<char>(type);
        bytes += static_cast<char>(s.size() & 0xFF);
        bytes += static_cast<char>(s.size() >> 8);
        bytes += s;
        return *this;
    }
    Tree& array(std::size_t n) {
        bytes += static_cast<char>(array_type);
        bytes += static_cast<char>(n);
        return *this;
    }
    Tree& integer(std::int64_t v) {
        bytes += static_cast<char>(integer_type);
        for (int i = 0; i < 8; ++i) bytes += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xFF);
        return *this;
    }
    Tree& nil() {
        bytes += static_cast<char>(nil_type);
        return *this;
    }
};

void redis_replies() {
    seed("redis_reply", "mget", Tree{}
                                    .array(3)
                                    .str(string_type, envelope::encode(record("v", 1)))
                                    .nil()
                                    .str(string_type, envelope::encode(record(std::string(2000, 'z'), 2, true)))
                                    .bytes);
    seed("redis_reply", "scan_page",
         Tree{}.array(2).str(string_type, "17").array(3).str(string_type, "app:a").str(string_type, "app:b").integer(5)
             .bytes);
    seed("redis_reply", "info",
         Tree{}.str(string_type, "# Server\r\nredis_version:7.2.4\r\n# Memory\r\nused_memory:1048576\r\n"
                                 "maxmemory_policy:noeviction\r\n# Stats\r\nkeyspace_hits:10\r\n")
             .bytes);
    seed("redis_reply", "status_ok", Tree{}.str(status_type, "OK").bytes);
    seed("redis_reply", "wrongtype",
         Tree{}.str(error_type, "WRONGTYPE Operation against a key holding the wrong kind of value").bytes);
    seed("redis_reply", "loading", Tree{}.str(error_type, "LOADING Redis is loading the dataset in memory").bytes);
    seed("redis_reply", "idle", Tree{}.integer(3600).bytes);
}

}  // namespace


void backups() {
    namespace bk = detail::backup;
    const EncryptionKey key = fuzz::backup_key();
    // backup_open: one mode byte (see the target), then the bytes.
    const auto sealed = [](const EncryptionKey& k, std::string_view plain, int level) {
        std::string out(1, '\0');
        const auto keep = [&out](std::string_view s) { out += s; };
        bk::SegmentSealer sealer(k, {.segment_size = 64, .compression_level = level});
        sealer.write(plain, keep);
        sealer.finish(keep);
        return out;
    };
    std::string text;
    for (int i = 0; i < 20; ++i) text += "order:" + std::to_string(i) + " qty=100;";
    seed("backup_open", "empty", sealed(key, "", 0));
    seed("backup_open", "three_segments", sealed(key, text.substr(0, 150), 0));
    seed("backup_open", "compressed", sealed(key, text, 6));
    seed("backup_open", "other_key", sealed(fuzz::backup_key(0x5A), text.substr(0, 100), 0));
    KeyRing ring = KeyRing::create(key);
    KdfParams fast;
    fast.n = 1024;
    ring.add(key, EncryptionKey::from_passphrase("fuzz", fast));
    seed("backup_open", "ring", "\x01" + ring.serialize());
    seed("backup_open", "ring_other_key", "\x01" + KeyRing::create(fuzz::backup_key(0x5A)).serialize());
    seed("backup_open", "seal_then_alter", "\x06" + text);
    seed("backup_open", "ring_then_alter", std::string("\x03\x10\x01", 3));

    // backup_manifest: manifests as a store keeps them, plain and stored.
    auto [records, stream] = checkpoint(3);
    bk::Manifest full;
    full.info.id = records.id;
    full.info.created_at = t0;
    full.info.key_count = 3;
    full.info.version_cut = 42;
    full.records = records;
    full.records_part = {stream.size(), sha256(stream)};
    full.keys_part = {96, sha256("keys")};
    full.keys_hash = sha256("key0\nkey1\nkey2\n");
    seed("backup_manifest", "full_plain", bk::encode_manifest(full));
    seed("backup_manifest", "full_stored", bk::seal_manifest(full, key));
    bk::Manifest inc = full;
    inc.info.id = inc.records.id = "20261202T054958Z-000002-incremental";
    inc.info.type = BackupType::incremental;
    inc.info.parent = full.info.id;
    inc.info.changed_keys = 1;
    inc.info.deleted_keys = 2;
    seed("backup_manifest", "incremental_plain", bk::encode_manifest(inc));
    seed("backup_manifest", "incremental_stored", bk::seal_manifest(inc, key));
    seed("backup_manifest", "stored_other_key", bk::seal_manifest(inc, fuzz::backup_key(0x5A)));
}

int main() {
    crons();
    envelopes();
    file_paths();
    globs();
    http_dates();
    checkpoints();
    s3_xml();
    s3_listings();
    postgres_bytea();
    redis_replies();
    backups();
}
