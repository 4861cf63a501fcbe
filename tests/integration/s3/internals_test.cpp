// The S3 tier's internals: key-to-name mapping, XML reading (entities,
// malformed and hostile documents), error kinds, backoff bounds, addressing,
// what a signed request carries, and the HTTP dates the signing clock learns
// the server's time from. All but one test need no server.

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>  // time, gmtime_r, strftime
#include <string>
#include <vector>

#include "common/failure.hpp"
#include "integration/s3/support.hpp"
#include "strata/tiers/s3.hpp"

namespace {

using namespace strata::detail::s3;

TEST(S3Naming, EncodingIsReversibleAndReadable) {
    const std::vector<std::string> keys = {"plain", "with space", "a/b", "100%", "ü日本", "\x01\x7f", "\xff\xfe",
                                           "\xc3\x28", "%25", "%~x", "\xef\xbf\xbf", "tab\t", "+=&?#"};
    for (const auto& k : keys) {
        const std::string name = encode_key(k);
        SCOPED_TRACE(name);
        EXPECT_EQ(decode_name(name), k);
        EXPECT_EQ(name.find('/'), std::string::npos);
        EXPECT_FALSE(is_hashed(name));
    }
    EXPECT_EQ(encode_key("user:1"), "user:1");
    EXPECT_EQ(encode_key("ü日本"), "ü日本");
    EXPECT_EQ(encode_key("a b/c%"), "a%20b%2Fc%25");
    EXPECT_EQ(encode_key("\xc3\x28"), "%C3(");  // invalid UTF-8 escaped byte by byte
    EXPECT_EQ(encode_key("\xef\xbf\xbf"), "%EF%BF%BF");  // U+FFFF cannot travel in XML
    EXPECT_FALSE(decode_name("bad%zz").has_value());
    EXPECT_FALSE(decode_name("bad%2").has_value());
}

TEST(S3Naming, AsciiLiteralPrefixesStayListingPrefixes) {
    for (const std::string lit : {"user:", "a b", "dir/", "100%", "x"}) {
        for (const std::string rest : {"", "tail", "ü", "\xff", " /%"}) {
            EXPECT_TRUE(encode_key(lit + rest).starts_with(listing_prefix(lit))) << lit << "|" << rest;
        }
    }
    // A non-ASCII byte ends the listing prefix: its escaping depends on what follows.
    EXPECT_EQ(listing_prefix("ab\xc3"), "ab");
    EXPECT_TRUE(encode_key("ab\xc3\xbc").starts_with(listing_prefix("ab\xc3")));
    EXPECT_TRUE(encode_key("ab\xc3(").starts_with(listing_prefix("ab\xc3")));
}

TEST(S3Naming, LongKeysGetHashedNamesWithTheKeyInMetadata) {
    const std::string key(1024, 'k');
    const std::string name = hashed_name(key);
    EXPECT_TRUE(is_hashed(name));
    EXPECT_EQ(name.size(), 66u);
    EXPECT_FALSE(decode_name(name).has_value());
    EXPECT_EQ(base64_decode(base64(key)), key);
    EXPECT_EQ(base64_decode(base64("ab")), "ab");
    EXPECT_EQ(base64_decode(base64("abc")), "abc");
    EXPECT_EQ(base64_decode(base64("\xff")), "\xff");
    EXPECT_FALSE(base64_decode("abc").has_value());
}

TEST(S3Xml, ReadsListingsWithEntitiesAndNamespaces) {
    const XmlNode root = parse_xml(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Contents><Key>a&amp;b &lt;c&gt; &quot;d&quot; &#x1F600;</Key><Size>12</Size></Contents>"
        "<IsTruncated>true</IsTruncated><NextContinuationToken>t+/=</NextContinuationToken>"
        "</ListBucketResult>");
    EXPECT_EQ(root.name, "ListBucketResult");
    ASSERT_NE(root.child("Contents"), nullptr);
    EXPECT_EQ(root.child("Contents")->child_text("Key"), "a&b <c> \"d\" \xF0\x9F\x98\x80");
    EXPECT_EQ(root.child_text("NextContinuationToken"), "t+/=");
    EXPECT_FALSE(root.child_text("Missing").has_value());
}

TEST(S3Xml, RejectsMalformedAndHostileDocuments) {
    EXPECT_THROW(parse_xml("<a><b></a>"), XmlError);
    EXPECT_THROW(parse_xml(""), XmlError);
    EXPECT_THROW(parse_xml("<a>&undefined;</a>"), XmlError);
    std::string deep;
    for (int i = 0; i < 200; ++i) deep += "<x>";
    for (int i = 0; i < 200; ++i) deep += "</x>";
    EXPECT_THROW(parse_xml(deep), XmlError);
    EXPECT_EQ(xml_escape("a&<>\"'\r"), "a&amp;&lt;&gt;&quot;&apos;&#13;");
    EXPECT_EQ(parse_xml("<K>" + xml_escape("x&y <z>\r") + "</K>").text, "x&y <z>\r");
}

TEST(S3Errors, MapsCodesToKindsAndRetries) {
    HttpResponse r;
    r.status = 503;
    r.body = "<Error><Code>SlowDown</Code><Message>slow</Message></Error>";
    EXPECT_TRUE(retryable(r));
    EXPECT_EQ(kind_of(r), strata::ErrorKind::unavailable);
    r.status = 404;
    r.body = "<Error><Code>NoSuchBucket</Code></Error>";
    EXPECT_FALSE(retryable(r));
    EXPECT_EQ(kind_of(r), strata::ErrorKind::not_found);
    EXPECT_NE(describe(r, "bkt", "http://h", "", 1).find("bucket 'bkt' does not exist"), std::string::npos);
    r.status = 400;
    r.body = "<Error><Code>RequestTimeout</Code></Error>";
    EXPECT_TRUE(retryable(r));
    EXPECT_EQ(kind_of(r), strata::ErrorKind::timeout);
    r.status = 403;
    r.body = "<html>proxy says no</html>";
    EXPECT_FALSE(retryable(r));
    EXPECT_EQ(error_info(r).code, "AccessDenied");
    EXPECT_EQ(kind_of(r), strata::ErrorKind::rejected);
    HttpResponse down;
    down.curl = CURLE_COULDNT_CONNECT;
    EXPECT_TRUE(retryable(down));
    EXPECT_EQ(kind_of(down), strata::ErrorKind::unavailable);
    down.curl = CURLE_OPERATION_TIMEDOUT;
    EXPECT_EQ(kind_of(down), strata::ErrorKind::timeout);
}

// Only refusals by the store are rejected; a missing object, a condition
// that failed and a bad request each have their own kind.
TEST(S3Errors, CodesMapToWhatAProgramCanActOn) {
    using strata::ErrorKind;
    for (const char* code : {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                             "AccountProblem", "TooManyBuckets"})
        EXPECT_EQ(kind_of_code(code, 403), ErrorKind::rejected) << code;
    for (const char* code : {"NoSuchBucket", "NoSuchKey", "NoSuchUpload"})
        EXPECT_EQ(kind_of_code(code, 404), ErrorKind::not_found) << code;
    for (const char* code : {"BucketAlreadyExists", "BucketAlreadyOwnedByYou", "PreconditionFailed"})
        EXPECT_EQ(kind_of_code(code, 409), ErrorKind::conflict) << code;
    for (const char* code : {"InvalidArgument", "MalformedXML", "InvalidRequest", "KeyTooLongError", "EntityTooLarge",
                             "InvalidObjectState", "PermanentRedirect", "AuthorizationHeaderMalformed"})
        EXPECT_EQ(kind_of_code(code, 400), ErrorKind::invalid) << code;
    EXPECT_EQ(kind_of_code("SlowDown", 503), ErrorKind::unavailable);
    EXPECT_EQ(kind_of_code("OperationAborted", 409), ErrorKind::unavailable);  // a concurrent request; it passes
    EXPECT_EQ(kind_of_code("InternalError", 500), ErrorKind::unavailable);
    EXPECT_EQ(kind_of_code("RequestTimeout", 400), ErrorKind::timeout);
    EXPECT_EQ(kind_of_code("NotImplemented", 501), ErrorKind::invalid);  // a 5xx that never passes
    // Codes this mapping does not know fall back on the status.
    EXPECT_EQ(kind_of_code("HTTP 502", 502), ErrorKind::unavailable);
    EXPECT_EQ(kind_of_code("Unknown", 429), ErrorKind::unavailable);
    EXPECT_EQ(kind_of_code("Unknown", 403), ErrorKind::rejected);
    EXPECT_EQ(kind_of_code("Unknown", 404), ErrorKind::not_found);
    EXPECT_EQ(kind_of_code("Unknown", 412), ErrorKind::conflict);
    EXPECT_EQ(kind_of_code("Unknown", 400), ErrorKind::invalid);
    // Transience follows the kind: only what passes with time is worth retrying.
    EXPECT_TRUE(strata::Error(kind_of_code("SlowDown", 503), "s3", "op", "").transient());
    EXPECT_FALSE(strata::Error(kind_of_code("NoSuchBucket", 404), "s3", "op", "").transient());
    EXPECT_FALSE(strata::Error(kind_of_code("AccessDenied", 403), "s3", "op", "").transient());
}

// The same mapping on a real server's answers: a bucket that does not exist
// is not_found for every call.
TEST(S3Errors, ServerAnswersCarryTheirKinds) {
    using strata::ErrorKind;
    using strata::testing::failure_of;
    auto o = strata_test::s3::options();
    o.bucket = "strata-no-such-bucket";
    strata::S3Tier missing(o);
    EXPECT_EQ(failure_of([&] { (void)missing.fetch("k"); }).first, ErrorKind::not_found);
    EXPECT_EQ(failure_of([&] { missing.store("k", strata::make_record("v", 1)); }).first, ErrorKind::not_found);
    EXPECT_EQ(failure_of([&] { (void)missing.keys("*"); }).first, ErrorKind::not_found);
}

// A refusal of the request's date is retried (the client re-signs by the
// server's clock); if it persists, the error names the clock.
TEST(S3Errors, SkewedClockIsRetriedThenNamed) {
    HttpResponse r;
    r.status = 403;
    r.body = "<Error><Code>RequestTimeTooSkewed</Code><Message>too far</Message></Error>";
    EXPECT_TRUE(clock_skewed(r));
    EXPECT_TRUE(retryable(r));
    EXPECT_EQ(kind_of(r), strata::ErrorKind::rejected);
    EXPECT_NE(describe(r, "b", "http://e", "k", 5).find("clock"), std::string::npos);
    r.body = "<Error><Code>AccessDenied</Code></Error>";
    EXPECT_FALSE(clock_skewed(r));
}

TEST(S3Clock, ReadsImfFixdatesOnly) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);  // RFC 9110's example
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"), 1709251199);
    for (const char* bad : {"", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                            "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun, 6 Nov 1994 08:49:37 GMT",
                            "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Fob 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                            "Wed, 29 Feb 2023 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                            "Sun, 06 Nov 19x4 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT"})
        EXPECT_FALSE(parse_http_date(bad).has_value()) << bad;
}

