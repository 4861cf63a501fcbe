// The SigV4 signer, byte for byte against AWS's published S3 examples and
// the SigV4 test suites (the cases that apply to S3: no path normalisation).
// No server involved; these live in strata_s3_tests because they need the
// s3 component.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "strata/tiers/s3.hpp"

namespace {

namespace fs = std::filesystem;
using namespace strata::detail::s3;
using strata::to_hex;

const fs::path testdata = STRATA_SOURCE_DIR "/tests/testdata";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// --- AWS's S3 documentation examples (examplebucket, 20130524) -------------

TEST(SigV4, AwsS3DocumentationExamples) {
    const auto doc = nlohmann::json::parse(slurp(testdata / "s3_sigv4_aws_doc_examples.json"));
    const Credentials creds{doc["credentials"]["access_key_id"], doc["credentials"]["secret_access_key"], ""};
    const std::string date = doc["x_amz_date"];
    EXPECT_EQ(to_hex(signing_key(creds.secret_key, date.substr(0, 8), "us-east-1", "s3")),
              doc["signing_key_hex"].get<std::string>());
    int checked = 0;
    for (const auto& c : doc["cases"]) {
        if (c["payload_sha256"] == "UNSIGNED-PAYLOAD") continue;  // presigned URL: not what the tier sends
        SCOPED_TRACE(c["name"].get<std::string>());
        SigningInput in;
        in.method = c["method"].get_ref<const std::string&>();
        const std::string uri = c["canonical_uri"];
        in.canonical_uri = uri;
        for (const auto& q : c["query"]) in.query.emplace_back(q[0], q[1]);
        for (const auto& [k, v] : c["headers"].items()) in.headers.emplace_back(k, v);
        const std::string payload = c["payload_utf8"];
        const std::string hash = to_hex(strata::sha256(payload));
        EXPECT_EQ(hash, c["payload_sha256"].get<std::string>());
        in.payload_hash = hash;

        const Signature s = sign_v4(in, creds, "us-east-1", "s3", date);
        EXPECT_EQ(s.canonical_request, c["expected_canonical_request"].get<std::string>());
        EXPECT_EQ(s.string_to_sign, c["expected_string_to_sign"].get<std::string>());
        EXPECT_EQ(s.signed_headers, c["signed_headers"].get<std::string>());
        EXPECT_EQ(s.signature, c["expected_signature"].get<std::string>());
        EXPECT_EQ(s.signature, c["doc_published_signature"].get<std::string>());
        EXPECT_EQ(s.authorization, c["expected_authorization"].get<std::string>());
        ++checked;
    }
    EXPECT_EQ(checked, 4);  // GET Object, PUT Object, GET Bucket Lifecycle, List Objects
}

// The doc's PUT key "test$file.text" comes out of our URI encoder as the
// doc's canonical URI; the tier builds paths the same way.
TEST(SigV4, DocumentationKeyEncodesAsPublished) {
    EXPECT_EQ("/" + uri_encode("test$file.text", true), "/test%24file.text");
    EXPECT_EQ("/" + uri_encode("test.txt", true), "/test.txt");
}

// --- The SigV4 suites -------------------------------------------------------

struct SuiteRequest {
    std::string method, path;
    Headers query, headers;
    std::string body;
};

// Parses the suites' raw HTTP requests. The request line may hold spaces
// ("GET /example space/ HTTP/1.1"); indented lines continue a header.
SuiteRequest parse_request(const std::string& raw) {
    SuiteRequest r;
    std::istringstream in(raw);
    std::string line;
    std::getline(in, line);
    const auto sp = line.find(' ');
    const auto http = line.rfind(" HTTP/");
    r.method = line.substr(0, sp);
    std::string target = line.substr(sp + 1, http - sp - 1);
    if (const auto q = target.find('?'); q != std::string::npos) {
        std::istringstream qs(target.substr(q + 1));
        std::string pair;
        while (std::getline(qs, pair, '&')) {
            const auto eq = pair.find('=');
            const std::string k = pair.substr(0, eq), v = eq == std::string::npos ? "" : pair.substr(eq + 1);
            r.query.emplace_back(uri_decode(k).value(), uri_decode(v).value());
        }
        target.resize(q);
    }
    r.path = target;
    while (std::getline(in, line) && !line.empty()) {
        if ((line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
            r.headers.back().second += "\n" + line;
        } else {
            const auto colon = line.find(':');
            r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
        }
    }
    std::ostringstream rest;
    rest << in.rdbuf();
    r.body = rest.str();
    return r;
}

// S3 never normalises paths, so the suites' "-normalized" cases (and
// botocore's normalize-path set) describe other services.
bool applies_to_s3(const std::string& name) { return !name.ends_with("-normalized"); }

TEST(SigV4, AwsCAuthSuite) {
    int checked = 0;
    for (const auto& dir : fs::directory_iterator(testdata / "sigv4" / "aws-c-auth-v4")) {
        const std::string name = dir.path().filename().string();
        if (!dir.is_directory() || !applies_to_s3(name)) continue;
        SCOPED_TRACE(name);
        const auto ctx = nlohmann::json::parse(slurp(dir.path() / "context.json"));
        Credentials creds{ctx["credentials"]["access_key_id"], ctx["credentials"]["secret_access_key"],
                          ctx["credentials"].value("token", "")};
        // "omit_session_token": the token is sent but not signed (a non-S3
        // service's convention), so it takes no part in the signature.
        if (ctx.value("omit_session_token", false)) creds.session_token.clear();
        SuiteRequest req = parse_request(slurp(dir.path() / "request.txt"));
        const std::string date = "20150830T123600Z";
        const std::string hash = to_hex(strata::sha256(req.body));
        add_signing_headers(req.headers, creds, date, ctx["sign_body"].get<bool>() ? hash : "");
        const std::string uri = uri_encode(req.path, true);
        const Signature s =
            sign_v4({req.method, uri, req.query, req.headers, hash}, creds, ctx["region"].get<std::string>(), ctx["service"].get<std::string>(), date);
        EXPECT_EQ(s.canonical_request, slurp(dir.path() / "header-canonical-request.txt"));
        EXPECT_EQ(s.string_to_sign, slurp(dir.path() / "header-string-to-sign.txt"));
        EXPECT_EQ(s.signature, slurp(dir.path() / "header-signature.txt"));
        ++checked;
    }
    EXPECT_GE(checked, 30);
}

TEST(SigV4, BotocoreSuite) {
    const Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    int checked = 0;
    for (const auto& entry : fs::recursive_directory_iterator(testdata / "sigv4" / "botocore-aws4_testsuite")) {
        if (entry.path().extension() != ".req") continue;
        const fs::path base = entry.path().parent_path() / entry.path().stem();
        const std::string rel = fs::relative(entry.path(), testdata / "sigv4").string();
        if (rel.find("normalize-path") != std::string::npos) continue;  // not S3's rules
        SCOPED_TRACE(rel);
        SuiteRequest req = parse_request(slurp(entry.path()));
        // botocore's own test adds this case's token from its credentials.
        if (rel.find("with-session-token") != std::string::npos)
            req.headers.emplace_back("X-Amz-Security-Token",
                                     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
        const std::string hash = to_hex(strata::sha256(req.body));
        const std::string uri = uri_encode(req.path, true);
        const Signature s = sign_v4({req.method, uri, req.query, req.headers, hash}, creds, "us-east-1", "service",
                                    "20150830T123600Z");
        EXPECT_EQ(s.canonical_request, slurp(base.string() + ".creq"));
        EXPECT_EQ(s.string_to_sign, slurp(base.string() + ".sts"));
        std::string authz = slurp(base.string() + ".authz");
        EXPECT_NE(authz.find("Signature=" + s.signature), std::string::npos) << authz;
        ++checked;
    }
    EXPECT_GE(checked, 20);
}

// --- Hostile keys: the canonical URI and query of the requests we send ----

TEST(SigV4, S3UriEncodingOfHostileKeys) {
    EXPECT_EQ(uri_encode("a b", true), "a%20b");
    EXPECT_EQ(uri_encode("a+b=c", true), "a%2Bb%3Dc");
    EXPECT_EQ(uri_encode("~tilde-._", true), "~tilde-._");
    EXPECT_EQ(uri_encode("dir/sub/file", true), "dir/sub/file");
    EXPECT_EQ(uri_encode("dir/sub", false), "dir%2Fsub");
    EXPECT_EQ(uri_encode("100%", true), "100%25");
    EXPECT_EQ(uri_encode("\xc3\xbc\xe6\x97\xa5", true), "%C3%BC%E6%97%A5");  // ü日, upper-case hex
    EXPECT_EQ(uri_encode("a/../b//c", true), "a/../b//c");                 // never normalised
    EXPECT_EQ(uri_decode("a%20b+c", true).value(), "a b c");
    EXPECT_FALSE(uri_decode("bad%2").has_value());
    EXPECT_FALSE(uri_decode("bad%zz").has_value());
}

// A request for a hostile key, signed by us, against values computed
// independently with botocore 1.29 (S3SigV4Auth, fixed timestamp), so the
// whole path from key to Authorization is pinned, not just the encoder.
TEST(SigV4, HostileKeyRequestMatchesBotocore) {
    const Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
    const std::string key = "dir/a b+c=d~e%f/\xc3\xbc.txt";
    const std::string uri = "/examplebucket/" + uri_encode(key, true);
    EXPECT_EQ(uri, "/examplebucket/dir/a%20b%2Bc%3Dd~e%25f/%C3%BC.txt");
    Headers headers{{"host", "127.0.0.1:9000"}};
    add_signing_headers(headers, creds, "20130524T000000Z", empty_payload_sha256);
    const Signature s = sign_v4({"GET", uri, {{"prefix", "a b/+="}, {"list-type", "2"}}, headers, empty_payload_sha256},
                                creds, "us-east-1", "s3", "20130524T000000Z");
    EXPECT_EQ(s.canonical_request,
              "GET\n/examplebucket/dir/a%20b%2Bc%3Dd~e%25f/%C3%BC.txt\nlist-type=2&prefix=a%20b%2F%2B%3D\n"
              "host:127.0.0.1:9000\nx-amz-content-sha256:" +
                  std::string(empty_payload_sha256) +
                  "\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" +
                  std::string(empty_payload_sha256));
    EXPECT_EQ(s.signature, "43621ea14094f06d52839d430d7b2485d9fc66d4fbaa34e3e82140363fa509ca");
}

TEST(SigV4, SessionTokenIsSigned) {
    const Credentials creds{"AK", "SK", "token/with+chars="};
    Headers headers{{"host", "h"}};
    add_signing_headers(headers, creds, "20130524T000000Z", empty_payload_sha256);
    const Signature s = sign_v4({"GET", "/", {}, headers, empty_payload_sha256}, creds, "us-east-1", "s3",
                                "20130524T000000Z");
    EXPECT_EQ(s.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    EXPECT_NE(s.canonical_request.find("\nx-amz-security-token:token/with+chars=\n"), std::string::npos);
}

}  // namespace
