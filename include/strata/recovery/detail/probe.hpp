#pragma once

#include <unistd.h>  // getpid

#include <atomic>
#include <chrono>
#include <cstdint>  // uint64_t
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/key.hpp"  // reserved_key_prefix
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"

namespace strata::detail::recovery {

// Probe records live under this reserved prefix, one key per probe:
// "__strata_probe__/<pid>-<orchestrator>/<round>", so orchestrators in
// several processes (or one process) over the same tiers never share a key.
inline constexpr std::string_view probe_prefix = "__strata_probe__/";
static_assert(probe_prefix.starts_with(reserved_key_prefix),
              "probe records must be reserved keys, which keys(), checkpoints and backups leave out");

// A probe record that could not be erased (the tier failed half-way)
// expires by itself after this long.
inline constexpr std::chrono::minutes probe_ttl{5};

inline std::string probe_owner() {
    static std::atomic<std::uint64_t> orchestrators{0};
    return std::to_string(::getpid()) + '-' + std::to_string(orchestrators.fetch_add(1) + 1);
}

inline std::string probe_key(std::string_view owner, std::uint64_t round) {
    std::string key(probe_prefix);
    key += owner;
    key += '/';
    key += std::to_string(round);
    return key;
}

struct ProbeOutcome {
    bool ok = false;
    std::string error{};
    std::chrono::microseconds latency{0};
    // The tier answered without the marker the last good probe left in it:
    // it restarted from older data, or was replaced, since.
    bool reset = false;
};

// A marker each good probe leaves in its tier, "<owner>/marker", holding the
// round that wrote it. A tier that answers without the marker it was last
// left (or with an older one) lost what it held since: a Redis restarted
// from an old snapshot, a PostgreSQL cluster replaced. Writes it missed
// carry no stale mark, so only this tells that its copies need reconciling.
struct Marker {
    std::string key;
    std::optional<std::string> left;     // the value the last good probe wrote
    std::optional<std::string> pending;  // written by a store that threw: it may be there instead
};

// Long enough to outlast an outage; a tier away for longer reads as reset
// (it is reconciled, which is safe), and a marker left by a process killed
// for good goes by itself.
inline constexpr std::chrono::hours marker_ttl{24 * 7};

inline std::string marker_key(std::string_view owner) {
    std::string key(probe_prefix);
    key += owner;
    key += "/marker";
    return key;
}

inline std::string what(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

// Does not trust a connect: writes a record, reads it back (checksum and
// value), erases it and pings. The record holds only the key and its
// version. Whatever fails after the write, the record is erased if the tier
// lets us, so a healthy tier is never left holding one.
// Checks the marker the last good probe left and leaves this round's.
template <Tier T>
void check_marker(T& tier, Marker& m, std::uint64_t round, ProbeOutcome& out) {
    if (m.left || m.pending) {
        const auto held = tier.fetch(m.key);
        const auto is = [&](const std::optional<std::string>& v) { return v && held->value == *v; };
        out.reset = !held || !held->intact() || !(is(m.left) || is(m.pending));
    }
    const auto now = Clock::now();
    const auto version = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
    m.pending = std::to_string(round);
    tier.store(m.key, make_record(*m.pending, version, now + marker_ttl, now));
    m.left = std::move(m.pending);
    m.pending.reset();
}

template <Tier T>
ProbeOutcome probe(T& tier, const std::string& key, Marker& marker, std::uint64_t round) {
    const auto started = std::chrono::steady_clock::now();
    ProbeOutcome out;
    bool written = false;
    try {
        const auto now = Clock::now();
        const auto version = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
        const Record record = make_record(key + '@' + std::to_string(version), version, now + probe_ttl, now);
        written = true;  // a store that throws may still have applied (a timeout)
        tier.store(key, record);
        const auto back = tier.fetch(key);
        if (!back)
            out.error = "the probe record just written was not there when read back";
        else if (!back->intact() || back->value != record.value || back->version != record.version)
            out.error = "the probe record read back is not the one written (checksum or value differs)";
        written = false;
        if (!tier.erase(key) && out.error.empty()) out.error = "erasing the probe record found none";
        if (out.error.empty() && !tier.ping()) out.error = "ping failed";
        if (out.error.empty()) check_marker(tier, marker, round, out);
    } catch (...) {
        out.error = what(std::current_exception());
    }
    if (written) {
        try {
            tier.erase(key);
        } catch (...) {  // the tier is failing: the record expires by itself
        }
    }
    out.ok = out.error.empty();
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    return out;
}

}  // namespace strata::detail::recovery
