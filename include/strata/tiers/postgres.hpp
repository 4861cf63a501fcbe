#pragma once

#include <pqxx/pqxx>

#include <algorithm>  // sort, stable_sort, unique
#include <array>
#include <atomic>
#include <charconv>  // from_chars
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // int64_t, uint64_t
#include <limits>   // numeric_limits
#include <memory>   // unique_ptr
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>  // invoke_result_t
#include <unordered_map>
#include <utility>
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/tier.hpp"
#include "strata/tiers/postgres/pool.hpp"
#include "strata/tiers/postgres/schema.hpp"
#include "strata/tiers/postgres/sql.hpp"
#include "strata/tiers/postgres/statements.hpp"

namespace strata {

struct PostgresOptions {
    // A libpq connection string (keyword=value or postgresql:// URI), so
    // sslmode, password files and the rest pass through. Never reported in
    // errors.
    std::string conninfo = "host=127.0.0.1 port=5432 dbname=postgres";
    // [A-Za-z_][A-Za-z0-9_]*, at most 48 bytes; created on first use, and
    // again by the call after one that found it gone (SQLSTATE 42P01).
    std::string table = "strata_state";
    std::size_t pool_size = 4;
    // Enforced by the server; the client cuts the connection when no reply
    // comes `client_grace` later (a stopped or unreachable server).
    std::chrono::milliseconds statement_timeout{5'000};
    std::chrono::milliseconds client_grace{2'000};
    // libpq counts whole seconds, at least 2; unused when conninfo sets one.
    std::chrono::milliseconds connect_timeout{5'000};
    // Refuse to replace a row with an older version (concurrent writers
    // cannot move a key back in time). Off: last write wins. On, a store or
    // store_many that finds a newer version stored for some of its keys
    // leaves those rows as they are and throws Error{conflict} naming them,
    // never acknowledging a write it dropped; the batch's other rows are
    // stored (each row stands alone). A fetch then returns the stored
    // version, for the writer's version clock to move past before retrying.
    bool newer_versions_only = true;
    // last_accessed is written in batches: a read notes its key in memory
    // when the row's last_accessed is older than access_resolution, and one
    // UPDATE carries the noted keys at most every touch_interval (sooner when
    // touch_max_pending are noted). So a key read all the time costs one row
    // write per access_resolution, and idle_keys() is exact to within it.
    std::chrono::milliseconds access_resolution{10'000};
    std::chrono::milliseconds touch_interval{1'000};
    std::size_t touch_max_pending = 65'536;
    std::string name = "postgres";  // the tier's name in errors and reports
};

// The warm, durable tier: one PostgreSQL table, one row per key. Every call is
// one statement (one round trip, atomic by itself) on a pooled connection.
class PostgresTier {
public:
    static constexpr Temperature temperature = Temperature::warm;
    static constexpr bool durable = true;

    explicit PostgresTier(PostgresOptions options = {}) : state_(std::make_unique<State>(std::move(options))) {}

    std::string_view name() const noexcept { return state_->options.name; }

    const PostgresOptions& options() const noexcept { return state_->options; }

    std::optional<Record> fetch(std::string_view key) {
        const std::string k(key);
        return std::move(fetch_many(std::span<const std::string>(&k, 1)).front());
    }

    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> keys) {
        return read(keys, "fetch", true);
    }

    // fetch_many that leaves last_accessed alone (capabilities.hpp): the
    // same SELECT, without noting the reads.
    std::vector<std::optional<Record>> peek_many(std::span<const std::string> keys) {
        return read(keys, "peek_many", false);
    }

    // Live keys whose version is above `version`: one statement over the
    // version index.
    std::vector<std::string> changed_since(std::uint64_t version) {
        // bigint holds what the manager's clock hands out; a larger bound has nothing above it.
        if (version >= static_cast<std::uint64_t>(std::numeric_limits<long long>::max())) return {};
        const auto now = ns(Clock::now());
        const pqxx::result rows = run("changed_since", [&](pqxx::nontransaction& tx) {
            return tx.exec_prepared(detail::postgres::stmt::changed, static_cast<long long>(version), now);
        });
        std::vector<std::string> out;
        out.reserve(rows.size());
        for (const auto& row : rows) out.push_back(key_of(row));
        return out;
    }

    void store(std::string_view key, const Record& record) {
        validate_key(key);
        const Row row{key, &record};
        write("store", std::span<const Row>(&row, 1));
    }

    // Later entries for the same key win, as if stored one by one. Throws
    // `conflict` as store() does; the batch's other rows are stored then.
    void store_many(std::span<const Entry> entries) {
        for (const auto& e : entries) validate_key(e.key);
        std::vector<Row> rows;
        rows.reserve(entries.size());
        for (const auto& e : entries) rows.push_back({e.key, &e.record});
        write("store_many", rows);
    }

    bool erase(std::string_view key) {
        const std::string k(key);
        return erase_many(std::span<const std::string>(&k, 1)) == 1;
    }

    std::size_t erase_many(std::span<const std::string> keys) {
        for (const auto& k : keys) validate_key(k);
        if (keys.empty()) return 0;
        const auto param = key_array(keys);
        const auto now = ns(Clock::now());
        const pqxx::result r = run("erase", [&](pqxx::nontransaction& tx) {
            return tx.exec_prepared(detail::postgres::stmt::erase, param, now);
        });
        return static_cast<std::size_t>(integer(r[0][0]));
    }

    std::vector<std::string> keys(std::string_view pattern) {
        // bytea LIKE matches bytes (`_` is one byte), so the pattern is exact
        // except for character classes, which are filtered here.
        const Glob glob(pattern);
        const auto like = glob.to_sql_like('\\');
        const auto param = detail::postgres::bytea_param(like.pattern);
        const auto now = ns(Clock::now());
        const pqxx::result rows = run("keys", [&](pqxx::nontransaction& tx) {
            return tx.exec_prepared(detail::postgres::stmt::keys, param, now);
        });
        std::vector<std::string> out;
        out.reserve(rows.size());
        for (const auto& row : rows) {
            auto k = key_of(row);
            if (like.exact || glob.matches(k)) out.push_back(std::move(k));
        }
        return out;
    }

    // Keys neither read nor written for longer than `older_than`, after
    // flushing this tier's pending reads (other processes' pending reads are
    // at most touch_interval old).
    std::vector<std::string> idle_keys(std::chrono::milliseconds older_than) {
        flush_reads(true);
        const auto now = Clock::now();
        const pqxx::result rows = run("idle_keys", [&](pqxx::nontransaction& tx) {
            return tx.exec_prepared(detail::postgres::stmt::idle, ns(now - older_than), ns(now));
        });
        std::vector<std::string> out;
        out.reserve(rows.size());
        for (const auto& row : rows) out.push_back(key_of(row));
        return out;
    }

    // Deletes expired rows, in batches of sweep_batch; returns how many.
    std::size_t sweep_expired() {
        const auto now = ns(Clock::now());
        std::size_t total = 0;
        for (;;) {
            const auto n = run("sweep_expired", [&](pqxx::nontransaction& tx) {
                return tx.exec_prepared(detail::postgres::stmt::sweep, now).affected_rows();
            });
            total += n;
            if (n < static_cast<std::size_t>(detail::postgres::sweep_batch)) return total;
        }
    }

    // Counted from the table: live keys and their bytes (key + value), plus
    // expired rows awaiting a sweep and the table's size on disk.
    TierStats stats() {
        const auto now = ns(Clock::now());
        const pqxx::result r = run("stats", [&](pqxx::nontransaction& tx) {
            return tx.exec_prepared(detail::postgres::stmt::stats, now, state_->names.table);
        });
        TierStats st;
        st.keys = static_cast<std::uint64_t>(integer(r[0][0]));
        st.bytes = static_cast<std::uint64_t>(integer(r[0][1]));
        st.details = {{"table", state_->names.raw},
                      {"expired_rows", std::string(view(r[0][2]))},
                      {"table_bytes", std::string(view(r[0][3]))},
                      {"schema_version", std::to_string(detail::postgres::schema_version)}};
        return st;
    }

    // True when a connection answers within the timeouts; never throws.
    bool ping() {
        try {
            state_->pool.run("ping", [](detail::postgres::Connection& c) {
                pqxx::nontransaction tx(*c.pq);
                tx.exec("SELECT 1");
            });
            return true;
        } catch (const Error&) {
            return false;
        }
    }

private:
    struct Row {
        std::string_view key;
        const Record* record;
    };

    struct State {
        PostgresOptions options;
        detail::postgres::Names names;
        std::array<std::pair<const char*, std::string>, 10> statements;
        detail::postgres::Pool pool;
        std::atomic<bool> schema_ready{false};
        std::mutex reads_mutex;  // guards the two below only, never across a call
        std::vector<std::string> pending_reads;
        detail::postgres::Steady::time_point last_flush = detail::postgres::Steady::now();

        explicit State(PostgresOptions o)
            : options(std::move(o)),
              names(options.table),
              statements(detail::postgres::statements(names, options.newer_versions_only)),
              pool(pool_settings(options)) {}
    };

    static detail::postgres::PoolSettings pool_settings(const PostgresOptions& o) {
        if (o.statement_timeout.count() <= 0 || o.connect_timeout.count() <= 0 || o.client_grace.count() < 0)
            throw std::invalid_argument("strata: postgres timeouts must be positive");
        detail::postgres::PoolSettings s;
        s.tier_name = o.name;
        s.secrets = detail::postgres::conninfo_secrets(o.conninfo);
        s.conninfo = o.conninfo;
        if (o.conninfo.find("connect_timeout") == std::string::npos) {
            const auto seconds = std::to_string((o.connect_timeout.count() + 999) / 1000);
            const bool uri = o.conninfo.starts_with("postgresql://") || o.conninfo.starts_with("postgres://");
            if (uri)
                s.conninfo += (o.conninfo.find('?') == std::string::npos ? "?" : "&") + ("connect_timeout=" + seconds);
            else
                s.conninfo += " connect_timeout=" + seconds;
        }
        s.session_setup = detail::postgres::session_setup(o.statement_timeout);
        s.size = o.pool_size;
        s.call_deadline = o.statement_timeout + o.client_grace;
        // Waiting for a busy pool is bounded by how long its holders can take.
        s.acquire_timeout = o.connect_timeout + s.call_deadline;
        return s;
    }

    // Runs one statement on a ready connection: the schema exists (first use
    // migrates it, and so does the first call after one found the table gone;
    // concurrent migrations serialise on the server's advisory lock, no client
    // lock is held) and the statements are prepared.
    template <class F>
    std::invoke_result_t<F&, pqxx::nontransaction&> run(const std::string& op, F&& f) {
        State& s = *state_;
        return s.pool.run(op, [&](detail::postgres::Connection& c) {
            if (!s.schema_ready.load(std::memory_order_acquire)) {
                detail::postgres::migrate(*c.pq, s.names, s.options.name);
                s.schema_ready.store(true, std::memory_order_release);
            }
            try {
                if (!c.prepared) {
                    for (const auto& [id, sql] : s.statements) c.pq->prepare(id, sql);
                    c.prepared = true;
                }
                pqxx::nontransaction tx(*c.pq);
                return f(tx);
            } catch (const pqxx::sql_error& e) {
                // 42P01: the table went away behind the tier (dropped, or the
                // database re-created empty). This call fails, and the next one
                // migrates again instead of every call failing from now on.
                // Prepared statements need nothing: the server re-plans them
                // against the re-created table.
                if (detail::postgres::sqlstate_of(e) == "42P01") s.schema_ready.store(false, std::memory_order_release);
                throw;
            }
        });
    }

    // One SELECT; `note` marks the rows read for the batched last_accessed update.
    std::vector<std::optional<Record>> read(std::span<const std::string> keys, const std::string& op, bool note) {
        for (const auto& k : keys) validate_key(k);
        std::vector<std::optional<Record>> out(keys.size());
        if (keys.empty()) return out;
        const auto param = key_array(keys);
        const auto clock_now = Clock::now();
        const auto now = ns(clock_now);
        const auto stale = ns(clock_now - state_->options.access_resolution);
        const pqxx::result rows = run(op, [&](pqxx::nontransaction& tx) {
            return tx.exec_prepared(detail::postgres::stmt::fetch, param, now);
        });
        std::unordered_map<std::string, std::size_t> at;
        at.reserve(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i)
            at.emplace(key_of(rows[static_cast<pqxx::result::size_type>(i)]), i);
        std::vector<std::string> seen;  // rows whose last_accessed is stale
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const auto it = at.find(keys[i]);
            if (it == at.end()) continue;
            const auto row = rows[static_cast<pqxx::result::size_type>(it->second)];
            out[i] = to_record(row);
            if (note && integer(row[6]) < stale) seen.push_back(keys[i]);
        }
        if (note) note_reads(std::move(seen));
        return out;
    }

    void write(const std::string& op, std::span<const Row> input) {
        if (input.empty()) return;
        // Sorted, so concurrent batches lock rows in one order and cannot
        // deadlock; one row per key, since an upsert may touch a row once.
        std::vector<const Row*> rows;
        rows.reserve(input.size());
        for (const auto& r : input) rows.push_back(&r);
        std::stable_sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->key < b->key; });
        detail::postgres::ArrayLiteral keys, values, versions, checksums, updated, expires;
        std::size_t key_bytes = 0, value_bytes = 0, unique_rows = 0;
        for (const auto* r : rows) {
            key_bytes += r->key.size();
            value_bytes += r->record->value.size();
        }
        keys.reserve(2 * key_bytes + 4 * rows.size() + 2);
        values.reserve(2 * value_bytes + 4 * rows.size() + 2);
        checksums.reserve(68 * rows.size() + 2);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (i + 1 < rows.size() && rows[i + 1]->key == rows[i]->key) continue;  // a later entry wins
            ++unique_rows;
            const Record& rec = *rows[i]->record;
            keys.add_bytea(rows[i]->key);
            values.add_bytea(rec.value);
            versions.add_int(static_cast<long long>(rec.version));
            checksums.add_bytea(std::string_view(reinterpret_cast<const char*>(rec.checksum.data()), rec.checksum.size()));
            updated.add_int(ns(rec.updated_at));
            if (rec.expires_at)
                expires.add_int(ns(*rec.expires_at));
            else
                expires.add_null();
        }
        const auto params = std::array{std::move(keys).finish(),      std::move(values).finish(),
                                       std::move(versions).finish(),  std::move(checksums).finish(),
                                       std::move(updated).finish(),   std::move(expires).finish()};
        const auto now = ns(Clock::now());
        // Rows inserted or updated: fewer than sent when a newer version kept some.
        const auto written = run(op, [&](pqxx::nontransaction& tx) {
            return static_cast<std::size_t>(tx.exec_prepared(detail::postgres::stmt::store, params[0], params[1],
                                                             params[2], params[3], params[4], params[5], now)
                                                .affected_rows());
        });
        if (written < unique_rows) conflict(op, params[0], params[2], unique_rows - written, unique_rows);
    }

