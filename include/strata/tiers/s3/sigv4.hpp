#pragma once

#include <openssl/hmac.h>

#include <algorithm>  // sort, stable_sort
#include <chrono>
#include <ctime>  // gmtime_r, strftime
#include <string>
#include <string_view>
#include <utility>  // pair
#include <vector>

#include "strata/core/digest.hpp"
#include "strata/core/record.hpp"  // Clock
#include "strata/tiers/s3/uri.hpp"

// AWS Signature Version 4 as S3 applies it: no path normalisation, S3's URI
// encoding, the payload hash always signed. Ours rather than curl's
// CURLOPT_AWS_SIGV4 because curl 7.88 neither adds x-amz-content-sha256 nor
// lets us check its canonical request against AWS's examples.
namespace strata::detail::s3 {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
    std::string access_key;
    std::string secret_key;
    std::string session_token;  // empty unless temporary credentials
};

struct SigningInput {
    std::string_view method;
    std::string_view canonical_uri;  // the encoded path exactly as sent
    Headers query;                   // decoded names and values
    Headers headers;                 // every header to sign, host included
    std::string_view payload_hash;   // hex SHA-256 of the body
};

struct Signature {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;
    std::string signature;
    std::string authorization;  // the Authorization header's value
};

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "20130524T000000Z", the x-amz-date format.
inline std::string amz_date(Clock::time_point t) {
    const std::time_t tt = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[17];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

inline Digest hmac_sha256(std::string_view key, std::string_view data) {
    Digest out{};
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) ||
        len != out.size())
        throw std::runtime_error("strata: HMAC-SHA256 failed");
    return out;
}

inline std::string_view as_bytes(const Digest& d) noexcept {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// kSigning = HMAC chain over date, region, service and "aws4_request".
inline Digest signing_key(std::string_view secret_key, std::string_view date, std::string_view region,
                          std::string_view service) {
    const Digest k_date = hmac_sha256("AWS4" + std::string(secret_key), date);
    const Digest k_region = hmac_sha256(as_bytes(k_date), region);
    const Digest k_service = hmac_sha256(as_bytes(k_region), service);
    return hmac_sha256(as_bytes(k_service), "aws4_request");
}

// Names and values encoded (including '/'), sorted by name then value.
inline std::string canonical_query(const Headers& query) {
    std::vector<std::pair<std::string, std::string>> enc;
    enc.reserve(query.size());
    for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [k, v] : enc) {
        if (!out.empty()) out += '&';
        out += k;
        out += '=';
        out += v;
    }
    return out;
}

// Trimall: leading and trailing whitespace dropped, inner runs become one space.
inline std::string trim_all(std::string_view v) {
    std::string out;
    bool pending_space = false;
    for (const char c : v) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pending_space = !out.empty();
        } else {
            if (pending_space) out += ' ';
            pending_space = false;
            out += c;
        }
    }
    return out;
}

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Returns {canonical headers block, signed header list}. Repeated headers are
// joined with ',' in the order given, as the SigV4 suites require.
inline std::pair<std::string, std::string> canonical_headers(const Headers& headers) {
    std::vector<std::pair<std::string, std::string>> lowered;
    lowered.reserve(headers.size());
    for (const auto& [k, v] : headers) lowered.emplace_back(lower(trim_all(k)), trim_all(v));
    std::stable_sort(lowered.begin(), lowered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string block, names;
    for (std::size_t i = 0; i < lowered.size(); ++i) {
        if (i > 0 && lowered[i].first == lowered[i - 1].first) {
            block.back() = ',';  // replace the previous line's '\n'
        } else {
            if (!names.empty()) names += ';';
            names += lowered[i].first;
            block += lowered[i].first;
            block += ':';
        }
        block += lowered[i].second;
        block += '\n';
    }
    return {block, names};
}

// Adds what SigV4 for S3 signs besides the request's own headers:
// x-amz-date, the payload hash and, with temporary credentials, the token.
inline void add_signing_headers(Headers& headers, const Credentials& creds, std::string_view date,
                                std::string_view payload_hash) {
    headers.emplace_back("x-amz-date", std::string(date));
    if (!payload_hash.empty()) headers.emplace_back("x-amz-content-sha256", std::string(payload_hash));
    if (!creds.session_token.empty()) headers.emplace_back("x-amz-security-token", creds.session_token);
}

// `date` is the request's x-amz-date; its first 8 characters form the scope.
// `key` is signing_key(secret, day, region, service): it changes once a day,
// so a client derives it once rather than per request.
inline Signature sign_v4(const SigningInput& in, const Credentials& creds, std::string_view region,
                         std::string_view service, std::string_view date, const Digest& key) {
    Signature s;
    auto [header_block, signed_names] = canonical_headers(in.headers);
    s.signed_headers = std::move(signed_names);

    s.canonical_request.reserve(256 + header_block.size());
    s.canonical_request += in.method;
    s.canonical_request += '\n';
    s.canonical_request += in.canonical_uri;
    s.canonical_request += '\n';
    s.canonical_request += canonical_query(in.query);
    s.canonical_request += '\n';
    s.canonical_request += header_block;
    s.canonical_request += '\n';
    s.canonical_request += s.signed_headers;
    s.canonical_request += '\n';
    s.canonical_request += in.payload_hash;

    const std::string_view day = date.substr(0, 8);
    std::string scope(day);
    scope += '/';
    scope += region;
    scope += '/';
    scope += service;
    scope += "/aws4_request";

    s.string_to_sign += algorithm;
    s.string_to_sign += '\n';
    s.string_to_sign += date;
    s.string_to_sign += '\n';
    s.string_to_sign += scope;
    s.string_to_sign += '\n';
    s.string_to_sign += to_hex(sha256(s.canonical_request));

    s.signature = to_hex(hmac_sha256(as_bytes(key), s.string_to_sign));

    s.authorization += algorithm;
    s.authorization += " Credential=";
    s.authorization += creds.access_key;
    s.authorization += '/';
    s.authorization += scope;
    s.authorization += ",SignedHeaders=";
    s.authorization += s.signed_headers;
    s.authorization += ",Signature=";
    s.authorization += s.signature;
    return s;
}

inline Signature sign_v4(const SigningInput& in, const Credentials& creds, std::string_view region,
                         std::string_view service, std::string_view date) {
    return sign_v4(in, creds, region, service, date, signing_key(creds.secret_key, date.substr(0, 8), region, service));
}

}  // namespace strata::detail::s3
