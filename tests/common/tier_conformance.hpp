#pragma once

// The strata::Tier contract as a typed GoogleTest suite, run by every tier
// (memory, file, Redis, PostgreSQL, S3) so they all mean the same thing.
//
// The type parameter is a factory:
//
//   struct MyTierFactory {
//       // A fresh, EMPTY tier for one test: backends make a unique key
//       // prefix, table, bucket or directory per call.
//       static MyTier make();
//       // Optional: delete what make() created; called after each test
//       // while the tier is still alive.
//       static void dispose(MyTier&);
//   };
//
//   #include "common/tier_conformance.hpp"
//   namespace strata::conformance {  // the suite's names are looked up here
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, TierConformance, ::testing::Types<MyTierFactory>);
//   }
//
// Nothing here assumes a backend. What it demands of every tier:
// - records come back exactly as stored: value bytes (NUL, any byte, empty,
//   1 MiB), version, updated_at and expires_at to the nanosecond, and the
//   checksum as given (never recomputed: a wrong one stays wrong);
// - keys are any byte string of 1 to 1024 bytes without NUL, including glob,
//   LIKE, SQL and path metacharacters, unicode, control bytes and invalid
//   UTF-8; empty, oversized or NUL keys throw std::invalid_argument;
// - keys(glob) is Redis glob syntax, exact (no LIKE-style over-matching), no
//   duplicates, never an expired key; a malformed glob throws
//   std::invalid_argument;
// - batch calls keep input order; stats() counts live keys exactly.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // int64_t, uint64_t
#include <optional>
#include <random>
#include <span>
#include <stdexcept>  // invalid_argument
#include <string>
#include <thread>  // sleep_until
#include <vector>

#include "strata/core/digest.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"

namespace strata::conformance {

// A time with nanoseconds set, so tiers that round timestamps are caught.
inline Clock::time_point odd_time(std::int64_t offset_ns = 0) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(1'700'000'000'123'456'789LL + offset_ns)));
}

inline Record test_record(std::string value, std::uint64_t version = 1,
                          std::optional<Clock::time_point> expires_at = std::nullopt) {
    return make_record(std::move(value), version, expires_at, odd_time(static_cast<std::int64_t>(version)));
}

// A live expiry far enough away for any test, with nanoseconds set.
inline Clock::time_point later() {
    return Clock::now() + std::chrono::hours{1} + std::chrono::nanoseconds{789};
}

inline std::string random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Compares every field, with readable output on failure.
inline void expect_same_record(const Record& got, const Record& want, const std::string& context = {}) {
    SCOPED_TRACE(context);
    EXPECT_EQ(got.value.size(), want.value.size());
    EXPECT_TRUE(got.value == want.value) << "value bytes differ";
    EXPECT_EQ(got.version, want.version);
    EXPECT_EQ(got.updated_at.time_since_epoch().count(), want.updated_at.time_since_epoch().count());
    ASSERT_EQ(got.expires_at.has_value(), want.expires_at.has_value());
    if (want.expires_at) {
        EXPECT_EQ(got.expires_at->time_since_epoch().count(), want.expires_at->time_since_epoch().count());
    }
    EXPECT_EQ(to_hex(got.checksum), to_hex(want.checksum));
}

// Keys that break naive SQL LIKE, S3 and path mappings.
inline std::vector<std::string> hostile_keys() {
    return {"%", "100%", "a%2Fb", "%25", "_", "x_y", "xay", "*", "?", "[", "]", "[a-c]", "\\", "a\\b", "'",
            "''; DROP TABLE strata; --", "\"quoted\"", "/", "//", "/abs/path", "a/b/c", "dir", "dir/", "dir//x",
            "..", ".", "...", "../../etc/passwd", "./x", "a/../b", ".hidden", " ", " leading", "trailing ",
            "in side", "tab\there", "new\nline", "ü-unicode-日本語", "emoji-😀", "~tilde", "+plus", "a=b&c",
            "semi;colon", "#hash", "?query=1", "CON", "nul"};
}

template <class Factory>
class TierConformance : public ::testing::Test {
protected:
    using TierType = decltype(Factory::make());
    static_assert(check_tier<TierType>());

    void SetUp() override { tier_.emplace(Factory::make()); }

    void TearDown() override {
        if constexpr (requires(TierType& t) { Factory::dispose(t); }) {
            if (tier_) Factory::dispose(*tier_);
        }
        tier_.reset();
    }

public:
    TierType& tier() { return *tier_; }