    // A store left `kept` of its `rows` alone for a newer stored version: a
    // second statement, on this path only, names them. A write landing in
    // between can change which keys it finds; the count stays the store's own,
    // and if naming fails the conflict is still what the caller hears.
    [[noreturn]] void conflict(const std::string& op, const std::string& keys, const std::string& versions,
                               std::size_t kept, std::size_t rows) {
        std::vector<std::string> names;
        try {
            const auto now = ns(Clock::now());
            const pqxx::result found = run(op, [&](pqxx::nontransaction& tx) {
                return tx.exec_prepared(detail::postgres::stmt::newer, keys, versions, now);
            });
            names.reserve(found.size());
            for (const auto& row : found) names.push_back(key_of(row));
        } catch (const Error&) {
            names.clear();
        }
        throw Error(ErrorKind::conflict, std::string(name()), op,
                    detail::postgres::conflict_detail(std::move(names), kept, rows));
    }

    // Notes keys read; one UPDATE per touch_interval carries them. Batched
    // rather than sampled: every read reaches last_accessed, so idle_keys()
    // is exact to access_resolution, where sampling would call read keys
    // idle at random and demote them.
    void note_reads(std::vector<std::string> keys) {
        if (!keys.empty()) {
            std::lock_guard lock(state_->reads_mutex);
            auto& pending = state_->pending_reads;
            if (pending.empty())
                pending = std::move(keys);
            else
                pending.insert(pending.end(), std::make_move_iterator(keys.begin()),
                               std::make_move_iterator(keys.end()));
        }
        flush_reads(false);
    }

