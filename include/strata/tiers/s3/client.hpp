#pragma once

#include <openssl/evp.h>  // EVP_md5 for Content-MD5

#include <charconv>  // from_chars
#include <chrono>
#include <cstdint>  // uint64_t
#include <memory>   // unique_ptr
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>  // sleep_for
#include <vector>

#include "strata/core/error.hpp"
#include "strata/tiers/s3/errors.hpp"
#include "strata/tiers/s3/http.hpp"
#include "strata/tiers/s3/options.hpp"
#include "strata/tiers/s3/retry.hpp"
#include "strata/tiers/s3/signing_clock.hpp"
#include "strata/tiers/s3/sigv4.hpp"
#include "strata/tiers/s3/uri.hpp"
#include "strata/tiers/s3/xml.hpp"

// The S3 protocol under the tier: addressing (path style or bucket-in-host style),
// signing every attempt afresh, batches with retries, and the two XML
// exchanges (ListObjectsV2, DeleteObjects).
namespace strata::detail::s3 {

struct S3Request {
    std::string method;
    std::string key;  // full object key; empty for a bucket-level request
    Headers query;    // decoded names and values
    Headers headers;  // besides host, date, payload hash and token
    std::string body;
};

struct ListPage {
    struct Object {
        std::string key;  // full object key
        std::uint64_t size = 0;
    };
    std::vector<Object> objects;
    std::optional<std::string> next_token;
};

// One ListObjectsV2 answer; throws XmlError for anything that is not one.
inline ListPage parse_list(std::string_view xml) {
    const XmlNode root = parse_xml(xml);
    if (root.name != "ListBucketResult") throw XmlError("expected ListBucketResult, got " + root.name);
    const bool url_encoded = root.child_text("EncodingType").value_or("") == "url";
    ListPage page;
    for (const auto& c : root.children) {
        if (c.name != "Contents") continue;
        ListPage::Object o;
        const auto key = c.child_text("Key");
        if (!key) throw XmlError("a listed object has no Key");
        if (url_encoded) {
            auto decoded = uri_decode(*key, true);
            if (!decoded) throw XmlError("a listed key has a malformed URL encoding");
            o.key = std::move(*decoded);
        } else {
            o.key = *key;
        }
        const std::string size = c.child_text("Size").value_or("0");
        const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
        if (ec != std::errc{} || end != size.data() + size.size()) throw XmlError("a listed object has a bad Size");
        page.objects.push_back(std::move(o));
    }
    if (root.child_text("IsTruncated").value_or("false") == "true") {
        page.next_token = root.child_text("NextContinuationToken");
        if (!page.next_token || page.next_token->empty())
            throw XmlError("a truncated listing has no continuation token");
    }
    return page;
}

inline std::string content_md5(std::string_view body) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr) != 1)
        throw std::runtime_error("strata: MD5 failed");
    return base64(std::string_view(reinterpret_cast<const char*>(md), len));
}

class Client {
public:
    explicit Client(const S3Options& options)
        : options_(resolve_options(options)), pool_(std::make_unique<SessionPool>()) {
        curl_global_init_once();
        const auto scheme_end = options_.endpoint.find("://");
        if (scheme_end == std::string::npos) options_.endpoint = "https://" + options_.endpoint;
        const auto sep = options_.endpoint.find("://");
        scheme_ = options_.endpoint.substr(0, sep);
        authority_ = options_.endpoint.substr(sep + 3);
        if (const auto slash = authority_.find('/'); slash != std::string::npos) authority_.resize(slash);
        // curl sends no port for the scheme's default one, and Host is signed.
        if ((scheme_ == "http" && authority_.ends_with(":80")) || (scheme_ == "https" && authority_.ends_with(":443")))
            authority_.resize(authority_.rfind(':'));
        if (options_.bucket.empty())
            throw std::invalid_argument("strata: S3Options::bucket is empty");
        creds_ = {options_.access_key, options_.secret_key, options_.session_token};
    }

    const S3Options& options() const noexcept { return options_; }

    // Runs every request (in parallel, bounded), retrying the retryable
    // failures with backoff until the retry count or time budget is spent.
    // The final responses come back in input order; transport failures that
    // survive every retry throw, HTTP errors are left to the caller.
    std::vector<HttpResponse> execute(std::span<const S3Request> reqs, std::string_view op) const {
        std::vector<HttpResponse> out(reqs.size());
        std::vector<std::size_t> pending(reqs.size());
        for (std::size_t i = 0; i < reqs.size(); ++i) pending[i] = i;
        const auto deadline = std::chrono::steady_clock::now() + options_.retries.max_total;
        std::size_t attempt = 0;
        while (!pending.empty()) {
            std::vector<HttpResponse> got(pending.size());
            pool_->run([&](std::size_t j) { return prepare(reqs[pending[j]]); }, got, settings());
            std::vector<std::size_t> again;
            for (std::size_t j = 0; j < pending.size(); ++j) {
                if (clock_skewed(got[j]))
                    if (const auto date = got[j].header("date")) clock_.adopt(*date);
                if (retryable(got[j])) again.push_back(pending[j]);
                out[pending[j]] = std::move(got[j]);
            }
            ++attempt;
            if (again.empty() || attempt > options_.retries.count) break;
            const auto wait = backoff(options_.retries, attempt - 1);
            if (std::chrono::steady_clock::now() + wait > deadline) break;
            std::this_thread::sleep_for(wait);
            pending = std::move(again);
        }
        for (std::size_t i = 0; i < reqs.size(); ++i)
            if (transport_failed(out[i]) || retryable(out[i])) fail(op, out[i], reqs[i].key, attempt);
        return out;
    }

