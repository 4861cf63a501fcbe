#pragma once

#include <chrono>
#include <cstddef>  // size_t
#include <cstdlib>  // getenv
#include <string>

#include "strata/core/envelope.hpp"  // CompressionOptions

namespace strata {

// Retries of 5xx, 429, SlowDown and connection failures: at most `count`
// more attempts, waits growing from `base_backoff` with jitter, and never
// past `max_total` after the first attempt began.
struct S3RetryOptions {
    std::size_t count = 4;
    std::chrono::milliseconds base_backoff{100};
    std::chrono::milliseconds max_total{20'000};
};

// Defaults work against a local S3-compatible server (s3rver's port and
// account). Empty credentials and region are read from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_REGION (or
// AWS_DEFAULT_REGION) when the tier is built.
struct S3Options {
    std::string endpoint = "http://127.0.0.1:4568";  // scheme://host[:port]
    std::string region;                              // default us-east-1
    std::string bucket = "strata";
    std::string access_key;
    std::string secret_key;
    std::string session_token;
    std::string prefix;        // put before every key; "app/" keeps tiers apart
    bool path_style = true;    // endpoint/bucket/key rather than bucket.endpoint/key
    // STANDARD_IA suits state read rarely; GLACIER-class for archives, whose
    // objects must be restored before a fetch can read them.
    std::string storage_class = "STANDARD_IA";
    std::chrono::milliseconds timeout{30'000};          // per request
    std::chrono::milliseconds connect_timeout{5'000};
    // For an https endpoint whose certificate a private CA signed (MinIO,
    // Ceph and the like in-house): the PEM file of that CA. Empty: the
    // system's trusted CAs. Verification is never turned off.
    std::string ca_file;
    S3RetryOptions retries{};
    CompressionOptions compression{};
    std::size_t max_parallel = 32;  // requests in flight in one batch call
    // Longest object name (prefix included) before a key is stored under a
    // hashed name: S3 allows 1024 bytes; servers that keep each object in a
    // file (s3rver) need names under the file system's 255.
    std::size_t max_name_size = 1024;
    std::string name = "s3";  // the tier's name in errors and reports
};

namespace detail::s3 {

inline std::string env_or(const std::string& value, const char* name, std::string fallback = {}) {
    if (!value.empty()) return value;
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

// Fills what the caller left empty from the standard AWS variables. A token
// is only taken from the environment with the environment's key pair, so it
// never pairs with explicitly given long-term credentials.
inline S3Options resolve_options(S3Options o) {
    const bool keys_from_env = o.access_key.empty() && o.secret_key.empty();
    o.access_key = env_or(o.access_key, "AWS_ACCESS_KEY_ID");
    o.secret_key = env_or(o.secret_key, "AWS_SECRET_ACCESS_KEY");
    if (keys_from_env) o.session_token = env_or(o.session_token, "AWS_SESSION_TOKEN");
    o.region = env_or(o.region, "AWS_REGION", env_or({}, "AWS_DEFAULT_REGION", "us-east-1"));
    while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    if (o.max_parallel == 0) o.max_parallel = 1;
    return o;
}

}  // namespace detail::s3
}  // namespace strata
