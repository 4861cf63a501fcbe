#pragma once

#include <charconv>  // from_chars
#include <chrono>
#include <cstdint>  // uint64_t, int64_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/detail/format.hpp"
#include "strata/core/detail/hex.hpp"
#include "strata/core/detail/percent.hpp"
#include "strata/core/digest.hpp"

// The summary a store keeps beside each checkpoint's stream, so list() and
// get() need not read the stream. Plain text, one field a line, names and
// keys percent-encoded, and a last line with the SHA-256 of all before it:
// readable with `tail`, and a flipped byte anywhere in it is caught.
namespace strata::detail::checkpoint {

inline constexpr std::string_view summary_magic = "strata-checkpoint-summary 1\n";

// What summary lines keep as they are: ids and tier names stay readable.
inline constexpr detail::ByteSet summary_plain = detail::alphanumeric.with("._-:/");

inline std::optional<Digest> parse_digest(std::string_view s) {
    Digest d{};
    if (!detail::from_hex_into(s, d.data(), d.size())) return std::nullopt;
    return d;
}

inline std::string encode_summary(const CheckpointInfo& info) {
    std::string s(summary_magic);
    const auto line = [&s](std::string_view name, const std::string& value) {
        s += name;
        s += ' ';
        s += value;
        s += '\n';
    };
    const auto pct = [](std::string_view v) { return detail::percent_encode(v, summary_plain); };
    line("id", pct(info.id));
    line("type", std::string(to_string(info.type)));
    line("created_at_ns", std::to_string(to_ns(info.created_at)));
    line("format", std::to_string(info.format_version));
    line("key_count", std::to_string(info.key_count));
    line("bytes", std::to_string(info.bytes));
    line("stored_bytes", std::to_string(info.stored_bytes));
    line("consistency", to_hex(info.consistency_hash));
    line("stream", to_hex(info.stream_hash));
    line("writes_held", info.writes_held ? "1" : "0");
    line("version_cut", std::to_string(info.version_cut));
    line("capture_ns", std::to_string(info.capture_time.count()));
    for (const auto& t : info.tiers)
        line("tier", std::to_string(t.index) + ' ' + std::string(to_string(t.temperature)) + ' ' +
                         std::to_string(t.keys) + ' ' + std::to_string(t.bytes) + ' ' + pct(t.name));
    for (const auto& k : info.skipped) line("skipped", std::to_string(k.tier) + ' ' + pct(k.key));
    line("sha256", to_hex(sha256(s)));
    return s;
}

// nullopt for anything that is not a whole, intact summary.
inline std::optional<CheckpointInfo> decode_summary(std::string_view s) {
    if (!s.starts_with(summary_magic) || !s.ends_with('\n')) return std::nullopt;
    const auto last = s.rfind('\n', s.size() - 2);
    if (last == std::string_view::npos) return std::nullopt;
    const std::string_view body = s.substr(0, last + 1), seal = s.substr(last + 1);
    if (!seal.starts_with("sha256 ") || seal.substr(7, seal.size() - 8) != to_hex(sha256(body))) return std::nullopt;

    CheckpointInfo info;
    bool ok = true;
    const auto number = [&ok](std::string_view v, auto& out) {
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
        ok &= ec == std::errc{} && end == v.data() + v.size();
    };
    // Splits off the next space-separated word of `v`.
    const auto word = [](std::string_view& v) {
        const auto sp = v.find(' ');
        const std::string_view w = v.substr(0, sp);
        v.remove_prefix(sp == std::string_view::npos ? v.size() : sp + 1);
        return w;
    };
    for (std::string_view rest = body.substr(summary_magic.size()); ok && !rest.empty();) {
        const auto nl = rest.find('\n');
        std::string_view value = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        const std::string_view name = word(value);
        if (name == "id") {
            auto id = detail::percent_decode(value);
            ok &= id.has_value();
            if (id) info.id = std::move(*id);
        } else if (name == "type") {
            const auto t = parse_checkpoint_type(value);
            ok &= t.has_value();
            if (t) info.type = *t;
        } else if (name == "created_at_ns") {
            std::int64_t ns = 0;
            number(value, ns);
            info.created_at = from_ns(ns);
        } else if (name == "format") {
            number(value, info.format_version);
        } else if (name == "key_count") {
            number(value, info.key_count);
        } else if (name == "bytes") {
            number(value, info.bytes);
        } else if (name == "stored_bytes") {
            number(value, info.stored_bytes);
        } else if (name == "consistency" || name == "stream") {
            const auto d = parse_digest(value);
            ok &= d.has_value();
            if (d) (name == "stream" ? info.stream_hash : info.consistency_hash) = *d;
        } else if (name == "writes_held") {
            ok &= value == "0" || value == "1";
            info.writes_held = value == "1";
        } else if (name == "version_cut") {
            number(value, info.version_cut);
        } else if (name == "capture_ns") {
            std::int64_t ns = 0;
            number(value, ns);
            info.capture_time = std::chrono::nanoseconds(ns);
        } else if (name == "tier") {
            CapturedTier t;
            number(word(value), t.index);
            const std::string_view temp = word(value);
            ok &= temp == "hot" || temp == "warm" || temp == "cold";
            t.temperature = temp == "hot" ? Temperature::hot : temp == "warm" ? Temperature::warm : Temperature::cold;
            number(word(value), t.keys);
            number(word(value), t.bytes);
            auto n = detail::percent_decode(value);
            ok &= n.has_value();
            if (n) t.name = std::move(*n);
            info.tiers.push_back(std::move(t));
        } else if (name == "skipped") {
            SkippedRecord k;
            number(word(value), k.tier);
            auto key = detail::percent_decode(value);
            ok &= key.has_value();
            if (key) k.key = std::move(*key);
            info.skipped.push_back(std::move(k));
        }
        // Other names come from newer writers: the seal vouches for them.
    }
    if (!ok || info.id.empty() || info.format_version == 0) return std::nullopt;
    return info;
}

}  // namespace strata::detail::checkpoint