    // Keys matching `glob`, sorted (tiers may list in any order).
    std::vector<std::string> keys(std::string_view glob) { return sorted(tier().keys(glob)); }

private:
    std::optional<TierType> tier_;
};

TYPED_TEST_SUITE_P(TierConformance);

TYPED_TEST_P(TierConformance, StoreFetchKeepsEveryField) {
    const Record plain = test_record("hello", 7);
    const Record expiring = test_record("bye", 8, later());
    this->tier().store("plain", plain);
    this->tier().store("expiring", expiring);
    const auto a = this->tier().fetch("plain");
    const auto b = this->tier().fetch("expiring");
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    expect_same_record(*a, plain, "plain");
    expect_same_record(*b, expiring, "expiring");
    EXPECT_TRUE(a->intact());
}

TYPED_TEST_P(TierConformance, BinaryValuesRoundTrip) {
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
    const std::vector<std::string> values = {std::string("a\0b", 3), std::string(5, '\0'), every_byte, "",
                                             random_bytes(3000, 1)};
    for (std::size_t i = 0; i < values.size(); ++i)
        this->tier().store("bin:" + std::to_string(i), test_record(values[i], i + 1));
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto got = this->tier().fetch("bin:" + std::to_string(i));
        ASSERT_TRUE(got.has_value()) << i;
        expect_same_record(*got, test_record(values[i], i + 1), "value " + std::to_string(i));
    }
}

TYPED_TEST_P(TierConformance, ChecksumIsStoredNotRecomputed) {
    Record r = test_record("the value", 3);
    r.checksum = sha256("another value");
    this->tier().store("k", r);
    const auto got = this->tier().fetch("k");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(to_hex(got->checksum), to_hex(sha256("another value")));
    EXPECT_FALSE(got->intact());
    const auto many = this->tier().fetch_many(std::vector<std::string>{"k"});
    ASSERT_TRUE(many.at(0).has_value());
    EXPECT_EQ(to_hex(many[0]->checksum), to_hex(sha256("another value")));
}

TYPED_TEST_P(TierConformance, OverwriteReplacesRecordAndExpiry) {
    this->tier().store("k", test_record("first", 1, later()));
    const Record second = test_record("second, longer than the first", 2);
    this->tier().store("k", second);
    const auto got = this->tier().fetch("k");
    ASSERT_TRUE(got.has_value());
    expect_same_record(*got, second);  // the old expiry must not survive
    const Record third = test_record("3", 3, later());
    this->tier().store("k", third);
    expect_same_record(this->tier().fetch("k").value(), third);
    EXPECT_EQ(this->keys("*"), std::vector<std::string>{"k"});
}

TYPED_TEST_P(TierConformance, EraseReportsWhetherKeyExisted) {
    this->tier().store("k", test_record("v"));
    this->tier().store("other", test_record("w"));
    EXPECT_TRUE(this->tier().erase("k"));
    EXPECT_FALSE(this->tier().fetch("k").has_value());
    EXPECT_FALSE(this->tier().erase("k"));
    EXPECT_FALSE(this->tier().erase("never-stored"));
    EXPECT_EQ(this->keys("*"), std::vector<std::string>{"other"});
    ASSERT_TRUE(this->tier().fetch("other").has_value());
}

TYPED_TEST_P(TierConformance, AbsentKeyIsNullopt) {
    EXPECT_FALSE(this->tier().fetch("absent").has_value());
    EXPECT_TRUE(this->keys("*").empty());
    this->tier().store("present", test_record("v"));
    EXPECT_FALSE(this->tier().fetch("absent").has_value());
    EXPECT_FALSE(this->tier().fetch("presen").has_value());
    EXPECT_FALSE(this->tier().fetch("present2").has_value());
}

TYPED_TEST_P(TierConformance, FetchManyKeepsInputOrder) {
    for (int i = 0; i < 10; ++i) this->tier().store("k" + std::to_string(i), test_record("v" + std::to_string(i), i + 1));
    const std::vector<std::string> ask = {"k9", "missing", "k0", "k5", "k5", "also-missing", "k1"};
    const auto got = this->tier().fetch_many(ask);
    ASSERT_EQ(got.size(), ask.size());
    for (std::size_t i = 0; i < ask.size(); ++i) {
        SCOPED_TRACE(ask[i]);
        if (ask[i].starts_with("k")) {
            ASSERT_TRUE(got[i].has_value());
            const int n = std::stoi(ask[i].substr(1));
            expect_same_record(*got[i], test_record("v" + std::to_string(n), n + 1));
        } else {
            EXPECT_FALSE(got[i].has_value());
        }
    }
}

