#pragma once

#include <algorithm>  // sort, unique
#include <atomic>
#include <charconv>  // from_chars
#include <chrono>
#include <cstddef>  // size_t
#include <memory>   // unique_ptr
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>  // move
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/tiers/redis/connection.hpp"
#include "strata/tiers/redis/pool.hpp"
#include "strata/tiers/redis/reply.hpp"
#include "strata/tiers/redis/scan.hpp"

namespace strata {

// How to reach Redis. The defaults reach a local server with no password.
struct RedisOptions {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string unix_socket{};  // used instead of host:port when set
    int db = 0;
    std::string username{};  // Redis 6 ACL user; empty: AUTH with the password alone
    std::string password{};  // empty: no AUTH
    // Every key is stored as key_prefix + key, so tiers sharing a server stay apart.
    std::string key_prefix{};
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{1000};  // per socket read/write
    std::size_t pool_size = 4;
    // How long a call waits for a connection when all pool_size are lent,
    // then fails with `timeout` (pool exhausted). Unset: command_timeout.
    std::optional<std::chrono::milliseconds> pool_wait_timeout{};
    CompressionOptions compression{};
    std::size_t scan_count = 1000;  // the COUNT hint of each SCAN page
    std::string name = "redis";     // the tier's name in errors and reports
};

namespace detail::redis {

// The records in an MGET reply, in key order; expired ones as absent.
inline std::vector<std::optional<Record>> decode_values(const redisReply& reply, std::size_t count,
                                                        std::string_view tier, std::string_view op) {
    const redisReply& values = array(reply, tier, op);
    if (values.elements != count) unexpected(values, tier, op);
    std::vector<std::optional<Record>> out(count);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < count; ++i) {
        const redisReply& v = *values.element[i];
        if (v.type != REDIS_REPLY_STRING) continue;  // nil: absent, or not a string key
        Record r = envelope::decode_or_unreadable(text(v));
        if (!r.expired(now)) out[i] = std::move(r);
    }
    return out;
}

// The INFO figures stats() reports. A used_memory that is not a number is a
// broken reply: Error{invalid}, like any reply the command never gets.
inline void parse_info(std::string_view info, TierStats& s, std::string_view tier) {
    static constexpr std::string_view wanted[] = {"redis_version", "used_memory",     "connected_clients",
                                                  "keyspace_hits", "keyspace_misses", "expired_keys",
                                                  "evicted_keys",  "maxmemory_policy"};
    while (!info.empty()) {
        const auto eol = info.find('\n');
        std::string_view line = info.substr(0, eol);
        info = eol == std::string_view::npos ? std::string_view{} : info.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const auto field = line.substr(0, colon), value = line.substr(colon + 1);
        for (auto w : wanted)
            if (field == w) s.details.emplace_back(std::string(field), std::string(value));
        if (field != "used_memory") continue;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s.bytes);
        if (ec != std::errc{} || end != value.data() + value.size())
            throw Error(ErrorKind::invalid, std::string(tier), "stats",
                        "INFO's used_memory is not a number: '" + std::string(value) + "'");
    }
}

// Whether OBJECT IDLETIME's `idle_seconds` is at least `older_than`, rounded
// so that a listed key really is that idle. Compared in seconds: the
// server's figure times 1000 could overflow.
inline bool idle_at_least(long long idle_seconds, std::chrono::milliseconds older_than) noexcept {
    const auto ms = older_than.count();
    return idle_seconds >= ms / 1000 + (ms % 1000 > 0 ? 1 : 0);
}

}  // namespace detail::redis

// The hot tier on Redis (hiredis). Records are stored as the shared envelope
// with Redis's own TTL (SET PX), so Redis expires them itself. Every batch is
// one round trip. Safe to share between threads: each call borrows a pooled
// connection and no lock is held while talking to the server.
class RedisTier {
public:
    static constexpr Temperature temperature = Temperature::hot;
    static constexpr bool durable = false;

    explicit RedisTier(RedisOptions options = {}) : state_(std::make_unique<State>(std::move(options))) {}

    std::string_view name() const noexcept { return state_->options.name; }
    const RedisOptions& options() const noexcept { return state_->options; }

    std::optional<Record> fetch(std::string_view key) {
        const std::string k(key);
        return std::move(fetch_many(std::span<const std::string>(&k, 1)).front());
    }

