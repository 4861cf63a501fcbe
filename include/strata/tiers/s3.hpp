#pragma once

#include <algorithm>  // sort, min
#include <charconv>   // from_chars
#include <chrono>
#include <cstdint>  // uint64_t, int64_t
#include <memory>   // unique_ptr
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/tiers/s3/client.hpp"
#include "strata/tiers/s3/naming.hpp"
#include "strata/tiers/s3/options.hpp"

namespace strata {

// The cold, durable tier: one S3 object per key, holding the shared record
// envelope; version, checksum and expiry are also in x-amz-meta-* so HEAD
// can answer without a download. Batches run in parallel over curl's multi
// interface. Safe to share between threads; movable.
//
// Costs worth knowing: erase and erase_many HEAD each key first, so they can
// report what existed (S3's DELETE says 204 either way); keys() HEADs every
// match so expired records are never listed (a listing carries no metadata).
class S3Tier {
public:
    static constexpr Temperature temperature = Temperature::cold;
    static constexpr bool durable = true;
    static constexpr std::size_t delete_batch = 1000;  // S3's limit per DeleteObjects

    explicit S3Tier(S3Options options = {}) : client_(std::make_unique<detail::s3::Client>(options)) {
        if (this->options().prefix.size() + 66 > this->options().max_name_size)
            throw std::invalid_argument("strata: S3Options::prefix leaves no room for object names");
    }

    std::string_view name() const noexcept { return client_->tier_name(); }
    const S3Options& options() const noexcept { return client_->options(); }

    std::optional<Record> fetch(std::string_view key) {
        return read(client_->execute_one(request("GET", object_name(key)), "fetch"), key, "fetch");
    }

    void store(std::string_view key, const Record& record) {
        check(client_->execute_one(put_request(key, record), "store"), key, "store");
    }

    // HEAD then DELETE: true when a live (unexpired) object was there.
    bool erase(std::string_view key) {
        const std::string name = object_name(key);
        const std::optional<bool> live = liveness(client_->execute_one(request("HEAD", name), "erase"), name, "erase");
        if (!live) return false;
        const auto del = client_->execute_one(request("DELETE", name), "erase");
        if (del.status != 204 && del.status != 200 && del.status != 404) client_->fail("erase", del, name);
        return *live;
    }

    std::vector<std::string> keys(std::string_view pattern) {
        const Glob glob(pattern);
        if (glob.is_literal()) return exact_key(glob.literal_prefix());
        const std::string& prefix = options().prefix;
        const std::string start = detail::s3::listing_prefix(glob.literal_prefix());
        // Names to HEAD, with the key when the name told it (hashed: empty).
        std::vector<std::pair<std::string, std::string>> candidates;
        const auto collect = [&](std::string_view name, std::uint64_t) {
            if (detail::s3::is_hashed(name)) {
                candidates.emplace_back(prefix + std::string(name), std::string());
            } else if (auto key = detail::s3::decode_name(name); key && !key->empty() && glob.matches(*key)) {
                candidates.emplace_back(prefix + std::string(name), std::move(*key));
            }
        };
        list(prefix + start, "keys", collect);
        if (!start.empty()) list(prefix + std::string(detail::s3::hashed_marker), "keys", collect);
        if (candidates.empty()) return {};

        std::vector<detail::s3::S3Request> heads;
        heads.reserve(candidates.size());
        for (const auto& c : candidates) heads.push_back(request("HEAD", c.first));
        const auto responses = client_->execute(heads, "keys");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            if (!liveness(responses[i], candidates[i].first, "keys").value_or(false)) continue;
            std::string key = std::move(candidates[i].second);
            if (key.empty()) {  // hashed: the key travels in the metadata
                const auto meta = responses[i].header("x-amz-meta-strata-key");
                auto decoded = meta ? detail::s3::base64_decode(*meta) : std::nullopt;
                if (!decoded || decoded->empty() || !glob.matches(*decoded)) continue;
                key = std::move(*decoded);
            }
            out.push_back(std::move(key));
        }
        std::sort(out.begin(), out.end());  // S3 orders names, not keys
        return out;
    }

    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> keys) {
        return read_many(keys, "fetch_many");
    }

    // S3 keeps no access times, so a fetch already leaves nothing behind;
    // declared so tools know they may read freely (capabilities.hpp).
    std::vector<std::optional<Record>> peek_many(std::span<const std::string> keys) {
        return read_many(keys, "peek_many");
    }

    void store_many(std::span<const Entry> entries) {
        std::vector<detail::s3::S3Request> reqs;
        reqs.reserve(entries.size());
        for (const auto& e : entries) reqs.push_back(put_request(e.key, e.record));
        const auto responses = client_->execute(reqs, "store_many");
        for (std::size_t i = 0; i < entries.size(); ++i) check(responses[i], entries[i].key, "store_many");
    }

    // HEADs in parallel to count what existed, then DeleteObjects in batches
    // of 1,000 for the objects found.
    std::size_t erase_many(std::span<const std::string> keys) {
        std::set<std::string> names;
        for (const auto& k : keys) names.insert(object_name(k));  // every key checked before any delete
        std::vector<detail::s3::S3Request> heads;
        heads.reserve(names.size());
        for (const auto& n : names) heads.push_back(request("HEAD", n));
        const auto responses = client_->execute(heads, "erase_many");
        std::vector<std::string> present;
        std::size_t erased = 0, i = 0;
        for (const auto& n : names) {
            const auto live = liveness(responses[i++], n, "erase_many");
            if (!live) continue;
            present.push_back(n);
            if (*live) ++erased;
        }
        for (std::size_t at = 0; at < present.size(); at += delete_batch) {
            const std::size_t n = std::min(delete_batch, present.size() - at);
            client_->delete_objects(std::span<const std::string>(present).subspan(at, n), "erase_many");
        }
        return erased;
    }

    // Objects and bytes under the prefix, by listing (expired objects that
    // no sweep has removed yet are counted: S3 still keeps and bills them).
    TierStats stats() {
        TierStats s;
        list(options().prefix, "stats", [&](std::string_view, std::uint64_t size) {
            ++s.keys;
            s.bytes += size;
        });
        s.details = {{"bucket", options().bucket},
                     {"prefix", options().prefix},
                     {"endpoint", options().endpoint},
                     {"storage_class", options().storage_class}};
        return s;
    }

    // HEAD on the bucket: reachable, existing and accessible.
    bool ping() {
        try {
            return client_->execute_one(request("HEAD", ""), "ping").status == 200;
        } catch (const Error&) {
            return false;
        }
    }