TYPED_TEST_P(TierConformance, StoreManyAndEraseMany) {
    std::vector<Entry> entries;
    for (int i = 0; i < 200; ++i)
        entries.push_back({"batch:" + std::to_string(i), test_record(random_bytes(i * 7, i), i + 1)});
    this->tier().store_many(entries);
    std::vector<std::string> names;
    for (const auto& e : entries) names.push_back(e.key);
    EXPECT_EQ(this->keys("batch:*"), sorted(names));
    const auto got = this->tier().fetch_many(names);
    ASSERT_EQ(got.size(), entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        ASSERT_TRUE(got[i].has_value()) << entries[i].key;
        expect_same_record(*got[i], entries[i].record, entries[i].key);
    }

    std::vector<std::string> doomed = {"batch:0", "nope", "batch:199", "batch:50", "nope-either"};
    EXPECT_EQ(this->tier().erase_many(doomed), 3u);
    EXPECT_EQ(this->tier().erase_many(doomed), 0u);
    const auto after = this->tier().fetch_many(doomed);
    for (const auto& r : after) EXPECT_FALSE(r.has_value());
    EXPECT_EQ(this->tier().keys("batch:*").size(), 197u);
    EXPECT_TRUE(this->tier().fetch("batch:1").has_value());
}

TYPED_TEST_P(TierConformance, EmptyBatchesAreNoOps) {
    this->tier().store("k", test_record("v"));
    EXPECT_TRUE(this->tier().fetch_many(std::span<const std::string>{}).empty());
    this->tier().store_many(std::span<const Entry>{});
    EXPECT_EQ(this->tier().erase_many(std::span<const std::string>{}), 0u);
    EXPECT_EQ(this->keys("*"), std::vector<std::string>{"k"});
}

TYPED_TEST_P(TierConformance, ExpiredRecordsAreNeitherFetchedNorListed) {
    const auto past = Clock::now() - std::chrono::seconds{1};
    this->tier().store("live", test_record("v", 1, later()));
    this->tier().store("dead", test_record("v", 1, past));
    this->tier().store("revoked", test_record("v", 1));
    this->tier().store("revoked", test_record("v", 2, past));  // overwritten by an expired record
    std::vector<Entry> batch = {{"dead-batch", test_record("v", 3, past)}, {"live-batch", test_record("v", 3)}};
    this->tier().store_many(batch);

    EXPECT_FALSE(this->tier().fetch("dead").has_value());
    EXPECT_FALSE(this->tier().fetch("revoked").has_value());
    EXPECT_FALSE(this->tier().fetch("dead-batch").has_value());
    const auto many = this->tier().fetch_many(std::vector<std::string>{"dead", "live", "dead-batch", "live-batch"});
    ASSERT_EQ(many.size(), 4u);
    EXPECT_FALSE(many[0].has_value());
    EXPECT_TRUE(many[1].has_value());
    EXPECT_FALSE(many[2].has_value());
    EXPECT_TRUE(many[3].has_value());
    EXPECT_EQ(this->keys("*"), (std::vector<std::string>{"live", "live-batch"}));
    EXPECT_TRUE(this->keys("dead*").empty());
}

TYPED_TEST_P(TierConformance, RecordsExpireAtTheirDeadline) {
    const auto deadline = Clock::now() + std::chrono::milliseconds{1200};
    this->tier().store("short", test_record("v", 1, deadline));
    this->tier().store("long", test_record("v", 1, later()));
    ASSERT_TRUE(this->tier().fetch("short").has_value());
    std::this_thread::sleep_until(deadline + std::chrono::milliseconds{100});
    EXPECT_FALSE(this->tier().fetch("short").has_value());
    EXPECT_EQ(this->keys("*"), std::vector<std::string>{"long"});
    EXPECT_TRUE(this->tier().fetch("long").has_value());
}

