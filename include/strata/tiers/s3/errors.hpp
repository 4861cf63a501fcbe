#pragma once

#include <curl/curl.h>

#include <string>
#include <string_view>

#include "strata/core/error.hpp"
#include "strata/tiers/s3/http.hpp"
#include "strata/tiers/s3/xml.hpp"

// From an HTTP response to a strata::Error: S3's error code (from the XML
// body, or the status when a HEAD has none), whether it is worth retrying,
// and which kind it is once retries are spent.
namespace strata::s3_detail {

struct S3ErrorInfo {
    std::string code;     // "NoSuchKey", "SlowDown", ... or "HTTP 503"
    std::string message;  // the server's own words, if any
};

inline S3ErrorInfo error_info(const HttpResponse& r) {
    S3ErrorInfo info;
    if (!r.body.empty()) {
        try {
            const XmlNode root = parse_xml(r.body);
            if (root.name == "Error") {
                info.code = root.child_text("Code").value_or("");
                info.message = root.child_text("Message").value_or("");
            }
        } catch (const XmlError&) {
            // Not S3's XML (a proxy's HTML page, say): the status will do.
        }
    }
    if (info.code.empty()) {
        switch (r.status) {
            case 404: info.code = "NotFound"; break;
            case 403: info.code = "AccessDenied"; break;
            default: info.code = "HTTP " + std::to_string(r.status);
        }
    }
    return info;
}

inline bool transport_failed(const HttpResponse& r) noexcept { return r.curl != CURLE_OK; }

// Connection failures, 5xx, 429 and S3's throttling codes pass with time;
// anything else would fail the same way again.
inline bool retryable(const HttpResponse& r) {
    if (transport_failed(r)) {
        switch (r.curl) {
            case CURLE_COULDNT_CONNECT:
            case CURLE_COULDNT_RESOLVE_HOST:
            case CURLE_OPERATION_TIMEDOUT:
            case CURLE_SEND_ERROR:
            case CURLE_RECV_ERROR:
            case CURLE_GOT_NOTHING:
            case CURLE_PARTIAL_FILE:
            case CURLE_SSL_CONNECT_ERROR: return true;
            default: return false;
        }
    }
    if (r.status >= 500 || r.status == 429) return true;
    if (r.status == 400 || r.status == 403 || r.status == 503) {
        const std::string code = error_info(r).code;
        return code == "SlowDown" || code == "RequestTimeout" || code == "RequestTimeTooSkewed";
    }
    return false;
}

// S3 refused the request's x-amz-date as too far from its own clock.
inline bool clock_skewed(const HttpResponse& r) {
    return r.status == 403 && error_info(r).code == "RequestTimeTooSkewed";
}

// The endpoint's TLS certificate is not trusted, or the CA file is unusable:
// a setting to fix, not a failure that passes.
inline bool tls_untrusted(const HttpResponse& r) noexcept {
    return r.curl == CURLE_PEER_FAILED_VERIFICATION || r.curl == CURLE_SSL_CACERT_BADFILE;
}

inline ErrorKind kind_of(const HttpResponse& r) {
    if (tls_untrusted(r)) return ErrorKind::rejected;
    if (transport_failed(r)) return r.curl == CURLE_OPERATION_TIMEDOUT ? ErrorKind::timeout : ErrorKind::unavailable;
    if (r.status >= 500 || r.status == 429) return ErrorKind::unavailable;
    const std::string code = error_info(r).code;
    if (code == "RequestTimeout") return ErrorKind::timeout;
    if (code == "SlowDown") return ErrorKind::unavailable;
    return ErrorKind::rejected;
}

// A sentence for the Error: the server's code and message, plus what to do
// for the mistakes users make. Never credentials: only the bucket, the
// endpoint and the object's key.
inline std::string describe(const HttpResponse& r, std::string_view bucket, std::string_view endpoint,
                            std::string_view key, std::size_t attempts) {
    std::string s;
    if (r.curl == CURLE_SSL_CACERT_BADFILE) {
        s = "cannot use S3Options::ca_file: " + r.curl_error;
    } else if (tls_untrusted(r)) {
        s = "the TLS certificate of " + std::string(endpoint) +
            " is not trusted (a private CA's PEM file goes in S3Options::ca_file): " + r.curl_error;
    } else if (transport_failed(r)) {
        s = "cannot reach " + std::string(endpoint) + ": " + r.curl_error;
    } else {
        const S3ErrorInfo info = error_info(r);
        if (info.code == "NoSuchBucket")
            s = "bucket '" + std::string(bucket) + "' does not exist at " + std::string(endpoint);
        else if (info.code == "SignatureDoesNotMatch" || info.code == "InvalidAccessKeyId" ||
                 info.code == "AccessDenied" || info.code == "InvalidToken" || info.code == "ExpiredToken")
            s = "access denied to bucket '" + std::string(bucket) + "'; check the credentials and region";
        else if (info.code == "RequestTimeTooSkewed")
            s = "this host's clock is more than 15 minutes from the server's (is NTP running?)";
        else if (info.code == "InvalidObjectState")
            s = "the object is archived; restore it before reading";
        else if (info.code == "PermanentRedirect" || info.code == "AuthorizationHeaderMalformed")
            s = "bucket '" + std::string(bucket) + "' is in another region or needs another endpoint";
        else
            s = "S3 answered HTTP " + std::to_string(r.status);
        s += " (" + info.code;
        if (!info.message.empty()) s += ": " + info.message;
        s += ')';
    }
    if (!key.empty()) {
        constexpr std::size_t shown = 80;
        s += key.size() > shown ? ", key '" + std::string(key.substr(0, shown)) + "...'" : ", key '" + std::string(key) + "'";
    }
    if (attempts > 1) s += ", after " + std::to_string(attempts) + " attempts";
    return s;
}

}  // namespace strata::s3_detail
