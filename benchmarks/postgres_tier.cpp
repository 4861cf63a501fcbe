// PostgresTier's batch calls beside the best raw libpqxx method doing the same
// work in the same run: one multi-row upsert over unnest() of array parameters
// (store_many) and one `WHERE key = ANY($1)` (fetch_many), on a table of the
// same shape, decoding the same columns. Each iteration times both, in
// alternating order, so drift on a shared machine hits both alike; the
// `ratio` counter is library time / raw time.
//
// Server: STRATA_PG_CONNINFO, else a private cluster from
// scripts/postgres-server.sh, stopped at exit.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_common.hpp"
#include "integration/postgres/pg_env.hpp"
#include "postgres_server.hpp"

namespace {

using strata::bench::side_by_side;

std::string conninfo;

constexpr std::size_t value_size = 200;

// ---- the raw libpqxx side: what a careful user writes by hand -------------

void hex(std::string& out, std::string_view bytes) {
    static constexpr char d[] = "0123456789abcdef";
    for (unsigned char c : bytes) {
        out += d[c >> 4];
        out += d[c & 15];
    }
}

std::string unhex(std::string_view t) {  // "\x..." as the server sends bytea
    std::string out((t.size() - 2) / 2, '\0');
    auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(v(t[2 + 2 * i]) << 4 | v(t[3 + 2 * i]));
    return out;
}

struct RawRow {
    std::string value;
    long long version, updated, expires;
    std::string checksum;
};

class Raw {
public:
    // The table is created by the tier's own migration, so both sides write
    // the same columns, indexes and fillfactor.
    explicit Raw(const std::string& table) : conn_(conninfo), table_('"' + table + '"') {
        auto o = strata::pgtest::options(conninfo);
        o.table = table;
        (void)strata::PostgresTier(o).stats();
        conn_.prepare("raw_store",
                      "INSERT INTO " + table_ +
                          " AS t (key, value, version, checksum, size, created_at, updated_at, last_accessed, expires_at)"
                          " SELECT k, v, ver, c, octet_length(v), $7, u, $7, e FROM unnest($1::bytea[], $2::bytea[],"
                          " $3::bigint[], $4::bytea[], $5::bigint[], $6::bigint[]) AS s(k, v, ver, c, u, e)"
                          " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version,"
                          " checksum = EXCLUDED.checksum, size = EXCLUDED.size, updated_at = EXCLUDED.updated_at,"
                          " last_accessed = EXCLUDED.last_accessed, expires_at = EXCLUDED.expires_at");
        conn_.prepare("raw_fetch", "SELECT key, value, version, checksum, updated_at, expires_at FROM " + table_ +
                                       " WHERE key = ANY($1::bytea[])");
    }

    void store_many(const std::vector<strata::Entry>& entries) {
        std::string k = "{", v = "{", ver = "{", c = "{", u = "{", e = "{";
        for (const auto& en : entries) {
            const char* sep = k.size() > 1 ? "," : "";
            k += sep, k += "\\\\x", hex(k, en.key);
            v += sep, v += "\\\\x", hex(v, en.record.value);
            ver += sep, ver += std::to_string(en.record.version);
            c += sep, c += "\\\\x";
            hex(c, std::string_view(reinterpret_cast<const char*>(en.record.checksum.data()), 32));
            u += sep, u += std::to_string(en.record.updated_at.time_since_epoch().count());
            e += sep, e += "NULL";
        }
        for (auto* s : {&k, &v, &ver, &c, &u, &e}) *s += '}';
        pqxx::nontransaction tx(conn_);
        tx.exec_prepared("raw_store", k, v, ver, c, u, e, strata::Clock::now().time_since_epoch().count());
    }

    std::vector<std::optional<RawRow>> fetch_many(const std::vector<std::string>& keys) {
        std::string k = "{";
        for (const auto& key : keys) {
            if (k.size() > 1) k += ',';
            k += "\\\\x";
            hex(k, key);
        }
        k += '}';
        pqxx::nontransaction tx(conn_);
        const auto r = tx.exec_prepared("raw_fetch", k);
        std::unordered_map<std::string, RawRow> by_key;
        by_key.reserve(r.size());
        for (const auto& row : r)
            by_key.emplace(unhex({row[0].c_str(), row[0].size()}),
                           RawRow{unhex({row[1].c_str(), row[1].size()}), row[2].as<long long>(),
                                  row[4].as<long long>(), row[5].is_null() ? 0 : row[5].as<long long>(),
                                  unhex({row[3].c_str(), row[3].size()})});
        std::vector<std::optional<RawRow>> out;
        out.reserve(keys.size());
        for (const auto& key : keys) {
            auto it = by_key.find(key);
            out.push_back(it == by_key.end() ? std::nullopt : std::optional<RawRow>(std::move(it->second)));
        }
        return out;
    }

    void drop() {
        auto o = strata::pgtest::options(conninfo);
        o.table = table_.substr(1, table_.size() - 2);
        strata::pgtest::drop_table(o);
    }

private:
    pqxx::connection conn_;
    std::string table_;
};

// ---- the two sides in one loop ----------------------------------------------

std::vector<strata::Entry> entries(std::size_t n, std::uint64_t version) {
    std::mt19937_64 rng(n);
    std::vector<strata::Entry> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::string value(value_size, '\0');
        for (auto& c : value) c = static_cast<char>(rng());
        out.push_back({"bench:user:" + std::to_string(i), strata::make_record(std::move(value), version)});
    }
    return out;
}

void BM_StoreMany(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto o = strata::pgtest::options(conninfo);
    o.table = strata::pgtest::unique_table("bench_lib");
    strata::PostgresTier tier(o);
    Raw raw(strata::pgtest::unique_table("bench_raw"));
    std::uint64_t version = 1;
    auto batch = entries(n, version);
    tier.store_many(batch);  // both start from a full table: every row is an update
    raw.store_many(batch);
    side_by_side(
        state,
        [&] {
            for (auto& e : batch) e.record.version = version + 1;
            ++version;
            tier.store_many(batch);
        },
        [&] { raw.store_many(batch); });
    state.SetItemsProcessed(state.iterations() * state.range(0));
    strata::pgtest::drop_table(o);
    raw.drop();
}

void BM_FetchMany(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto o = strata::pgtest::options(conninfo);
    o.table = strata::pgtest::unique_table("bench_lib");
    strata::PostgresTier tier(o);
    Raw raw(strata::pgtest::unique_table("bench_raw"));
    const auto batch = entries(n, 1);
    tier.store_many(batch);
    raw.store_many(batch);
    std::vector<std::string> keys;
    for (const auto& e : batch) keys.push_back(e.key);
    side_by_side(
        state,
        [&] {
            auto got = tier.fetch_many(keys);
            if (!got.back()) state.SkipWithError("library lost a row");
            benchmark::DoNotOptimize(got);
        },
        [&] {
            auto got = raw.fetch_many(keys);
            if (!got.back()) state.SkipWithError("raw lost a row");
            benchmark::DoNotOptimize(got);
        });
    state.SetItemsProcessed(state.iterations() * state.range(0));
    strata::pgtest::drop_table(o);
    raw.drop();
}

BENCHMARK(BM_StoreMany)->Arg(1000)->Arg(10000)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FetchMany)->Arg(1000)->Arg(10000)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const strata::bench::PostgresServer server;
    conninfo = server.conninfo();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