TYPED_TEST_P(TierConformance, KeysGlobSyntax) {
    for (const char* k : {"user:1", "user:2", "user:10", "usex:1", "admin", "a1", "b1", "c1", "d1"})
        this->tier().store(k, test_record(k));
    using V = std::vector<std::string>;
    EXPECT_EQ(this->keys("*"), sorted({"user:1", "user:2", "user:10", "usex:1", "admin", "a1", "b1", "c1", "d1"}));
    EXPECT_EQ(this->keys("user:*"), (V{"user:1", "user:10", "user:2"}));
    EXPECT_EQ(this->keys("user:?"), (V{"user:1", "user:2"}));
    EXPECT_EQ(this->keys("us*:1"), (V{"user:1", "usex:1"}));
    EXPECT_EQ(this->keys("*:1*"), (V{"user:1", "user:10", "usex:1"}));
    EXPECT_EQ(this->keys("*1"), (V{"a1", "b1", "c1", "d1", "user:1", "usex:1"}));
    EXPECT_EQ(this->keys("[a-c]1"), (V{"a1", "b1", "c1"}));
    EXPECT_EQ(this->keys("[^a]1"), (V{"b1", "c1", "d1"}));
    EXPECT_EQ(this->keys("[abd]?"), (V{"a1", "b1", "d1"}));
    EXPECT_EQ(this->keys("user:1"), V{"user:1"});
    EXPECT_EQ(this->keys("admin?"), V{});
    EXPECT_EQ(this->keys("nomatch*"), V{});
}

TYPED_TEST_P(TierConformance, KeysEscapedMetacharacters) {
    for (const char* k : {"star*key", "starfish", "q?mark", "qxmark", "br[ack]et", "brXet", "back\\slash", "backXslash"})
        this->tier().store(k, test_record(k));
    using V = std::vector<std::string>;
    EXPECT_EQ(this->keys("star\\*key"), V{"star*key"});
    EXPECT_EQ(this->keys("star\\**"), V{"star*key"});
    EXPECT_EQ(this->keys("star\\*"), V{});
    EXPECT_EQ(this->keys("*\\**"), V{"star*key"});
    EXPECT_EQ(this->keys("q\\?mark"), V{"q?mark"});
    EXPECT_EQ(this->keys("br\\[ack\\]et"), V{"br[ack]et"});
    EXPECT_EQ(this->keys("back\\\\slash"), V{"back\\slash"});
    EXPECT_EQ(this->keys("back[\\\\]*"), V{"back\\slash"});
}

// One round trip and one exact listing per key: a tier that maps keys to
// paths, URLs or LIKE patterns without escaping fails here.
inline void check_keys_round_trip(auto& fixture, const std::vector<std::string>& keys) {
    for (std::size_t i = 0; i < keys.size(); ++i) fixture.tier().store(keys[i], test_record(keys[i], i + 1));
    for (std::size_t i = 0; i < keys.size(); ++i) {
        SCOPED_TRACE("key '" + keys[i] + "'");
        const auto got = fixture.tier().fetch(keys[i]);
        ASSERT_TRUE(got.has_value());
        expect_same_record(*got, test_record(keys[i], i + 1));
        EXPECT_EQ(fixture.keys(glob_escape(keys[i])), std::vector<std::string>{keys[i]});
    }
    EXPECT_EQ(fixture.keys("*"), sorted(keys));
    for (std::size_t i = 0; i < keys.size(); i += 2) EXPECT_TRUE(fixture.tier().erase(keys[i])) << keys[i];
    std::vector<std::string> left;
    for (std::size_t i = 1; i < keys.size(); i += 2) left.push_back(keys[i]);
    EXPECT_EQ(fixture.keys("*"), sorted(left));
}

TYPED_TEST_P(TierConformance, HostileKeysRoundTripAndListExactly) {
    check_keys_round_trip(*this, hostile_keys());
}

TYPED_TEST_P(TierConformance, LikeWildcardsInGlobsAreLiteral) {
    for (const char* k : {"x_y", "xay", "100%", "1000", "a%b", "aXXb"}) this->tier().store(k, test_record(k));
    using V = std::vector<std::string>;
    EXPECT_EQ(this->keys("x_y"), V{"x_y"});
    EXPECT_EQ(this->keys("100%"), V{"100%"});
    EXPECT_EQ(this->keys("a%b"), V{"a%b"});
    EXPECT_EQ(this->keys("*_*"), V{"x_y"});
    EXPECT_EQ(this->keys("*%*"), (V{"100%", "a%b"}));
}

TYPED_TEST_P(TierConformance, ArbitraryBytesInKeys) {
    check_keys_round_trip(*this, {"\x01\x02", "\x7f", "\xff\xfe", "\xc3\x28-invalid-utf8", "\x1b[31mred", "\r\n",
                                  "\x80", std::string(1, '\xff')});
}

