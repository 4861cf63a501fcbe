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
namespace strata::detail::s3 {

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

// The kind of an S3 error once retries are spent, from its code, else its
// HTTP status:
//   timeout      RequestTimeout
//   unavailable  throttling and server trouble: SlowDown, InternalError,
//                OperationAborted (a concurrent request on the same object),
//                5xx, 429
//   rejected     credentials, signature (a skewed clock too), permission,
//                account state, quota: AccessDenied, SignatureDoesNotMatch, ...;
//                any other 403
//   not_found    NoSuchBucket, NoSuchKey, ...; any other 404
//   conflict     BucketAlreadyExists, PreconditionFailed, ...; any other 409, 412
//   invalid      anything else: InvalidArgument, MalformedXML, an archived
//                object (InvalidObjectState), another region, NotImplemented
inline ErrorKind kind_of_code(std::string_view code, long status) {
    const auto any = [&code](std::initializer_list<std::string_view> codes) {
        for (const auto c : codes)
            if (code == c) return true;
        return false;
    };
    if (code == "RequestTimeout") return ErrorKind::timeout;
    if (any({"SlowDown", "ServiceUnavailable", "InternalError", "OperationAborted"})) return ErrorKind::unavailable;
    if (any({"AccessDenied", "AccountProblem", "AllAccessDisabled", "InvalidAccessKeyId", "InvalidSecurity",
             "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "SignatureDoesNotMatch", "RequestTimeTooSkewed",
             "NotSignedUp", "InvalidPayer", "TooManyBuckets"}))
        return ErrorKind::rejected;
    if (any({"NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NoSuchVersion", "NotFound"})) return ErrorKind::not_found;
    if (any({"BucketAlreadyExists", "BucketAlreadyOwnedByYou", "BucketNotEmpty", "PreconditionFailed",
             "ConditionalRequestConflict"}))
        return ErrorKind::conflict;
    if (code == "NotImplemented") return ErrorKind::invalid;
    if (status >= 500 || status == 429) return ErrorKind::unavailable;
    if (status == 403) return ErrorKind::rejected;
    if (status == 404) return ErrorKind::not_found;
    if (status == 409 || status == 412) return ErrorKind::conflict;
    return ErrorKind::invalid;
}

inline ErrorKind kind_of(const HttpResponse& r) {
    if (tls_untrusted(r)) return ErrorKind::rejected;
    if (transport_failed(r)) return r.curl == CURLE_OPERATION_TIMEDOUT ? ErrorKind::timeout : ErrorKind::unavailable;
    return kind_of_code(error_info(r).code, r.status);
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

}  // namespace strata::detail::s3
