// S3Tier against the real test server (s3rver behind the signature-checking
// front): hostile keys, pagination, large values, S3's metadata, error
// mapping, retries and failures.

#include <gtest/gtest.h>
#include <netinet/in.h>  // sockaddr_in
#include <sys/socket.h>
#include <unistd.h>  // close

#include <algorithm>  // count_if
#include <chrono>
#include <cstdlib>  // setenv, unsetenv
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/s3/support.hpp"
#include "strata/tiers/s3.hpp"

namespace {

using namespace std::chrono_literals;
using strata::Error;
using strata::ErrorKind;
using strata::S3Tier;
using strata_test::s3::front_stats;
using strata_test::s3::options;

strata::Record rec(std::string value, std::uint64_t version = 1) {
    return strata::make_record(std::move(value), version);
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

// Runs f, which must throw strata::Error, and returns it.
template <class F>
Error error_from(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no strata::Error thrown";
    return Error(ErrorKind::corrupt, "", "", "none");
}

TEST(S3Tier, HostileKeysGoThroughTheVerifyingFront) {
    S3Tier tier(options());
    const std::vector<std::string> keys = {"with space", "  two  spaces ", "ü日本語/ключ", "plus+sign", "a=b&c=d",
                                           "100%", "%2F%zz", "dir/sub/file", "/leading/slash", "trailing/",
                                           "a+b=c%d e/f~g", "~tilde", "semi;colon", "q?x=1", "hash#tag"};
    const auto before = front_stats();
    for (std::size_t i = 0; i < keys.size(); ++i) tier.store(keys[i], rec("v" + keys[i], i + 1));
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto got = tier.fetch(keys[i]);
        ASSERT_TRUE(got.has_value()) << keys[i];
        EXPECT_EQ(got->value, "v" + keys[i]);
        EXPECT_EQ(got->version, i + 1);
    }
    auto want = keys;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(tier.keys("*"), want);
    EXPECT_EQ(tier.keys("dir/*"), std::vector<std::string>{"dir/sub/file"});
    EXPECT_EQ(tier.keys("a[+=]*"), (std::vector<std::string>{"a+b=c%d e/f~g", "a=b&c=d"}));
    EXPECT_TRUE(tier.erase("with space"));
    EXPECT_FALSE(tier.fetch("with space").has_value());
    EXPECT_EQ(tier.erase_many(keys), keys.size() - 1);
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{});
    const auto after = front_stats();
    // Every one of those requests had its signature recomputed by botocore.
    EXPECT_GE(after.verified - before.verified, static_cast<long>(3 * keys.size()));
}

TEST(S3Tier, WrongSecretKeyIsRejectedByTheVerifier) {
    auto o = options();
    o.secret_key = "not-the-secret-0123456789";
    S3Tier tier(o);
    const auto before = front_stats();
    const Error e = error_from([&] { tier.store("k", rec("v")); });
    EXPECT_EQ(e.kind(), ErrorKind::rejected);
    EXPECT_EQ(e.tier(), "s3");
    EXPECT_EQ(e.operation(), "store");
    EXPECT_NE(std::string(e.what()).find("SignatureDoesNotMatch"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(o.secret_key), std::string::npos) << "secret leaked: " << e.what();
    EXPECT_EQ(error_from([&] { (void)tier.fetch("k"); }).kind(), ErrorKind::rejected);
    EXPECT_FALSE(tier.ping());
    EXPECT_GE(front_stats().rejected - before.rejected, 3);
    // The same key with the right secret goes through.
    S3Tier good(options());
    good.store("k", rec("v"));
    EXPECT_EQ(good.fetch("k")->value, "v");
}

TEST(S3Tier, SessionTokenIsSentSignedAndNeverShown) {
    auto o = options();
    o.session_token = "FwoGZXIvYXdzEXAMPLE+token/with=chars";
    o.secret_key = "wrong-secret-with-token";
    S3Tier tier(o);
    const Error e = error_from([&] { tier.store("k", rec("v")); });
    EXPECT_EQ(std::string(e.what()).find(o.session_token), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find(o.secret_key), std::string::npos);
}

// Straight to s3rver: 3,600 requests through the Python front would only
// make the test slow; the signatures are checked by the other tests.
TEST(S3Tier, OverOneThousandKeysAreListedAndDeletedAcrossPages) {
    S3Tier tier(options(true));
    std::vector<strata::Entry> entries;
    for (int i = 0; i < 1205; ++i) entries.push_back({"page:" + std::to_string(100000 + i), rec(std::to_string(i))});
    entries.push_back({"other", rec("x")});
    tier.store_many(entries);
    const auto listed = tier.keys("page:*");
    ASSERT_EQ(listed.size(), 1205u);  // ListObjectsV2 returns 1,000 per page
    EXPECT_EQ(listed.front(), "page:100000");
    EXPECT_EQ(listed.back(), "page:101204");
    EXPECT_EQ(tier.stats().keys, 1206u);
    EXPECT_EQ(tier.erase_many(listed), 1205u);  // two DeleteObjects batches
    EXPECT_TRUE(tier.keys("page:*").empty());
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"other"});
}