private:
    // GETs in parallel, results in input order.
    std::vector<std::optional<Record>> read_many(std::span<const std::string> keys, std::string_view op) {
        std::vector<detail::s3::S3Request> reqs;
        reqs.reserve(keys.size());
        for (const auto& k : keys) reqs.push_back(request("GET", object_name(k)));
        auto responses = client_->execute(reqs, op);
        std::vector<std::optional<Record>> out;
        out.reserve(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i) out.push_back(read(std::move(responses[i]), keys[i], op));
        return out;
    }

    // A glob without wildcards names one key: a HEAD answers it.
    std::vector<std::string> exact_key(std::string key) {
        if (key.empty() || key.size() > max_key_size) return {};
        const std::string name = object_name(key);
        if (!liveness(client_->execute_one(request("HEAD", name), "keys"), name, "keys").value_or(false)) return {};
        return {std::move(key)};
    }

    std::string object_name(std::string_view key) const {
        validate_key(key);
        std::string name = options().prefix + detail::s3::encode_key(key);
        if (name.size() > options().max_name_size) return options().prefix + detail::s3::hashed_name(key);
        return name;
    }

    static detail::s3::S3Request request(std::string method, std::string name) {
        return {std::move(method), std::move(name), {}, {}, {}};
    }

    detail::s3::S3Request put_request(std::string_view key, const Record& r) const {
        detail::s3::S3Request req = request("PUT", object_name(key));
        req.body = envelope::encode(r, options().compression);
        req.headers = {{"content-type", "application/octet-stream"},
                       {"x-amz-storage-class", options().storage_class},
                       {"x-amz-meta-strata-version", std::to_string(r.version)},
                       {"x-amz-meta-strata-checksum", to_hex(r.checksum)}};
        if (r.expires_at) req.headers.emplace_back("x-amz-meta-strata-expires", std::to_string(to_ns(*r.expires_at)));
        if (detail::s3::is_hashed(std::string_view(req.key).substr(options().prefix.size())))
            req.headers.emplace_back("x-amz-meta-strata-key", detail::s3::base64(key));
        return req;
    }

    static std::int64_t to_ns(Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    }

    std::optional<Record> read(detail::s3::HttpResponse r, std::string_view key, std::string_view op) const {
        if (r.status == 404 && detail::s3::error_info(r).code != "NoSuchBucket") return std::nullopt;
        if (r.status != 200) client_->fail(op, r, key);
        Record rec = envelope::decode_or_unreadable(r.body);
        if (rec.expired()) return std::nullopt;
        return rec;
    }

    void check(const detail::s3::HttpResponse& r, std::string_view key, std::string_view op) const {
        if (r.status != 200) client_->fail(op, r, key);
    }

    // From a HEAD: nullopt when absent, else whether the object is unexpired.
    // A HEAD's 404 has no body, so a missing bucket reads as a missing key
    // here; the listing or DELETE that follows reports it.
    std::optional<bool> liveness(const detail::s3::HttpResponse& r, std::string_view name, std::string_view op) const {
        if (r.status == 404) return std::nullopt;
        if (r.status != 200) client_->fail(op, r, name);
        const auto expires = r.header("x-amz-meta-strata-expires");
        if (!expires) return true;
        std::int64_t ns = 0;
        const auto [end, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), ns);
        if (ec != std::errc{} || end != expires->data() + expires->size()) return true;  // fetch will judge it
        return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns))) >
               Clock::now();
    }

    // Calls f(name without the prefix, size) for every object under `from`.
    template <class F>
    void list(const std::string& from, std::string_view op, F&& f) const {
        std::optional<std::string> token;
        do {
            auto page = client_->list_page(from, token, op);
            for (const auto& o : page.objects) f(client_->strip_prefix(o.key), o.size);
            token = std::move(page.next_token);
        } while (token);
    }

    std::unique_ptr<detail::s3::Client> client_;
};

static_assert(check_tier<S3Tier>());
static_assert(check_capabilities<S3Tier>());

}  // namespace strata