    // One MGET. A blob that is not an envelope comes back unreadable, so the
    // manager repairs that key and the rest of the batch is unaffected.
    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> keys) {
        if (keys.empty()) return {};
        const auto full = prefixed(keys);
        auto mget = mget_of(full);
        // The connection goes back to the pool before the values are decoded.
        const detail::redis::Reply reply = state_->pool.borrow("fetch")->run(mget, "fetch");
        return detail::redis::decode_values(*reply, keys.size(), name(), "fetch");
    }

    // fetch_many that leaves Redis's idle times (LRU/LFU data) alone, for
    // tools (capabilities.hpp): CLIENT NO-TOUCH ON, MGET, CLIENT NO-TOUCH OFF
    // in one round trip. NO-TOUCH came with Redis 7.2. Before it no command
    // returns a value without resetting the key's idle time (DUMP, GETRANGE,
    // STRLEN, COPY and GET inside a Lua script all reset it; EXISTS, TYPE,
    // PTTL, OBJECT and MEMORY USAGE leave it, and return no value), so on an
    // older server, or where ACLs refuse CLIENT NO-TOUCH, peek_many is one
    // MGET and the keys it reads look used; stats() says which ("no_touch").
    std::vector<std::optional<Record>> peek_many(std::span<const std::string> keys) {
        if (keys.empty()) return {};
        const auto full = prefixed(keys);
        auto mget = mget_of(full);
        detail::redis::Reply values;
        {
            auto conn = state_->pool.borrow("peek_many");
            if (!no_touch(*conn)) {
                values = conn->run(mget, "peek_many");
            } else {
                std::vector<detail::redis::Command> cmds(3);
                cmds[0].arg("CLIENT").arg("NO-TOUCH").arg("ON");
                cmds[1] = std::move(mget);
                cmds[2].arg("CLIENT").arg("NO-TOUCH").arg("OFF");
                auto replies = conn->pipeline(cmds, "peek_many");
                // Left on, the connection would let later fetches skip their touch.
                if (replies[2]->type != REDIS_REPLY_STATUS) conn->discard();
                values = std::move(replies[1]);
            }
        }
        return detail::redis::decode_values(*values, keys.size(), name(), "peek_many");
    }

    void store(std::string_view key, const Record& record) {
        const Entry e{std::string(key), record};
        store_many(std::span<const Entry>(&e, 1));
    }

    // One pipeline, in input order so the last write of a key wins: each run
    // of entries without expiry is one MSET (the whole batch, usually), each
    // expiring entry a SET PX, each run of records already expired one DEL
    // (storing them would resurrect a dead value; deleting drops older copies).
    void store_many(std::span<const Entry> entries) {
        if (entries.empty()) return;
        for (const auto& e : entries) validate_key(e.key);
        const detail::redis::PrefixedKeys full(state_->options.key_prefix, entries,
                                              [](const Entry& e) -> const std::string& { return e.key; });
        enum class Kind { none, plain, timed, dead };
        const auto now = Clock::now();
        std::vector<std::string> blobs(entries.size()), ttls(entries.size());  // sized once: args point into them
        std::vector<detail::redis::Command> cmds;
        Kind open = Kind::none;  // the kind of run cmds.back() collects (none: a SET PX, or no command yet)
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const Record& r = entries[i].record;
            const long long ms = r.expires_at ? remaining_ms(*r.expires_at, now) : 0;
            const Kind kind = !r.expires_at ? Kind::plain : ms > 0 ? Kind::timed : Kind::dead;
            if (kind != Kind::dead) blobs[i] = envelope::encode(r, state_->options.compression);
            if (kind == Kind::timed) {
                ttls[i] = std::to_string(ms);
                cmds.emplace_back("SET").arg(full[i]).arg(blobs[i]).arg("PX").arg(ttls[i]);
                open = Kind::none;
                continue;
            }
            if (open != kind) {
                cmds.emplace_back(kind == Kind::plain ? "MSET" : "DEL");
                open = kind;
            }
            cmds.back().arg(full[i]);
            if (kind == Kind::plain) cmds.back().arg(blobs[i]);
        }
        auto conn = state_->pool.borrow("store");
        const auto replies = conn->pipeline(cmds, "store");
        for (std::size_t i = 0; i < replies.size(); ++i) {
            if (cmds[i].name() == "DEL")
                detail::redis::integer(*replies[i], name(), "store");
            else
                detail::redis::status(*replies[i], name(), "store");
        }
    }

    bool erase(std::string_view key) {
        const std::string k(key);
        return erase_many(std::span<const std::string>(&k, 1)) > 0;
    }

    // One UNLINK (frees memory off the main thread); DEL on servers before 4.0.
    std::size_t erase_many(std::span<const std::string> keys) {
        if (keys.empty()) return 0;
        const auto full = prefixed(keys);
        for (;;) {
            detail::redis::Command cmd(state_->unlink_name());
            cmd.reserve(full.size() + 1);
            for (std::size_t i = 0; i < full.size(); ++i) cmd.arg(full[i]);
            auto conn = state_->pool.borrow("erase");
            const detail::redis::Reply reply = conn->run(cmd, "erase");
            if (const auto n = unlinked(*reply, "erase")) return static_cast<std::size_t>(*n);
        }
    }

    // SCAN MATCH under the escaped prefix, then filtered with strata's own
    // matcher (the same syntax, so the result means the same in every tier).
    // Each page borrows a connection of its own, so with a small pool other
    // calls take turns with a long scan rather than wait it out.
    std::vector<std::string> keys(std::string_view glob) {
        const Glob pattern(glob);
        const std::string& prefix = state_->options.key_prefix;
        const std::string match = glob_escape(prefix) + std::string(glob);
        std::unordered_set<std::string> seen;
        detail::redis::scan(state_->pool, match, state_->options.scan_count, name(), "keys",
                           [&](const std::vector<std::string_view>& names) {
                               for (auto n : names)
                                   if (n.starts_with(prefix) && pattern.matches(n.substr(prefix.size())))
                                       seen.emplace(n.substr(prefix.size()));
                           });
        std::vector<std::string> out(std::make_move_iterator(seen.begin()), std::make_move_iterator(seen.end()));
        std::sort(out.begin(), out.end());
        return out;
    }

    // Keys neither read nor written for at least `older_than`, from Redis's
    // OBJECT IDLETIME (one-second resolution; rounded so that a listed key
    // really is that idle). For StateManager::demote_idle. Fails with
    // `invalid` under an LFU maxmemory-policy, where Redis keeps no idle time.
    std::vector<std::string> idle_keys(std::chrono::milliseconds older_than) {
        const std::string& prefix = state_->options.key_prefix;
        std::unordered_set<std::string> seen;
        detail::redis::scan(state_->pool, glob_escape(prefix) + "*", state_->options.scan_count, name(), "idle_keys",
                           [&](const std::vector<std::string_view>& names) {
                               const auto idle = detail::redis::idle_seconds(*state_->pool.borrow("idle_keys"),
                                                                            names, name());
                               for (std::size_t i = 0; i < names.size(); ++i)
                                   if (idle[i] && detail::redis::idle_at_least(*idle[i], older_than) &&
                                       names[i].starts_with(prefix))
                                       seen.emplace(names[i].substr(prefix.size()));
                           });
        std::vector<std::string> out(std::make_move_iterator(seen.begin()), std::make_move_iterator(seen.end()));
        std::sort(out.begin(), out.end());
        return out;
    }

    // keys: this tier's keys when it has a prefix and the server holds at
    // most `stats_scan_limit` keys (counted by SCAN), else the server's DBSIZE.
    // bytes: the server's used_memory. details: DBSIZE and INFO figures.
    TierStats stats() {
        static constexpr std::size_t stats_scan_limit = 100'000;
        TierStats s;
        detail::redis::Command dbsize("DBSIZE"), info("INFO");
        std::vector<detail::redis::Command> cmds;
        cmds.push_back(std::move(dbsize));
        cmds.push_back(std::move(info));
        const auto replies = state_->pool.borrow("stats")->pipeline(cmds, "stats");
        const auto total = static_cast<std::uint64_t>(detail::redis::integer(*replies[0], name(), "stats"));
        detail::redis::check(*replies[1], name(), "stats");
        s.keys = total;
        s.details.emplace_back("dbsize", std::to_string(total));
        detail::redis::parse_info(detail::redis::text(*replies[1]), s, name());
        const int no_touch = state_->no_touch.load();  // known after the first peek_many
        s.details.emplace_back("no_touch", no_touch == State::yes ? "yes" : no_touch == State::no ? "no" : "unknown");
        if (!state_->options.key_prefix.empty() && total <= stats_scan_limit) {
            std::unordered_set<std::string> mine;  // SCAN may repeat a key while the server rehashes
            detail::redis::scan(state_->pool, glob_escape(state_->options.key_prefix) + "*", state_->options.scan_count,
                               name(), "stats", [&](const std::vector<std::string_view>& names) {
                                   for (auto n : names) mine.emplace(n);
                               });
            s.keys = mine.size();
        }
        return s;
    }

    // False when the server cannot be reached or does not answer in time.
    bool ping() {
        try {
            detail::redis::Command cmd("PING");
            const detail::redis::Reply reply = state_->pool.borrow("ping")->run(cmd, "ping");
            return reply->type == REDIS_REPLY_STATUS && detail::redis::text(*reply) == "PONG";
        } catch (const Error&) {
            return false;
        }
    }