TEST(S3Tier, FiveMegabyteValuesRoundTrip) {
    S3Tier tier(options());
    const auto big = rec(random_bytes(5 << 20, 7));
    const auto zeros = rec(std::string(5 << 20, '\0'), 2);  // compressed on the way
    tier.store("big", big);
    tier.store_many(std::vector<strata::Entry>{{"zeros", zeros}});
    const auto got = tier.fetch_many(std::vector<std::string>{"zeros", "big"});
    ASSERT_TRUE(got[0] && got[1]);
    EXPECT_TRUE(got[1]->value == big.value);
    EXPECT_TRUE(got[0]->value == zeros.value);
    EXPECT_TRUE(got[0]->intact() && got[1]->intact());
    EXPECT_LT(tier.stats().bytes, (5u << 20) * 2) << "5 MB of zeros should be stored compressed";
}

TEST(S3Tier, MetadataAndStorageClassAreOnTheObject) {
    auto o = options();
    S3Tier tier(o);
    auto r = rec("meta", 42);
    r.expires_at = strata::Clock::now() + 1h;
    tier.store("m", r);
    strata::detail::s3::Client client(o);
    const auto head = client.execute_one({"HEAD", o.prefix + "m", {}, {}, {}}, "test");
    ASSERT_EQ(head.status, 200);
    EXPECT_EQ(head.header("x-amz-meta-strata-version"), "42");
    EXPECT_EQ(head.header("x-amz-meta-strata-checksum"), strata::to_hex(r.checksum));
    EXPECT_TRUE(head.header("x-amz-meta-strata-expires").has_value());
    EXPECT_EQ(head.header("x-amz-storage-class"), "STANDARD_IA");
}

TEST(S3Tier, GarbageObjectIsUnreadableNotFatal) {
    auto o = options();
    S3Tier tier(o);
    tier.store("good", rec("fine"));
    strata::detail::s3::Client client(o);
    ASSERT_EQ(client.execute_one({"PUT", o.prefix + "bad", {}, {}, "not an envelope"}, "test").status, 200);
    const auto got = tier.fetch_many(std::vector<std::string>{"bad", "good"});
    ASSERT_TRUE(got[0].has_value());
    EXPECT_FALSE(got[0]->intact());  // the manager repairs it from another tier
    ASSERT_TRUE(got[1].has_value());
    EXPECT_TRUE(got[1]->intact());
}

TEST(S3Tier, MissingBucketIsNotFound) {
    auto o = options();
    o.bucket = "strata-no-such-bucket";
    S3Tier tier(o);
    const Error fetch = error_from([&] { (void)tier.fetch("k"); });
    EXPECT_EQ(fetch.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(fetch.what()).find("bucket 'strata-no-such-bucket' does not exist"), std::string::npos)
        << fetch.what();
    EXPECT_EQ(error_from([&] { tier.store("k", rec("v")); }).kind(), ErrorKind::not_found);
    EXPECT_EQ(error_from([&] { (void)tier.keys("*"); }).kind(), ErrorKind::not_found);
    EXPECT_FALSE(tier.ping());
}

