// The shared byte encodings (hex, percent) and string hashes, and the formats
// built on them: FileTier paths, S3 object names and URIs, checkpoint
// summaries and PostgreSQL bytea stay byte for byte what they were, since
// files, objects and rows already written must still be found.
#include <gtest/gtest.h>

#include <string>
#include <strata/checkpoint/detail/summary.hpp>
#include <strata/core/detail/hex.hpp>
#include <strata/core/detail/percent.hpp>
#include <strata/core/detail/string_hash.hpp>
#include <strata/core/digest.hpp>
#include <strata/tiers/detail/file_path.hpp>
#include <strata/tiers/postgres/sql.hpp>
#include <strata/tiers/s3/naming.hpp>
#include <strata/tiers/s3/uri.hpp>

namespace {

using strata::detail::ByteSet;
using strata::detail::HexCase;

std::string bytes_from(int first) {
    std::string s;
    for (int c = first; c < 256; ++c) s += static_cast<char>(c);
    return s;
}

const std::string all_bytes = bytes_from(0);

// A fingerprint of a long output: the known answers below were taken from
// the encoders as they were before they shared these primitives.
std::string fingerprint(const std::string& s) { return strata::to_hex(strata::sha256(s)); }

TEST(Hex, RoundTripsEveryByteInBothCases) {
    const std::string lower = strata::detail::to_hex(all_bytes);
    const std::string upper = strata::detail::to_hex(all_bytes, HexCase::upper);
    EXPECT_EQ(lower.size(), 512u);
    EXPECT_EQ(lower.substr(0, 8), "00010203");
    EXPECT_EQ(lower.substr(504), "fcfdfeff");
    EXPECT_EQ(upper.substr(504), "FCFDFEFF");
    EXPECT_EQ(strata::detail::from_hex(lower), all_bytes);
    EXPECT_EQ(strata::detail::from_hex(upper), all_bytes);
    for (int c = 0; c < 256; ++c) {
        const std::string one(1, static_cast<char>(c));
        EXPECT_EQ(strata::detail::from_hex(strata::detail::to_hex(one)), one) << c;
    }
}

TEST(Hex, RejectsWhatIsNotHex) {
    for (const char* bad : {"0", "abc", "0g", "g0", " 0", "0x", "-1", "\xff\xff"})
        EXPECT_FALSE(strata::detail::from_hex(bad).has_value()) << bad;
    EXPECT_EQ(strata::detail::from_hex(""), "");
    EXPECT_EQ(strata::detail::hex_value('F'), 15);
    EXPECT_EQ(strata::detail::hex_value('f'), 15);
    EXPECT_EQ(strata::detail::hex_value('G'), -1);
    char out[2];
    EXPECT_FALSE(strata::detail::from_hex_into("abc", out, 2));  // too short for the size asked
    EXPECT_TRUE(strata::detail::from_hex_into("abCD", out, 2));
    EXPECT_EQ(std::string(out, 2), "\xab\xcd");
}

TEST(Hex, DigestsKeepTheirLowerCaseForm) {
    EXPECT_EQ(strata::to_hex(strata::sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Percent, RoundTripsEveryByteWhateverIsKept) {
    // Any set without '%' itself: a kept '%' would read as an escape.
    for (const ByteSet& kept : {ByteSet{}, strata::detail::alphanumeric, strata::detail::alphanumeric.with("/+ "),
                                ByteSet::range(0, 255).without("%")}) {
        const std::string encoded = strata::detail::percent_encode(all_bytes, kept);
        EXPECT_EQ(strata::detail::percent_decode(encoded, {}), all_bytes);
        EXPECT_EQ(strata::detail::percent_decode(encoded, {.upper_case_only = true}), all_bytes);
    }
    const std::string everything = strata::detail::percent_encode(all_bytes, ByteSet{});
    EXPECT_EQ(everything.size(), 3u * 256);
    EXPECT_EQ(everything.substr(0, 6), "%00%01");
    EXPECT_EQ(everything.substr(everything.size() - 6), "%FE%FF");  // upper-case hex
}

TEST(Percent, ByteSetsHoldExactlyTheirBytes) {
    const ByteSet s = ByteSet::range('a', 'c').with("-").without("b");
    for (int c = 0; c < 256; ++c) {
        const bool in = c == 'a' || c == 'c' || c == '-';
        EXPECT_EQ(s.contains(static_cast<unsigned char>(c)), in) << c;
    }
    EXPECT_TRUE(ByteSet::range(0, 255).contains(0));
    EXPECT_TRUE(ByteSet::range(0, 255).contains(255));
    EXPECT_FALSE(ByteSet{}.contains(0));
}

TEST(Percent, DecodingOptions) {
    EXPECT_EQ(strata::detail::percent_decode("a%2fb"), "a/b");
    EXPECT_FALSE(strata::detail::percent_decode("a%2fb", {.upper_case_only = true}).has_value());
    EXPECT_EQ(strata::detail::percent_decode("a%2Fb", {.upper_case_only = true}), "a/b");
    EXPECT_EQ(strata::detail::percent_decode("a+b"), "a+b");
    EXPECT_EQ(strata::detail::percent_decode("a+b%2B", {.plus_is_space = true}), "a b+");
    for (const char* bad : {"%", "%4", "a%4", "%g0", "%0g", "%%41"})
        EXPECT_FALSE(strata::detail::percent_decode(bad).has_value()) << bad;
}

TEST(StringHash, StableHashIsFnv1a64) {
    EXPECT_EQ(strata::detail::stable_hash(""), 0xcbf29ce484222325ull);
    EXPECT_EQ(strata::detail::stable_hash("a"), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(strata::detail::stable_hash("foobar"), 0x85944171f73967e8ull);
    static_assert(strata::detail::stable_hash("a") == 0xaf63dc4c8601ec8cull, "usable at compile time");
    const std::string s = "key";
    EXPECT_EQ(strata::detail::StringHash{}(s), strata::detail::StringHash{}(std::string_view(s)));
}

// Known answers: the formats on disk and on the wire.

TEST(Formats, CheckpointSummaryEscapes) {
    const auto pct = [](std::string_view v) {
        return strata::detail::percent_encode(v, strata::detail::checkpoint::summary_plain);
    };
    EXPECT_EQ(pct("20240101T000000.000000Z-000001-manual"), "20240101T000000.000000Z-000001-manual");
    EXPECT_EQ(pct("a b/c:%\n"), "a%20b/c:%25%0A");
    EXPECT_EQ(fingerprint(pct(all_bytes)), "d77ab480aa762d916660e03f1a652c1d84c3bc661289e8a5abeff15859a772a5");
}

TEST(Formats, FileTierPaths) {
    using strata::detail::file::encode_key;
    EXPECT_EQ(encode_key(".a b%"), "%2Ea%20b%25.rec");
    EXPECT_EQ(fingerprint(encode_key(bytes_from(1))),
              "697ae4b06fdf8180c4f484ea6903135258b5f37c1e215fbc36405bfd4ebcfa29");
    std::string long_key;
    for (int i = 0; i < 1024; ++i) long_key += "a.\xff/"[i % 4];
    EXPECT_EQ(fingerprint(encode_key(long_key)), "93890e2ed59f42d130b9bdc5bb287ed6913b012156cf33119f4d0c875080cc59");
    EXPECT_EQ(strata::detail::file::decode_path(encode_key(long_key)), long_key);
    EXPECT_EQ(strata::detail::file::decode_path(encode_key(bytes_from(1))), bytes_from(1));
    EXPECT_FALSE(strata::detail::file::decode_path("a%2e.rec").has_value());  // lower case is not canonical
}

TEST(Formats, S3ObjectNames) {
    using strata::detail::s3::encode_key;
    const std::string utf8 = "\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80\xc3\x28\xef\xbf\xbf\xed\xa0\x80\xc0\xaf";
    EXPECT_EQ(encode_key("a b/c%~\x7f"), "a%20b%2Fc%25~%7F");
    EXPECT_EQ(fingerprint(encode_key(bytes_from(1)) + encode_key(utf8)),
              "825a7a962432463366fc1c9f399708471ef2d8afe1e64bcd8e696c059826a218");
    EXPECT_EQ(strata::detail::s3::decode_name(encode_key(bytes_from(1))), bytes_from(1));
    EXPECT_EQ(strata::detail::s3::decode_name(encode_key(utf8)), utf8);
    EXPECT_FALSE(strata::detail::s3::decode_name("a%2f").has_value());  // strata writes upper case only
}

TEST(Formats, S3Uris) {
    using strata::detail::s3::uri_encode;
    EXPECT_EQ(uri_encode("a/b c~", true), "a/b%20c~");
    EXPECT_EQ(uri_encode("a/b c~", false), "a%2Fb%20c~");
    EXPECT_EQ(fingerprint(uri_encode(all_bytes, true)), "7109eb786d068ccec76c00d2ffe440587caf91f543a2d2c6f4774b288ff92498");
    EXPECT_EQ(fingerprint(uri_encode(all_bytes, false)),
              "c57cfa443e460b93b5bf5e0d4b49dd5d0068139c4195ebc4fee587858ea532c3");
    EXPECT_EQ(strata::detail::s3::uri_decode(uri_encode(all_bytes, false)), all_bytes);
    EXPECT_EQ(strata::detail::s3::uri_decode("a%2fb+c", true), "a/b c");
}

TEST(Formats, PostgresBytea) {
    const std::string param = strata::detail::postgres::bytea_param(all_bytes);
    EXPECT_EQ(param.substr(0, 6), "\\x0001");
    EXPECT_EQ(fingerprint(param), "3959d77a21a27a1836d39bc3c57fbf0171b221b3997c318ed0d7280a5b5f676f");
    EXPECT_EQ(strata::detail::postgres::decode_bytea(param), all_bytes);
    EXPECT_EQ(strata::detail::postgres::decode_bytea("\\xABcd"), "\xab\xcd");
    for (const char* bad : {"", "\\", "x00", "\\y00", "\\x0", "\\x0g"})
        EXPECT_FALSE(strata::detail::postgres::decode_bytea(bad).has_value()) << bad;
}

}  // namespace