    HttpResponse execute_one(S3Request req, std::string_view op) const {
        return std::move(execute(std::span<const S3Request>(&req, 1), op).front());
    }

    std::string_view tier_name() const noexcept { return options_.name; }

    [[noreturn]] void fail(std::string_view op, const HttpResponse& r, std::string_view key,
                           std::size_t attempts = 1) const {
        throw Error(kind_of(r), options_.name, std::string(op),
                    describe(r, options_.bucket, options_.endpoint, strip_prefix(key), attempts));
    }

    [[noreturn]] void corrupt(std::string_view op, const std::string& why) const {
        throw Error(ErrorKind::corrupt, options_.name, std::string(op), why);
    }

    std::string_view strip_prefix(std::string_view full_key) const noexcept {
        return full_key.starts_with(options_.prefix) ? full_key.substr(options_.prefix.size()) : full_key;
    }

    // One page of ListObjectsV2 under `prefix` (a full key prefix).
    ListPage list_page(std::string_view prefix, const std::optional<std::string>& token, std::string_view op) const {
        S3Request req{"GET", "", {{"list-type", "2"}, {"max-keys", "1000"}, {"encoding-type", "url"}}, {}, {}};
        if (!prefix.empty()) req.query.emplace_back("prefix", std::string(prefix));
        if (token) req.query.emplace_back("continuation-token", *token);
        const HttpResponse r = execute_one(std::move(req), op);
        if (r.status != 200) fail(op, r, "");
        try {
            return parse_list(r.body);
        } catch (const XmlError& e) {
            corrupt(op, std::string("unreadable listing: ") + e.what());
        }
    }

    // DeleteObjects for up to 1,000 full keys; throws on per-key errors.
    void delete_objects(std::span<const std::string> full_keys, std::string_view op) const {
        std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
        for (const auto& k : full_keys) body += "<Object><Key>" + xml_escape(k) + "</Key></Object>";
        body += "</Delete>";
        S3Request req{"POST", "", {{"delete", ""}}, {{"content-md5", content_md5(body)}, {"content-type", "application/xml"}},
                      std::move(body)};
        const HttpResponse r = execute_one(std::move(req), op);
        if (r.status != 200) fail(op, r, "");
        XmlNode root;
        try {
            root = parse_xml(r.body);
        } catch (const XmlError& e) {
            corrupt(op, std::string("unreadable DeleteObjects result: ") + e.what());
        }
        for (const auto& c : root.children)
            if (c.name == "Error")
                throw Error(kind_of_code(c.child_text("Code").value_or(""), 0), options_.name, std::string(op),
                            "cannot delete key '" + std::string(strip_prefix(c.child_text("Key").value_or(""))) +
                                "' (" + c.child_text("Code").value_or("?") + ": " + c.child_text("Message").value_or("") +
                                ")");
    }

    // The signed HTTP request, exactly as it goes on the wire.
    HttpRequest prepare(const S3Request& req) const {
        std::string host = options_.path_style ? authority_ : options_.bucket + "." + authority_;
        std::string path = "/";
        if (options_.path_style) {
            path += uri_encode(options_.bucket, false);
            if (!req.key.empty()) path += '/';
        }
        path += uri_encode(req.key, true);
        const std::string payload_hash = to_hex(sha256(req.body));
        const std::string date = amz_date(clock_.now());

        Headers headers = req.headers;
        headers.emplace_back("host", host);
        add_signing_headers(headers, creds_, date, payload_hash);
        const std::string query = canonical_query(req.query);
        const Signature sig = sign_v4({req.method, path, req.query, headers, payload_hash}, creds_, options_.region,
                                      "s3", date, signing_key_for(std::string_view(date).substr(0, 8)));

        HttpRequest out;
        out.method = req.method;
        out.url = scheme_ + "://" + host + path + (query.empty() ? "" : "?" + query);
        out.headers.reserve(headers.size() + 1);
        for (const auto& [k, v] : headers) out.headers.push_back(k + ": " + v);
        out.headers.push_back("authorization: " + sig.authorization);
        out.body = req.body;
        return out;
    }

private:
    // kSigning changes once a day; deriving it costs four HMACs per request.
    Digest signing_key_for(std::string_view day) const {
        std::lock_guard lock(signing_key_mutex_);
        if (day != signing_key_day_) {
            signing_key_ = signing_key(creds_.secret_key, day, options_.region, "s3");
            signing_key_day_ = day;
        }
        return signing_key_;
    }

    HttpSettings settings() const {
        return {options_.timeout, options_.connect_timeout, options_.max_parallel,
                options_.ca_file.empty() ? nullptr : options_.ca_file.c_str()};
    }

    S3Options options_;
    Credentials creds_;
    std::string scheme_, authority_;
    std::unique_ptr<SessionPool> pool_;
    mutable SigningClock clock_;  // the server's time, once a refusal has told it
    mutable std::mutex signing_key_mutex_;
    mutable std::string signing_key_day_;
    mutable Digest signing_key_{};
};

}  // namespace strata::detail::s3