TEST(S3Tier, ErrorsCarryTheNameFromTheOptions) {
    auto o = options();
    o.bucket = "strata-no-such-bucket";
    o.name = "archive";
    S3Tier tier(o);
    EXPECT_EQ(tier.name(), "archive");
    const Error e = error_from([&] { (void)tier.fetch("k"); });
    EXPECT_EQ(e.tier(), "archive");
    EXPECT_NE(std::string(e.what()).find("strata: archive fetch"), std::string::npos) << e.what();
    EXPECT_EQ(S3Tier(options()).name(), "s3");
}

TEST(S3Tier, PeekManyReadsWhatFetchManyReads) {
    S3Tier tier(options());
    tier.store("a", rec("first", 3));
    tier.store("b", rec("second", 4));
    const std::vector<std::string> keys{"b", "absent", "a"};
    const auto peeked = tier.peek_many(keys);
    ASSERT_EQ(peeked.size(), 3u);
    EXPECT_EQ(peeked[0]->value, "second");
    EXPECT_FALSE(peeked[1]);
    EXPECT_EQ(peeked[2]->version, 3u);
    EXPECT_EQ(tier.fetch_many(keys)[0]->value, peeked[0]->value);
}

TEST(S3Tier, TransientFailuresAreRetried) {
    auto o = options();
    o.retries.base_backoff = 10ms;
    S3Tier tier(o);
    strata_test::s3::front_fail_next(o.prefix, 3, 503);  // three SlowDowns, then success
    tier.store("k", rec("after retries"));
    strata_test::s3::front_fail_next(o.prefix, 2, 500);
    EXPECT_EQ(tier.fetch("k")->value, "after retries");
}

TEST(S3Tier, RetriesAreBoundedThenUnavailable) {
    auto o = options();
    o.retries = {2, 10ms, 5s};
    S3Tier tier(o);
    strata_test::s3::front_fail_next(o.prefix, 100, 503);
    const auto before = front_stats();
    const Error e = error_from([&] { tier.store("k", rec("v")); });
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("after 3 attempts"), std::string::npos) << e.what();
    EXPECT_GE(front_stats().verified - before.verified, 3);
    strata_test::s3::front_fail_next(o.prefix, 0);
}

// A port nobody listens on: connection refused, retried, then unavailable.
TEST(S3Tier, ServerDownIsUnavailableInBoundedTime) {
    auto o = options();
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    ::close(fd);  // the port is now free and closed
    o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    o.retries = {3, 50ms, 10s};
    S3Tier tier(o);
    const auto start = std::chrono::steady_clock::now();
    const Error e = error_from([&] { (void)tier.fetch("k"); });
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_TRUE(e.transient());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s) << "must give up in bounded time";
    EXPECT_FALSE(tier.ping());
    EXPECT_EQ(error_from([&] { tier.store_many(std::vector<strata::Entry>{{"a", rec("v")}}); }).kind(),
              ErrorKind::unavailable);
}

// A server that accepts connections and never answers: the request timeout
// fires and the error says timeout.
TEST(S3Tier, HungServerTimesOut) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    auto o = options();
    o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    o.timeout = 300ms;
    o.retries = {1, 10ms, 5s};
    S3Tier tier(o);
    const auto start = std::chrono::steady_clock::now();
    const Error e = error_from([&] { (void)tier.fetch("k"); });
    ::close(fd);
    EXPECT_EQ(e.kind(), ErrorKind::timeout) << e.what();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