TYPED_TEST_P(TierConformance, LongestKeysRoundTrip) {
    std::string mixed;
    while (mixed.size() < max_key_size) mixed += "a/%. \\*";
    mixed.resize(max_key_size);
    check_keys_round_trip(*this, {std::string(max_key_size, 'k'), mixed, std::string(max_key_size, '.'),
                                  std::string(max_key_size - 1, 'k')});
}

TYPED_TEST_P(TierConformance, LargeValuesRoundTrip) {
    const Record random = test_record(random_bytes(1 << 20, 42), 1);
    const Record compressible = test_record(std::string(1 << 20, 'z') + std::string("\0end", 4), 2);
    this->tier().store("random", random);
    this->tier().store_many(std::vector<Entry>{{"compressible", compressible}});
    const auto got = this->tier().fetch_many(std::vector<std::string>{"random", "compressible"});
    ASSERT_EQ(got.size(), 2u);
    ASSERT_TRUE(got[0].has_value());
    ASSERT_TRUE(got[1].has_value());
    expect_same_record(*got[0], random, "random");
    expect_same_record(*got[1], compressible, "compressible");
    EXPECT_TRUE(got[0]->intact());
    EXPECT_TRUE(got[1]->intact());
}

TYPED_TEST_P(TierConformance, StatsCountKeysAndBytes) {
    EXPECT_EQ(this->tier().stats().keys, 0u);
    std::vector<Entry> entries;
    for (int i = 0; i < 200; ++i) entries.push_back({"s:" + std::to_string(i), test_record(std::string(100, 'v'))});
    this->tier().store_many(entries);
    const TierStats full = this->tier().stats();
    EXPECT_EQ(full.keys, 200u);
    EXPECT_GT(full.bytes, 0u);
    std::vector<std::string> doomed;
    for (int i = 0; i < 50; ++i) doomed.push_back("s:" + std::to_string(i));
    EXPECT_EQ(this->tier().erase_many(doomed), 50u);
    EXPECT_EQ(this->tier().stats().keys, 150u);
}

TYPED_TEST_P(TierConformance, PingAnswers) { EXPECT_TRUE(this->tier().ping()); }

TYPED_TEST_P(TierConformance, RejectsInvalidKeys) {
    const Record r = test_record("v");
    const std::string too_long(max_key_size + 1, 'k');
    const std::string with_nul("a\0b", 3);
    for (const std::string& bad : {std::string(), too_long, with_nul}) {
        SCOPED_TRACE("key of " + std::to_string(bad.size()) + " bytes");
        EXPECT_THROW(this->tier().store(bad, r), std::invalid_argument);
        EXPECT_THROW((void)this->tier().fetch(bad), std::invalid_argument);
        EXPECT_THROW((void)this->tier().erase(bad), std::invalid_argument);
    }
    EXPECT_TRUE(this->keys("*").empty());
    EXPECT_EQ(this->tier().stats().keys, 0u);
}

TYPED_TEST_P(TierConformance, MalformedGlobIsRejected) {
    this->tier().store("k", test_record("v"));
    EXPECT_THROW((void)this->tier().keys("[abc"), std::invalid_argument);
    EXPECT_THROW((void)this->tier().keys("trailing\\"), std::invalid_argument);
    EXPECT_THROW((void)this->tier().keys(std::string("a\0*", 3)), std::invalid_argument);
    EXPECT_EQ(this->keys("k"), std::vector<std::string>{"k"});
}

REGISTER_TYPED_TEST_SUITE_P(TierConformance, StoreFetchKeepsEveryField, BinaryValuesRoundTrip,
                            ChecksumIsStoredNotRecomputed, OverwriteReplacesRecordAndExpiry,
                            EraseReportsWhetherKeyExisted, AbsentKeyIsNullopt, FetchManyKeepsInputOrder,
                            StoreManyAndEraseMany, EmptyBatchesAreNoOps, ExpiredRecordsAreNeitherFetchedNorListed,
                            RecordsExpireAtTheirDeadline, KeysGlobSyntax, KeysEscapedMetacharacters,
                            HostileKeysRoundTripAndListExactly, LikeWildcardsInGlobsAreLiteral,
                            ArbitraryBytesInKeys, LongestKeysRoundTrip, LargeValuesRoundTrip,
                            StatsCountKeysAndBytes, PingAnswers, RejectsInvalidKeys, MalformedGlobIsRejected);

}  // namespace strata::conformance
