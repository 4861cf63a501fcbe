// Checkpoint capture and rollback of 100,000 keys of 512 bytes held in a
// MemoryTier, beside raw zlib (level 1, the checkpoint's level) and SHA-256
// over the same bytes in the same run. Every library benchmark reports
// `vs_raw`: its throughput over that of zlib + SHA-256 (the criterion is
// vs_raw >= 0.5 for capture).
//
// Values are 512 random characters from a 64-letter alphabet (they compress
// to about 3/4, like encoded state); keys are "state:<n>". Checkpoints go to
// a DirectoryCheckpointStore in a temporary directory, with fsync on (the
// default) and off.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "common/temp_dir.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/codec/zlib_stream.hpp"
#include "strata/core/digest.hpp"
#include "strata/manager/state_manager.hpp"
#include "strata/promotion/never_promote.hpp"
#include "strata/tiers/memory.hpp"

namespace {

using strata::bench::Times;
using strata::bench::capture_data;
using strata::bench::capture_keys;
using strata::bench::capture_payload_bytes;
using strata::bench::timed;
using Dir = strata::testing::TempDir;
using Manager = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier>;

// zlib (streaming, level 1) then SHA-256 over every key and value.
Times raw_run() {
    return timed([] {
    strata::codec::Deflater z(1);
    std::uint64_t out = 0;
    for (const auto& [k, v] : capture_data()) {
        z.write(k, [&](std::string_view c) { out += c.size(); });
        z.write(v, [&](std::string_view c) { out += c.size(); });
    }
    z.finish([&](std::string_view c) { out += c.size(); });
    strata::Sha256 h;
    for (const auto& [k, v] : capture_data()) h.update(k).update(v);
    benchmark::DoNotOptimize(h.finish());
    benchmark::DoNotOptimize(out);
    });
}

// The baseline for vs_raw: the best of three runs (wall and CPU), measured once.
const Times& raw_best() {
    static const Times best = strata::bench::best_of(3, raw_run);
    return best;
}

void report(benchmark::State& state, const Times& total) {
    strata::bench::report_vs_raw(state, capture_payload_bytes(), total, raw_best());
}

void BM_RawZlibPlusSha256(benchmark::State& state) {
    Times total;
    for (auto _ : state) {
        const Times t = raw_run();
        total += t;
        state.SetIterationTime(t.wall);
    }
    report(state, total);
}

void BM_RawZlibOnly(benchmark::State& state) {
    for (auto _ : state) {
        strata::codec::Deflater z(1);
        std::uint64_t out = 0;
        for (const auto& [k, v] : capture_data()) {
            z.write(k, [&](std::string_view c) { out += c.size(); });
            z.write(v, [&](std::string_view c) { out += c.size(); });
        }
        z.finish([&](std::string_view c) { out += c.size(); });
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(capture_payload_bytes()) * state.iterations());
}

void BM_RawSha256Only(benchmark::State& state) {
    for (auto _ : state) {
        strata::Sha256 h;
        for (const auto& [k, v] : capture_data()) h.update(k).update(v);
        benchmark::DoNotOptimize(h.finish());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(capture_payload_bytes()) * state.iterations());
}

Manager& manager() {
    static Manager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    static const bool filled = (mgr.set_many(capture_data()), true);
    (void)filled;
    return mgr;
}

// arg 0: fsync (1 on, 0 off)
void BM_Capture(benchmark::State& state) {
    Dir dir;
    strata::Checkpointer ckpt{manager(), strata::DirectoryCheckpointStore{dir.path, {.fsync = state.range(0) != 0}}};
    Times total;
    std::uint64_t stored = 0;
    for (auto _ : state) {
        strata::CheckpointInfo info;
        const Times t = timed([&] { info = ckpt.create(); });
        total += t;
        state.SetIterationTime(t.wall);
        stored = info.stored_bytes;
        if (info.key_count != capture_keys) state.SkipWithError("wrong key count");
        ckpt.remove(info.id);
    }
    report(state, total);
    state.counters["stored_MB"] = static_cast<double>(stored) / 1e6;
}

// Verify only (the first pass of a rollback).
void BM_Verify(benchmark::State& state) {
    Dir dir;
    strata::Checkpointer ckpt{manager(), strata::DirectoryCheckpointStore{dir.path, {.fsync = false}}};
    const auto info = ckpt.create();
    Times total;
    for (auto _ : state) {
        bool ok = false;
        const Times t = timed([&] { ok = ckpt.verify(info.id); });
        total += t;
        state.SetIterationTime(t.wall);
        if (!ok) state.SkipWithError("verify failed");
    }
    report(state, total);
}

// Rollback after every key was erased: verify, then restore all 100,000.
void BM_RollbackAll(benchmark::State& state) {
    Dir dir;
    auto& mgr = manager();
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path, {.fsync = false}}};
    const auto info = ckpt.create();
    std::vector<std::string> keys;
    for (const auto& [k, v] : capture_data()) keys.push_back(k);
    Times total;
    for (auto _ : state) {
        mgr.erase_many(keys);  // untimed: manual time below
        strata::RollbackReport r;
        const Times t = timed([&] { r = ckpt.rollback(info.id); });
        total += t;
        state.SetIterationTime(t.wall);
        if (r.keys_restored != capture_keys) state.SkipWithError("wrong restore count");
    }
    report(state, total);
}

// Rollback when nothing changed: verify, then compare every record.
void BM_RollbackNothingChanged(benchmark::State& state) {
    Dir dir;
    strata::Checkpointer ckpt{manager(), strata::DirectoryCheckpointStore{dir.path, {.fsync = false}}};
    const auto info = ckpt.create();
    Times total;
    for (auto _ : state) {
        strata::RollbackReport r;
        const Times t = timed([&] { r = ckpt.rollback(info.id); });
        total += t;
        state.SetIterationTime(t.wall);
        if (r.keys_unchanged != capture_keys) state.SkipWithError("wrong unchanged count");
    }
    report(state, total);
}

}  // namespace

BENCHMARK(BM_RawZlibPlusSha256)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RawZlibOnly)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RawSha256Only)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Capture)->Arg(1)->Arg(0)->ArgName("fsync")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Verify)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RollbackAll)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RollbackNothingChanged)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

BENCHMARK_MAIN();
