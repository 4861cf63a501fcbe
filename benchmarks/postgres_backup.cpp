// Backups of a PostgresTier (StateManager<NoCache, NeverPromote, PostgresTier>)
// into a DirectoryBackupStore in a temporary directory, default options:
//
//   BM_IncrementalVsFull: 100,000 keys of 512 bytes; each iteration a full
//     backup, then 1% of the keys (1,000, spread over the key space) written
//     again, then an incremental. ratio = incremental time / full time
//     (criterion: <= 0.10).
//   BM_RestoreVsStoreMany: restore of a full backup of 100,000 keys of 512
//     bytes beside PostgresTier::store_many of the same records (read back
//     from the tier before the backup), in alternating order, each side
//     writing into an empty table: a new one each time, or (emptied:1) the
//     backed-up table emptied and vacuumed. raw_batch is the raw side's
//     batch: all 100,000 in one call, or 1,000 per call (the restore's
//     batch). ratio = restore time / store_many time (criterion: <= 2).
//   BM_BackupPeakMemory: growth of the peak RSS (VmHWM, reset through
//     /proc/self/clear_refs just before) during a full backup of 1,000,000
//     keys of 1 KiB (criterion: < 128 MiB), and for scale the same around
//     listing the keys alone. Loading the 1 GB takes a minute or more: pick
//     it, or leave it out, with --benchmark_filter.
//
// Values are random characters from a 64-letter alphabet (bench_common.hpp).
// Server: STRATA_PG_CONNINFO, else a private cluster from
// scripts/postgres-server.sh, stopped at exit.
#include <benchmark/benchmark.h>
#include <malloc.h>  // malloc_trim

#include <algorithm>  // min
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "common/temp_dir.hpp"
#include "integration/postgres/pg_env.hpp"
#include "postgres_server.hpp"
#include "strata/backup/backup_manager.hpp"
#include "strata/backup/directory_store.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/manager/state_manager.hpp"
#include "strata/promotion/never_promote.hpp"

namespace {

using strata::BackupType;
using Manager = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::PostgresTier>;
using Backups = strata::BackupManager<Manager, strata::DirectoryBackupStore>;

std::string conninfo;

// For a store_many of 100,000 rows or a listing of a million keys, which may
// take longer than the default 5 s on a loaded machine.
constexpr std::chrono::milliseconds long_statements = std::chrono::minutes(2);

// A manager over a table of its own, dropped at the end.
struct Table {
    explicit Table(std::chrono::milliseconds statement_timeout)
        : options(table_options(statement_timeout)),
          mgr{strata::NoCache{}, strata::NeverPromote{}, strata::PostgresTier{options}} {}
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;
    ~Table() { strata::pgtest::drop_table(options); }

    static strata::PostgresOptions table_options(std::chrono::milliseconds statement_timeout) {
        auto o = strata::pgtest::options(conninfo);
        o.table = strata::pgtest::unique_table("bench_backup");
        o.statement_timeout = statement_timeout;
        return o;
    }

    strata::PostgresTier& tier() { return mgr.tier<0>(); }

    // Keys state:0 .. state:<count - 1>, written through the manager in
    // batches of 10,000 so the version clock knows them.
    void load(std::size_t count, std::size_t value_size) {
        std::mt19937_64 rng(count);
        constexpr std::size_t batch = 10'000;
        for (std::size_t from = 0; from < count; from += batch)
            mgr.set_many(strata::bench::state_pairs(rng, from, std::min(batch, count - from), value_size));
    }

    strata::PostgresOptions options;
    Manager mgr;
};

// A table and its backups, in a temporary directory (default options).
struct Setup {
    explicit Setup(std::chrono::milliseconds statement_timeout = strata::PostgresOptions{}.statement_timeout)
        : source(statement_timeout),
          backups{source.mgr, strata::DirectoryBackupStore{dir.path},
                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}} {}

    Table source;
    strata::testing::TempDir dir{"strata-bench-backup"};
    Backups backups;
};