TEST(S3Clock, AdoptsTheServersTime) {
    SigningClock clock;
    EXPECT_EQ(clock.offset().count(), 0);
    EXPECT_FALSE(clock.adopt("not a date"));
    EXPECT_EQ(clock.offset().count(), 0);
    // A server two hours ahead, in the Date format it would send.
    const std::time_t ahead = std::time(nullptr) + 2 * 3600;
    std::tm tm{};
    gmtime_r(&ahead, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);  // the C locale: tests never set one
    ASSERT_TRUE(clock.adopt(date)) << date;
    EXPECT_NEAR(static_cast<double>(clock.offset().count()), 7200.0, 2.0);
    const auto skew = std::chrono::duration_cast<std::chrono::seconds>(clock.now() - strata::Clock::now());
    EXPECT_NEAR(static_cast<double>(skew.count()), 7200.0, 2.0);
}

TEST(S3Retry, BackoffGrowsWithJitterWithinBounds) {
    const strata::S3RetryOptions r{5, std::chrono::milliseconds{100}, std::chrono::seconds{10}};
    for (int round = 0; round < 50; ++round) {
        for (std::size_t a = 0; a < 4; ++a) {
            const auto full = std::chrono::milliseconds{100} * (1 << a);
            const auto d = backoff(r, a);
            EXPECT_GE(d, full / 2);
            EXPECT_LE(d, full);
        }
    }
    EXPECT_LE(backoff(r, 40), std::chrono::milliseconds{10'000});  // capped, no overflow
}

TEST(S3Client, PathAndVirtualHostAddressing) {
    strata::S3Options o;
    o.endpoint = "http://127.0.0.1:80/";
    o.bucket = "bkt";
    o.access_key = "AK";
    o.secret_key = "secret-never-shown";
    o.session_token = "token-value";
    o.region = "eu-west-1";
    const Client path(o);
    const HttpRequest a = path.prepare({"GET", "dir/a b", {{"x", "1 2"}}, {}, {}});
    EXPECT_EQ(a.url, "http://127.0.0.1/bkt/dir/a%20b?x=1%202");  // default port dropped: Host is signed
    o.path_style = false;
    o.endpoint = "https://s3.example.test";
    const Client vhost(o);
    const HttpRequest b = vhost.prepare({"PUT", "k", {}, {{"x-amz-meta-a", "1"}}, "body"});
    EXPECT_EQ(b.url, "https://bkt.s3.example.test/k");
    std::string all;
    for (const auto& h : b.headers) all += h + "\n";
    EXPECT_NE(all.find("host: bkt.s3.example.test\n"), std::string::npos);
    EXPECT_NE(all.find("x-amz-security-token: token-value\n"), std::string::npos);
    EXPECT_NE(all.find("x-amz-content-sha256: " + strata::to_hex(strata::sha256("body"))), std::string::npos);
    EXPECT_NE(all.find("/eu-west-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                       "x-amz-meta-a;x-amz-security-token,"),
              std::string::npos)
        << all;
    EXPECT_EQ(all.find("secret-never-shown"), std::string::npos);
}

TEST(S3Client, RejectsUnusableOptions) {
    strata::S3Options o;
    o.bucket.clear();
    EXPECT_THROW(strata::S3Tier{o}, std::invalid_argument);
    strata::S3Options p;
    p.prefix = std::string(1000, 'p');
    EXPECT_THROW(strata::S3Tier{p}, std::invalid_argument);
}

}  // namespace
