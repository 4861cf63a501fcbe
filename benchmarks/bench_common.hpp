#pragma once
// Helpers the benchmarks share: the checkpoint and backup data (keys
// "state:<n>", values of random characters from a 64-letter alphabet, which
// compress to about 3/4 like encoded state), wall plus thread CPU timing,
// throughput beside a raw baseline, and a library call timed side by side
// with its raw equivalent.

#include <benchmark/benchmark.h>
#include <time.h>  // clock_gettime

#include <algorithm>  // min
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <random>
#include <string>
#include <utility>  // move, pair
#include <vector>

namespace strata::bench {

using Pairs = std::vector<std::pair<std::string, std::string>>;

inline std::string state_key(std::size_t n) { return "state:" + std::to_string(n); }

inline std::string state_value(std::mt19937_64& rng, std::size_t size) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string v(size, '\0');
    for (auto& c : v) c = alphabet[rng() % 64];
    return v;
}

// Keys state:<first> to state:<first + count - 1>, values from `rng`.
inline Pairs state_pairs(std::mt19937_64& rng, std::size_t first, std::size_t count, std::size_t value_size) {
    Pairs out;
    out.reserve(count);
    for (std::size_t i = first; i < first + count; ++i) out.emplace_back(state_key(i), state_value(rng, value_size));
    return out;
}

// Keys + values: the bytes a capture reads.
inline std::uint64_t payload_bytes(const Pairs& pairs) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : pairs) n += k.size() + v.size();
    return n;
}

// The 100,000 keys x 512 B that the checkpoint and backup benchmarks capture,
// made once per process, and their payload bytes.
inline constexpr std::size_t capture_keys = 100'000;
inline constexpr std::size_t capture_value_size = 512;

inline const Pairs& capture_data() {
    static const auto kv = [] {
        std::mt19937_64 rng(7);
        return state_pairs(rng, 0, capture_keys, capture_value_size);
    }();
    return kv;
}

inline std::uint64_t capture_payload_bytes() {
    static const std::uint64_t n = payload_bytes(capture_data());
    return n;
}

// Wall and CPU time of the calling thread (the work runs on it): on a
// shared, loaded machine the CPU figures are the steadier ones.
struct Times {
    double wall = 0, cpu = 0;
    Times& operator+=(const Times& o) {
        wall += o.wall;
        cpu += o.cpu;
        return *this;
    }
};

inline double thread_cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

template <class F>
Times timed(F&& f) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_now();
    f();
    return {std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count(), thread_cpu_now() - c0};
}

// The best wall and the best CPU time of `runs` runs of f, which returns Times.
template <class F>
Times best_of(int runs, F&& f) {
    Times best{1e9, 1e9};
    for (int i = 0; i < runs; ++i) {
        const Times t = f();
        best.wall = std::min(best.wall, t.wall);
        best.cpu = std::min(best.cpu, t.cpu);
    }
    return best;
}

// Throughput of `total` (every iteration over `bytes`) beside one raw run
// over the same bytes; vs_raw = library MB/s / raw MB/s (wall, and CPU).
inline void report_vs_raw(benchmark::State& state, std::uint64_t bytes, const Times& total, const Times& raw) {
    const double mb = static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e6;
    const double raw_mb = static_cast<double>(bytes) / 1e6;
    state.counters["MB_per_s"] = mb / total.wall;
    state.counters["MB_per_cpu_s"] = mb / total.cpu;
    state.counters["raw_MB_per_s"] = raw_mb / raw.wall;
    state.counters["raw_MB_per_cpu_s"] = raw_mb / raw.cpu;
    state.counters["vs_raw"] = (mb / total.wall) / (raw_mb / raw.wall);
    state.counters["vs_raw_cpu"] = (mb / total.cpu) / (raw_mb / raw.cpu);
}

// Times lib() and raw() once per iteration each, in alternating order, so
// drift on a shared machine hits both alike; reset() runs untimed before
// each. Iteration time is lib's; ratio = lib time / raw time.
template <class Lib, class Raw, class Reset>
void side_by_side(benchmark::State& state, Lib&& lib, Raw&& raw, Reset&& reset) {
    double lib_s = 0, raw_s = 0;
    bool lib_first = true;
    auto time = [&](auto& op) {
        reset();
        const auto t0 = std::chrono::steady_clock::now();
        op();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    for (auto _ : state) {
        double l = 0, r = 0;
        if (lib_first) {
            l = time(lib);
            r = time(raw);
        } else {
            r = time(raw);
            l = time(lib);
        }
        lib_first = !lib_first;
        lib_s += l;
        raw_s += r;
        state.SetIterationTime(l);
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["lib_ms"] = 1e3 * lib_s / n;
    state.counters["raw_ms"] = 1e3 * raw_s / n;
    state.counters["ratio"] = lib_s / raw_s;
}

template <class Lib, class Raw>
void side_by_side(benchmark::State& state, Lib&& lib, Raw&& raw) {
    side_by_side(state, lib, raw, [] {});
}

}  // namespace strata::bench