double seconds_of(auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr std::size_t key_count = 100'000;
constexpr std::size_t value_size = 512;

// ---- (b) an incremental after 1% changed, against a full ---------------------

void BM_IncrementalVsFull(benchmark::State& state) {
    constexpr std::size_t stride = 100;  // 1%: every 100th key
    Setup s;
    s.source.load(key_count, value_size);
    std::mt19937_64 rng(13);
    double full_s = 0, incremental_s = 0;
    std::uint64_t full_stored = 0, incremental_stored = 0;
    std::size_t round = 0;
    for (auto _ : state) {
        strata::BackupInfo full, incremental;
        full_s += seconds_of([&] { full = s.backups.create(BackupType::full); });
        strata::bench::Pairs changed;
        for (std::size_t k = round++ % stride; k < key_count; k += stride)
            changed.emplace_back(strata::bench::state_key(k), strata::bench::state_value(rng, value_size));
        s.source.mgr.set_many(changed);
        const double t = seconds_of([&] { incremental = s.backups.create(BackupType::incremental); });
        incremental_s += t;
        state.SetIterationTime(t);
        if (full.changed_keys != key_count || incremental.changed_keys != changed.size() ||
            incremental.key_count != key_count)
            state.SkipWithError("a backup holds the wrong keys");
        full_stored = full.stored_bytes;
        incremental_stored = incremental.stored_bytes;
        s.backups.remove(incremental.id);
        s.backups.remove(full.id);
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["full_ms"] = 1e3 * full_s / n;
    state.counters["incremental_ms"] = 1e3 * incremental_s / n;
    state.counters["ratio"] = incremental_s / full_s;
    state.counters["full_stored_MB"] = static_cast<double>(full_stored) / 1e6;
    state.counters["incremental_stored_MB"] = static_cast<double>(incremental_stored) / 1e6;
}

// ---- (c) restore against raw store_many ----------------------------------------

// arg 0: the raw side's batch; arg 1: where both sides write. 0: a new
// table each time (a restore onto a new machine); 1: the backed-up table,
// emptied and vacuumed each time, which shows a PostgresTier defect (see
// benchmarks/README.md): each batch's reads then scan the whole table.
void BM_RestoreVsStoreMany(benchmark::State& state) {
    const auto raw_batch = static_cast<std::size_t>(state.range(0));
    const bool emptied = state.range(1) != 0;
    Setup s(long_statements);
    s.source.load(key_count, value_size);
    std::vector<std::string> keys;
    for (std::size_t k = 0; k < key_count; ++k) keys.push_back(strata::bench::state_key(k));
    std::vector<strata::Entry> records;
    {
        auto held = s.source.tier().peek_many(keys);  // peek: no last_accessed update left pending
        for (std::size_t k = 0; k < key_count; ++k) records.push_back({keys[k], std::move(*held[k])});
    }
    const auto backup = s.backups.create(BackupType::full);
    pqxx::connection admin(conninfo);
    std::optional<Table> fresh;
    auto target = [&]() -> Table& { return emptied ? s.source : *fresh; };
    auto check_full = [&] {
        if (target().tier().stats().keys != key_count) state.SkipWithError("the table does not hold every key");
    };
    strata::RollbackReport report;
    double read_s = 0, write_s = 0;
    strata::bench::side_by_side(
        state,
        [&] {
            report = s.backups.restore_into(backup.id, target().mgr);
            read_s += std::chrono::duration<double>(report.verify_time).count();
            write_s += std::chrono::duration<double>(report.restore_time).count();
            if (report.keys_restored != key_count) state.SkipWithError("the restore did not write every key");
        },
        [&] {
            auto& tier = target().tier();
            for (std::size_t from = 0; from < key_count; from += raw_batch)
                tier.store_many(std::span<const strata::Entry>(records).subspan(from, std::min(raw_batch, key_count - from)));
        },
        // Untimed, before each side: what the last one left is checked, then
        // the table it writes made empty, with its connection open.
        [&] {
            if (emptied) {
                check_full();
                if (s.source.mgr.erase_many(keys) != key_count) state.SkipWithError("the table did not hold every key");
                pqxx::nontransaction(admin).exec("VACUUM \"" + s.source.options.table + "\"");
            } else {
                if (fresh) check_full();
                fresh.reset();
                fresh.emplace(long_statements);
                if (fresh->tier().stats().keys != 0) state.SkipWithError("a new table is not empty");
            }
        });
    check_full();
    const auto n = static_cast<double>(state.iterations());
    state.counters["restore_read_ms"] = 1e3 * read_s / n;
    state.counters["restore_write_ms"] = 1e3 * write_s / n;
}

// ---- (d) peak memory of a backup of 1,000,000 keys x 1 KiB ----------------------

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM").
std::uint64_t status_kib(const std::string& field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
    throw std::runtime_error("no " + field + " in /proc/self/status");
}

// VmHWM starts again from the current RSS.
void reset_peak_rss() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    if (!clear) throw std::runtime_error("cannot write /proc/self/clear_refs");
}

// How far f() lifts the peak RSS above the RSS it starts from, in MiB. What
// earlier work freed goes back to the system first, so f cannot reuse it
// unseen.
double peak_growth_mib(benchmark::State& state, auto&& f) {
    ::malloc_trim(0);
    reset_peak_rss();
    const std::uint64_t before = status_kib("VmRSS");
    if (status_kib("VmHWM") > before + 1024) state.SkipWithError("VmHWM was not reset");
    f();
    return static_cast<double>(status_kib("VmHWM") - before) / 1024.0;
}

void BM_BackupPeakMemory(benchmark::State& state) {
    constexpr std::size_t big_count = 1'000'000, big_value = 1024;
    Setup s(long_statements);
    const double load_s = seconds_of([&] { s.source.load(big_count, big_value); });
    for (auto _ : state) {
        strata::BackupInfo info;
        double backup_s = 0;
        const double growth =
            peak_growth_mib(state, [&] { backup_s = seconds_of([&] { info = s.backups.create(BackupType::full); }); });
        state.SetIterationTime(backup_s);
        if (info.key_count != big_count) state.SkipWithError("the backup holds the wrong keys");
        state.counters["peak_growth_MiB"] = growth;
        state.counters["stored_MB"] = static_cast<double>(info.stored_bytes) / 1e6;
        s.backups.remove(info.id);
    }
    state.counters["rss_MiB"] = static_cast<double>(status_kib("VmRSS")) / 1024.0;
    // For scale: the same measure around listing the keys alone, which
    // every full backup does first.
    state.counters["key_listing_growth_MiB"] = peak_growth_mib(state, [&] {
        if (s.source.tier().keys("*").size() != big_count) state.SkipWithError("the listing misses keys");
    });
    state.counters["load_s"] = load_s;
}

}  // namespace

BENCHMARK(BM_IncrementalVsFull)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RestoreVsStoreMany)
    ->Args({100'000, 0})
    ->Args({1'000, 0})
    ->ArgNames({"raw_batch", "emptied"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(4);
BENCHMARK(BM_RestoreVsStoreMany)
    ->Args({100'000, 1})
    ->ArgNames({"raw_batch", "emptied"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK(BM_BackupPeakMemory)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const strata::bench::PostgresServer server;
    conninfo = server.conninfo();
    try {
        benchmark::RunSpecifiedBenchmarks();
    } catch (const std::exception& e) {  // caught, so the private cluster is stopped
        std::cerr << "bench_postgres_backup: " << e.what() << '\n';
        return 1;
    }
    benchmark::Shutdown();
}