private:
    struct State {
        explicit State(RedisOptions o)
            : options(std::move(o)),
              pool(detail::redis::Settings{options.host, options.port, options.unix_socket, options.db, options.username,
                                          options.password, options.connect_timeout, options.command_timeout},
                   options.name, options.pool_size, options.pool_wait_timeout.value_or(options.command_timeout)) {}

        std::string_view unlink_name() const noexcept { return has_unlink.load() ? "UNLINK" : "DEL"; }

        RedisOptions options;
        detail::redis::Pool pool;
        std::atomic<bool> has_unlink{true};
        enum : int { unknown, yes, no };
        std::atomic<int> no_touch{unknown};  // whether the server has CLIENT NO-TOUCH
    };

    // Whether the server has CLIENT NO-TOUCH, asked once per tier with
    // CLIENT NO-TOUCH OFF, which leaves the session as it was. Refused by an
    // older server (unknown subcommand), a renamed CLIENT or ACLs (NOPERM): no.
    bool no_touch(detail::redis::Connection& conn) {
        int known = state_->no_touch.load();
        if (known == State::unknown) {
            detail::redis::Command probe("CLIENT");
            probe.arg("NO-TOUCH").arg("OFF");
            const detail::redis::Reply r = conn.run(probe, "peek_many");
            const auto text = detail::redis::text(*r);
            bool refused = false;
            if (r->type == REDIS_REPLY_ERROR)
                for (std::string_view why : {"ERR unknown subcommand", "ERR Unknown subcommand", "ERR unknown command",
                                             "NOPERM"})
                    refused = refused || text.starts_with(why);
            if (!refused) detail::redis::status(*r, name(), "peek_many");
            known = refused ? State::no : State::yes;
            state_->no_touch.store(known);
        }
        return known == State::yes;
    }

    static detail::redis::Command mget_of(const detail::redis::PrefixedKeys& full) {
        detail::redis::Command cmd("MGET");
        cmd.reserve(full.size() + 1);
        for (std::size_t i = 0; i < full.size(); ++i) cmd.arg(full[i]);
        return cmd;
    }

    static long long remaining_ms(Clock::time_point expires_at, Clock::time_point now) {
        if (expires_at <= now) return 0;
        // Rounded up: a record must not vanish before its expiry.
        return std::chrono::ceil<std::chrono::milliseconds>(expires_at - now).count();
    }

    detail::redis::PrefixedKeys prefixed(std::span<const std::string> keys) const {
        for (const auto& k : keys) validate_key(k);
        return detail::redis::PrefixedKeys(state_->options.key_prefix, keys,
                                          [](const std::string& k) -> const std::string& { return k; });
    }

    // The count from UNLINK/DEL; nullopt when the server lacks UNLINK, after
    // which this tier uses DEL (the caller retries).
    std::optional<long long> unlinked(const redisReply& r, std::string_view op) {
        if (r.type == REDIS_REPLY_ERROR && state_->has_unlink.load() &&
            detail::redis::text(r).starts_with("ERR unknown command")) {
            state_->has_unlink.store(false);
            return std::nullopt;
        }
        return detail::redis::integer(r, name(), op);
    }

    std::unique_ptr<State> state_;
};

static_assert(check_tier<RedisTier>());
static_assert(check_capabilities<RedisTier>());

}  // namespace strata
