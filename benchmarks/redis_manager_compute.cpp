// A polling loop over a computed summary, the second seed system's case: 10
// threads each read the summary every millisecond. With get_or_compute and
// a 5 s TTL the summary is computed once per TTL period; the baseline loop
// computes it on every read, as code without a computing cache does. Both
// run in the same process, over the same Redis + PostgreSQL stack and data,
// for the same wall time.
//
// The summary: the sum of 1,000 positions read with get_many (from Redis,
// after the first pass: the LruCache is smaller than the positions).
//
// Counters: fn_calls (computations of the summary), reads (summary reads
// done), read_us (mean time of one summary read), and on the cached run
// fn_calls_per_period (computations per TTL period; 1 is the criterion) and
// read_speedup (baseline read_us / cached read_us, from the baseline run
// made first).
//
// Runs against servers it starts (scripts/redis-server.sh,
// scripts/postgres-server.sh) or $STRATA_REDIS_PORT / $STRATA_PG_CONNINFO.

#include <benchmark/benchmark.h>

#include <algorithm>  // max
#include <atomic>
#include <chrono>
#include <cmath>  // ceil
#include <cstddef>  // size_t
#include <cstdint>  // int64_t
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "stack_servers.hpp"
#include "strata/tiers/stacks/redis_postgres.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int threads = 10;
constexpr std::size_t positions = 1'000;
constexpr auto ttl = 5s;
constexpr auto run_for = 11s;  // three TTL periods begin: computations at 0, 5 and 10 s

double baseline_read_us = 0;

auto make_manager() {
    return strata::make_redis_postgres_manager(strata::bench::redis_options("compute"),
                                               strata::bench::postgres_options("compute"), {.cache_capacity = 100});
}

std::vector<std::string> position_keys() {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < positions; ++i) keys.push_back("position:" + std::to_string(i));
    return keys;
}

// Runs the loop: every thread reads the summary through `read` once per
// millisecond until `run_for` has passed; returns reads done and their mean time.
template <class Read>
std::pair<std::size_t, double> poll(Read read) {
    std::atomic<std::size_t> reads{0};
    std::atomic<std::int64_t> read_ns{0};
    std::vector<std::thread> pool;
    const auto until = SteadyClock::now() + run_for;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            // A read that overruns its millisecond is followed by the next at
            // once, with no catching up on the ones missed.
            for (auto next = SteadyClock::now(); next < until;) {
                const auto start = SteadyClock::now();
                benchmark::DoNotOptimize(read());
                const auto end = SteadyClock::now();
                read_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
                ++reads;
                next = std::max(next + 1ms, end);
                std::this_thread::sleep_until(next);
            }
        });
    for (auto& th : pool) th.join();
    return {reads.load(), static_cast<double>(read_ns.load()) / 1e3 / static_cast<double>(reads.load())};
}

void PollSummary(benchmark::State& state) {
    const bool cached = state.range(0) == 1;
    auto mgr = make_manager();
    const auto keys = position_keys();
    std::vector<std::pair<std::string, std::string>> seed;
    for (const auto& k : keys) seed.emplace_back(k, "100");
    mgr.set_many(seed);
    mgr.erase("summary");
    std::atomic<std::size_t> fn_calls{0};
    auto summary = [&] {
        ++fn_calls;
        long total = 0;
        for (const auto& v : mgr.get_many(keys))
            if (v) total += std::stol(*v);
        return std::to_string(total);
    };
    for (auto _ : state) {
        const auto start = SteadyClock::now();
        const auto [reads, read_us] =
            cached ? poll([&] { return mgr.get_or_compute("summary", summary, strata::SetOptions{.ttl = ttl}); })
                   : poll(summary);
        state.SetIterationTime(std::chrono::duration<double>(SteadyClock::now() - start).count());
        state.counters["fn_calls"] = static_cast<double>(fn_calls.load());
        state.counters["reads"] = static_cast<double>(reads);
        state.counters["read_us"] = read_us;
        if (cached) {
            state.counters["fn_calls_per_period"] =
                static_cast<double>(fn_calls.load()) /
                std::ceil(std::chrono::duration<double>(run_for) / std::chrono::duration<double>(ttl));
            if (baseline_read_us > 0) state.counters["read_speedup"] = baseline_read_us / read_us;
        } else {
            baseline_read_us = read_us;
        }
    }
    state.SetLabel(cached ? "get_or_compute, ttl 5 s" : "recompute on every read");
}

// The baseline first, so the cached run can report the speed-up.
BENCHMARK(PollSummary)->Arg(0)->Arg(1)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) { return strata::bench::run_over_servers(argc, argv); }