    // Bookkeeping, so best effort: a failed touch never fails the read that
    // caused it; the next write or touch of the key sets it again.
    void flush_reads(bool force) {
        std::vector<std::string> batch;
        {
            std::lock_guard lock(state_->reads_mutex);
            const auto now = detail::postgres::Steady::now();
            const bool due = state_->pending_reads.size() >= state_->options.touch_max_pending ||
                             now - state_->last_flush >= state_->options.touch_interval;
            if (state_->pending_reads.empty() || !(force || due)) return;
            batch.swap(state_->pending_reads);
            state_->last_flush = now;
        }
        std::sort(batch.begin(), batch.end());
        batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
        const auto param = key_array(batch);
        try {
            run("touch", [&](pqxx::nontransaction& tx) {
                const auto now = Clock::now();
                tx.exec_prepared(detail::postgres::stmt::touch, param, ns(now),
                                 ns(now - state_->options.access_resolution));
            });
        } catch (const Error&) {
            if (force) throw;
        }
    }

    static std::string key_array(std::span<const std::string> keys) {
        detail::postgres::ArrayLiteral a;
        std::size_t n = 2;
        for (const auto& k : keys) n += 2 * k.size() + 4;
        a.reserve(n);
        for (const auto& k : keys) a.add_bytea(k);
        return std::move(a).finish();
    }

