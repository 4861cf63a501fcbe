// Records, digests, the envelope, errors, keys, globs and the version clock.
#include <gtest/gtest.h>

#include <set>
#include <strata/core/envelope.hpp>
#include <strata/core/glob.hpp>
#include <strata/core/key.hpp>
#include <strata/core/version_clock.hpp>
#include <strata/tiers/detail/file_io.hpp>
#include <thread>
#include <vector>

#include "common/failure.hpp"

using namespace std::chrono_literals;

TEST(Digest, MatchesTheStandardTestVector) {
    EXPECT_EQ(strata::to_hex(strata::sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    strata::Sha256 incremental;
    incremental.update("a").update("bc");
    EXPECT_EQ(incremental.finish(), strata::sha256("abc"));
}

TEST(Record, IntactOnlyWhileTheValueMatchesItsChecksum) {
    auto r = strata::make_record(std::string("v\0x", 3), 7);
    EXPECT_TRUE(r.intact());
    r.value[0] = 'w';
    EXPECT_FALSE(r.intact());
    EXPECT_FALSE(strata::unreadable_record("garbage").intact());
}

TEST(Record, ExpiresAtItsDeadline) {
    const auto now = strata::Clock::now();
    auto r = strata::make_record("v", 1, now + 1s, now);
    EXPECT_FALSE(r.expired(now));
    EXPECT_TRUE(r.expired(now + 1s));
    EXPECT_FALSE(strata::make_record("v", 1).expired(now + 1000h));
}

namespace {

strata::Record sample(std::string value, bool expires) {
    const auto now = strata::Clock::now();
    return strata::make_record(std::move(value), 42, expires ? std::optional(now + 1h) : std::nullopt, now);
}

void expect_same(const strata::Record& a, const strata::Record& b) {
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.updated_at, b.updated_at);
    EXPECT_EQ(a.expires_at, b.expires_at);
    EXPECT_EQ(a.checksum, b.checksum);
}

}  // namespace

TEST(Envelope, RoundTripsEveryField) {
    for (bool expires : {false, true}) {
        const auto r = sample(std::string("bin\0ary", 7), expires);
        expect_same(strata::envelope::decode(strata::envelope::encode(r)), r);
    }
}

TEST(Envelope, CompressesOnlyLargeCompressibleValues) {
    const auto small = sample(std::string(100, 'a'), false);
    EXPECT_EQ(strata::envelope::encode(small).size(), strata::envelope::header_size + 100);
    const auto large = sample(std::string(100'000, 'a'), true);
    const auto bytes = strata::envelope::encode(large);
    EXPECT_LT(bytes.size(), 10'000u);
    expect_same(strata::envelope::decode(bytes), large);
    const auto off = strata::envelope::encode(large, {.enabled = false});
    EXPECT_EQ(off.size(), strata::envelope::header_size + 100'000);
}

TEST(Envelope, KeepsTheChecksumAsGiven) {
    auto r = sample("value", false);
    r.checksum[0] ^= 0xFF;  // a tier must carry a wrong checksum unchanged for the manager to see it
    const auto back = strata::envelope::decode(strata::envelope::encode(r));
    EXPECT_EQ(back.checksum, r.checksum);
    EXPECT_FALSE(back.intact());
}

TEST(Envelope, RejectsTruncationAndGarbageWithAClearError) {
    const auto good = strata::envelope::encode(sample(std::string(5000, 'x'), true));
    auto expect_corrupt = [](const std::string& bytes, const std::string& words) {
        try {
            strata::envelope::decode(bytes);
            ADD_FAILURE() << "decoded: " << words;
        } catch (const strata::Error& e) {
            EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
            EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
        }
    };
    expect_corrupt("", "truncated");
    expect_corrupt(good.substr(0, 40), "truncated");
    expect_corrupt(good.substr(0, good.size() - 1), "truncated");
    expect_corrupt(good + "x", "padded");
    auto bad = good;
    bad[0] = 'X';
    expect_corrupt(bad, "magic");
    bad = good;
    bad[4] = 9;
    expect_corrupt(bad, "format version");
    bad = good;
    bad[5] = static_cast<char>(0x80);
    expect_corrupt(bad, "unknown flags");
    bad = good;
    bad[bad.size() - 3] ^= 0x55;  // inside the compressed payload
    expect_corrupt(bad, "payload");
    bad = good;
    bad[64] ^= 1;  // value size no longer matches what inflates
    expect_corrupt(bad, "");
    EXPECT_FALSE(strata::envelope::decode_or_unreadable("junk").intact());
}

// Only what passes with time is worth retrying.
TEST(Errors, OnlyUnavailableAndTimeoutAreTransient) {
    using strata::ErrorKind;
    for (const auto k : {ErrorKind::unavailable, ErrorKind::timeout})
        EXPECT_TRUE(strata::Error(k, "t", "op", "").transient()) << strata::to_string(k);
    for (const auto k : {ErrorKind::corrupt, ErrorKind::rejected, ErrorKind::not_found, ErrorKind::conflict,
                         ErrorKind::invalid})
        EXPECT_FALSE(strata::Error(k, "t", "op", "").transient()) << strata::to_string(k);
}

// FileTier's errno mapping: permission and quota are refusals, a full disk passes.
TEST(Errors, FileSystemRefusalsAreRejected) {
    const auto kind_of = [](int err) {
        return strata::testing::failure_of([err] { strata::detail::file::fail("disk", "store", "/x", err); }).first;
    };
    for (const int err : {EACCES, EPERM, EROFS, EDQUOT}) EXPECT_EQ(kind_of(err), strata::ErrorKind::rejected) << err;
    for (const int err : {ENOSPC, EIO, ENOTDIR}) EXPECT_EQ(kind_of(err), strata::ErrorKind::unavailable) << err;
}

TEST(Keys, InvalidKeysFailFast) {
    EXPECT_THROW(strata::validate_key(""), std::invalid_argument);
    EXPECT_THROW(strata::validate_key(std::string(strata::max_key_size + 1, 'k')), std::invalid_argument);
    EXPECT_THROW(strata::validate_key(std::string("a\0b", 3)), std::invalid_argument);
    EXPECT_NO_THROW(strata::validate_key(std::string(strata::max_key_size, 'k')));
    EXPECT_NO_THROW(strata::validate_key("orders/2026:\xE2\x82\xAC 'quoted' %_*?[]\\"));
}

struct GlobCase {
    const char* pattern;
    const char* text;
    bool match;
};

TEST(Glob, FollowsRedisSyntax) {
    const GlobCase cases[] = {
        {"*", "", true},          {"*", "anything", true},     {"a*", "abc", true},
        {"a*", "bac", false},     {"*c", "abc", true},         {"a*c", "ac", true},
        {"a*c", "abcbd", false},  {"a?c", "abc", true},        {"a?c", "ac", false},
        {"[abc]x", "bx", true},   {"[abc]x", "dx", false},     {"[a-c]", "b", true},
        {"[c-a]", "b", true},     {"[^a-c]", "b", false},      {"[^a-c]", "z", true},
        {"\\*", "*", true},       {"\\*", "a", false},         {"a\\?", "a?", true},
        {"[\\]]", "]", true},     {"*.json", "x.json", true},  {"user:*:cart", "user:42:cart", true},
        {"user:*:cart", "user:42:carts", false},               {"**a", "bba", true},
        {"%_", "%_", true},       {"%_", "ab", false},
    };
    for (const auto& c : cases)
        EXPECT_EQ(strata::Glob(c.pattern).matches(c.text), c.match) << c.pattern << " ~ " << c.text;
}

TEST(Glob, RejectsMalformedPatterns) {
    for (const char* p : {"[abc", "abc\\", "[]", "[^]", "[a-\\"})
        EXPECT_THROW(strata::Glob{p}, std::invalid_argument) << p;
    EXPECT_THROW(strata::Glob(std::string("a\0b", 3)), std::invalid_argument);
    EXPECT_THROW(strata::Glob(std::string(strata::Glob::max_size + 1, 'a')), std::invalid_argument);
}

TEST(Glob, GivesTheLiteralPrefixTiersListBy) {
    EXPECT_EQ(strata::Glob("orders/2026-*").literal_prefix(), "orders/2026-");
    EXPECT_EQ(strata::Glob("a\\*b*").literal_prefix(), "a*b");
    EXPECT_EQ(strata::Glob("*").literal_prefix(), "");
    EXPECT_TRUE(strata::Glob("a\\*").is_literal());
    EXPECT_FALSE(strata::Glob("a?").is_literal());
}

TEST(Glob, TranslatesToAnEscapedLikePattern) {
    auto like = strata::Glob("50%_off*\\\\?").to_sql_like();
    EXPECT_EQ(like.pattern, "50\\%\\_off%\\\\_");
    EXPECT_TRUE(like.exact);
    like = strata::Glob("[ab]*").to_sql_like();
    EXPECT_EQ(like.pattern, "_%");
    EXPECT_FALSE(like.exact);  // classes are filtered on the client
}

TEST(Glob, EscapedLiteralsMatchOnlyThemselves) {
    const std::string hostile = "pre*fix?[x]\\";
    const strata::Glob g(strata::glob_escape(hostile) + "*");
    EXPECT_TRUE(g.matches(hostile + "tail"));
    EXPECT_FALSE(g.matches("preXfix?[x]\\tail"));
    EXPECT_EQ(g.literal_prefix(), hostile);
}

TEST(VersionClock, IsStrictlyIncreasingAcrossThreads) {
    strata::VersionClock clock;
    clock.observe(std::uint64_t{1} << 62);  // a version from a clock far ahead
    std::vector<std::vector<std::uint64_t>> seen(4);
    std::vector<std::thread> threads;
    for (auto& s : seen)
        threads.emplace_back([&clock, &s] {
            for (int i = 0; i < 10'000; ++i) s.push_back(clock.next());
        });
    for (auto& t : threads) t.join();
    std::set<std::uint64_t> all;
    for (const auto& s : seen) {
        EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
        all.insert(s.begin(), s.end());
    }
    EXPECT_EQ(all.size(), 40'000u);
    EXPECT_GT(*all.begin(), std::uint64_t{1} << 62);
}