// A host whose clock is hours off the server's: the first request is refused
// as RequestTimeTooSkewed, the tier takes the server's time from the
// refusal's Date and re-signs, and the requests after it are accepted. When
// the clocks agree again, it learns that the same way.
TEST(S3Tier, ClockSkewIsLearntFromTheServersDate) {
    S3Tier tier(options());
    struct ClockReset {
        ~ClockReset() { strata_test::s3::front_set_clock(0s); }
    } reset;
    for (const auto offset : {std::chrono::seconds{2h}, std::chrono::seconds{-3h}, std::chrono::seconds{0}}) {
        strata_test::s3::front_set_clock(offset);
        const auto before = front_stats();
        const std::string value = "at " + std::to_string(offset.count());
        ASSERT_NO_THROW(tier.store("k", rec(value))) << offset.count();
        EXPECT_GE(front_stats().rejected, before.rejected + 1) << "the skew was never refused: " << offset.count();
        const auto settled = front_stats();
        ASSERT_EQ(tier.fetch("k")->value, value) << offset.count();
        EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"k"});
        EXPECT_EQ(front_stats().rejected, settled.rejected) << "refused after learning the clock";
    }
}

// An in-house S3 over https, its certificate signed by a private CA: the
// tier trusts it through ca_file, and without that file (or with one that
// is not there) refuses it with an error that says what to set.
TEST(S3Tier, HttpsEndpointIsTrustedThroughThePrivateCaGiven) {
    auto o = options();
    o.endpoint = strata_test::s3::read_line("tls_endpoint");
    o.ca_file = (strata_test::s3::state_dir() / "ca.pem").string();
    S3Tier tier(o);
    const auto before = front_stats();
    tier.store("k", rec("over tls"));
    EXPECT_EQ(tier.fetch("k")->value, "over tls");
    EXPECT_GE(front_stats().verified, before.verified + 2);

    for (const std::string ca : {"", "/nonexistent/ca.pem"}) {
        o.ca_file = ca;
        S3Tier untrusting(o);
        const Error e = error_from([&] { (void)untrusting.fetch("k"); });
        EXPECT_EQ(e.kind(), ErrorKind::rejected) << ca << ": " << e.what();
        EXPECT_NE(std::string(e.what()).find("S3Options::ca_file"), std::string::npos) << e.what();
        EXPECT_FALSE(untrusting.ping()) << ca;
    }
}

TEST(S3Tier, CredentialsAndRegionFromTheEnvironment) {
    auto o = options();
    o.access_key.clear();
    o.secret_key.clear();
    ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    ::setenv("AWS_REGION", "eu-west-3", 1);
    S3Tier tier(o);
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    ::unsetenv("AWS_REGION");
    EXPECT_EQ(tier.options().region, "eu-west-3");
    tier.store("k", rec("from env"));  // the front checks the signature with that scope
    EXPECT_EQ(tier.fetch("k")->value, "from env");
}

TEST(S3Tier, MovedTierKeepsWorking) {
    S3Tier a(options());
    a.store("k", rec("v"));
    S3Tier b(std::move(a));
    EXPECT_EQ(b.fetch("k")->value, "v");
}

TEST(S3Tier, ConcurrentCallersShareOneTier) {
    S3Tier tier(options());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
                tier.store(key, rec(key));
                const auto got = tier.fetch(key);
                if (!got || got->value != key) ADD_FAILURE() << key;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(tier.keys("t*").size(), 80u);
}

// A batch signs each request when a slot frees, not all of them up front:
// a long batch never sends a signature older than the request (S3 refuses
// those 15 minutes on), and the first requests go out before the rest are built.
TEST(S3Session, BuildsEachRequestWhenASlotFrees) {
    using namespace strata::detail::s3;
    const Client client(options(true));
    constexpr std::size_t width = 3, count = 12;
    std::vector<HttpResponse> out(count);
    std::vector<std::size_t> answered_before(count);
    Session session;
    session.run(
        [&](std::size_t i) {
            answered_before[i] = static_cast<std::size_t>(
                std::count_if(out.begin(), out.end(), [](const HttpResponse& r) { return r.status != 0; }));
            return client.prepare({"HEAD", "", {}, {}, {}});
        },
        out, {.max_parallel = width});
    for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(out[i].status, 200) << i;
        if (i < width) {
            EXPECT_EQ(answered_before[i], 0u) << i;  // the first ones go out at once
        } else {
            EXPECT_GE(answered_before[i], i - width + 1) << i;  // the rest wait for a slot
        }
    }
}

}  // namespace