    // The first column of a row, a key the server sent as bytea.
    std::string key_of(const pqxx::row& row) const {
        auto k = detail::postgres::decode_bytea(view(row[0]));
        if (!k)
            throw Error(ErrorKind::corrupt, std::string(name()), "decode", "the server sent a key not in bytea hex form");
        return std::move(*k);
    }

    static long long ns(Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    }

    static Clock::time_point from_ns(long long v) {
        return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(v)));
    }

    static std::string_view view(const pqxx::field& f) { return {f.c_str(), f.size()}; }

    static long long integer(const pqxx::field& f) {
        long long v = 0;
        const auto s = view(f);
        std::from_chars(s.data(), s.data() + s.size(), v);
        return v;
    }

    // A row whose bytes do not decode comes back unreadable, so the manager
    // repairs that key instead of the whole batch failing.
    static Record to_record(const pqxx::row& row) {
        Record r;
        auto value = detail::postgres::decode_bytea(view(row[1]));
        if (!value || !detail::postgres::decode_bytea_into(view(row[3]), reinterpret_cast<char*>(r.checksum.data()),
                                                          r.checksum.size()))
            return unreadable_record("postgres row has a malformed value or checksum");
        r.value = std::move(*value);
        r.version = static_cast<std::uint64_t>(integer(row[2]));
        r.updated_at = from_ns(integer(row[4]));
        if (!row[5].is_null()) r.expires_at = from_ns(integer(row[5]));
        return r;
    }

    std::unique_ptr<State> state_;
};

static_assert(check_tier<PostgresTier>());
static_assert(check_capabilities<PostgresTier>());

}  // namespace strata
