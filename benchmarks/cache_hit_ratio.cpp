// Hit ratio of each cache policy on two traces, beside the optimal hit ratio
// (Belady's MIN, with bypass) of the same trace computed in the same run:
//   zipf  1,000,000 reads of 100,000 keys, Zipf(0.99)
//   scan  the same Zipf reads with, after every 100,000 of them, a sequential
//         scan of 20,000 keys never read before or after (a batch job)
// Each read is a lookup and, on a miss, an insert (what StateManager::get
// does). Counters: hit_ratio, opt_hit_ratio (Belady), of_opt = hit / opt,
// vs_lru = hit / LruCache's hit on the same trace and capacity.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "strata/cache/lru_cache.hpp"
#include "strata/cache/tiny_lfu_cache.hpp"
#include "strata/cache/ttl_cache.hpp"

namespace {

struct Trace {
    std::string name;
    std::vector<std::string> keys;  // by id
    std::vector<std::uint32_t> reads;
};

constexpr std::size_t universe = 100'000;
constexpr std::size_t zipf_reads = 1'000'000;

std::vector<std::uint32_t> zipf_ids(std::size_t n, std::size_t count, double s, std::uint64_t seed) {
    std::vector<double> cdf(n);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) cdf[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    for (auto& c : cdf) c /= sum;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<std::uint32_t> ids(count);
    for (auto& id : ids)
        id = static_cast<std::uint32_t>(
            std::min<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin(), n - 1));
    return ids;
}

Trace make_zipf() {
    Trace t{"zipf", {}, zipf_ids(universe, zipf_reads, 0.99, 42)};
    for (std::size_t i = 0; i < universe; ++i) t.keys.push_back("user:" + std::to_string(i) + ":state");
    return t;
}

Trace make_scan() {
    constexpr std::size_t every = 100'000;
    constexpr std::size_t scan_length = 20'000;
    Trace zipf = make_zipf();
    Trace t{"scan", zipf.keys, {}};
    for (std::size_t i = 0; i < zipf.reads.size(); ++i) {
        t.reads.push_back(zipf.reads[i]);
        if ((i + 1) % every == 0) {
            for (std::size_t j = 0; j < scan_length; ++j) {
                t.reads.push_back(static_cast<std::uint32_t>(t.keys.size()));
                t.keys.push_back("batch:" + std::to_string(t.keys.size()) + ":row");
            }
        }
    }
    return t;
}

const Trace& trace(int which) {
    static const Trace zipf = make_zipf();
    static const Trace scan = make_scan();
    return which == 0 ? zipf : scan;
}

// Belady's MIN with bypass: on a miss, keep whichever of the cached keys and
// the new one is needed again soonest. No policy can hit more often.
double belady(const Trace& t, std::size_t capacity) {
    constexpr std::size_t never = std::numeric_limits<std::size_t>::max();
    std::vector<std::size_t> next(t.reads.size());
    std::vector<std::size_t> seen(t.keys.size(), never);
    for (std::size_t i = t.reads.size(); i-- > 0;) {
        next[i] = seen[t.reads[i]];
        seen[t.reads[i]] = i;
    }
    std::vector<std::size_t> cached_next(t.keys.size(), 0);  // 0: not cached (next uses are > 0)
    std::set<std::pair<std::size_t, std::uint32_t>> by_next;
    std::size_t hits = 0;
    for (std::size_t i = 0; i < t.reads.size(); ++i) {
        const std::uint32_t id = t.reads[i];
        if (cached_next[id] != 0) {
            ++hits;
            by_next.erase({cached_next[id], id});
        } else if (by_next.size() >= capacity) {
            auto farthest = std::prev(by_next.end());
            if (capacity == 0 || farthest->first <= next[i]) continue;  // bypass
            cached_next[farthest->second] = 0;
            by_next.erase(farthest);
        }
        cached_next[id] = next[i];
        by_next.insert({next[i], id});
    }
    return static_cast<double>(hits) / static_cast<double>(t.reads.size());
}

template <class Cache>
Cache make_cache(std::size_t capacity) {
    if constexpr (std::is_same_v<Cache, strata::TtlCache>)
        return Cache(capacity, std::chrono::hours(1));
    else
        return Cache(capacity);
}

template <class Cache>
double replay(const Trace& t, std::size_t capacity) {
    Cache cache = make_cache<Cache>(capacity);
    const std::string value(100, 'v');
    std::size_t hits = 0;
    for (std::uint32_t id : t.reads) {
        const std::string& key = t.keys[id];
        if (cache.lookup(key))
            ++hits;
        else
            cache.insert(key, value, std::nullopt);
    }
    return static_cast<double>(hits) / static_cast<double>(t.reads.size());
}

// Results by (trace, capacity, policy), so vs_lru and opt_hit_ratio are
// computed once per run whatever the benchmark filter.
double memo(int which, std::size_t capacity, const std::string& policy, double (*compute)(const Trace&, std::size_t)) {
    static std::map<std::tuple<int, std::size_t, std::string>, double> results;
    const auto key = std::make_tuple(which, capacity, policy);
    auto it = results.find(key);
    if (it == results.end()) it = results.emplace(key, compute(trace(which), capacity)).first;
    return it->second;
}

void report(benchmark::State& state, int which, std::size_t capacity, double hit) {
    const double opt = memo(which, capacity, "belady", &belady);
    const double lru = memo(which, capacity, "lru", &replay<strata::LruCache>);
    state.counters["hit_ratio"] = hit;
    state.counters["opt_hit_ratio"] = opt;
    state.counters["of_opt"] = hit / opt;
    state.counters["vs_lru"] = hit / lru;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * trace(which).reads.size()));
}

template <class Cache>
void policy_benchmark(benchmark::State& state, int which, std::size_t capacity) {
    double hit = 0;
    for (auto _ : state) benchmark::DoNotOptimize(hit = replay<Cache>(trace(which), capacity));
    report(state, which, capacity, hit);
}

void belady_benchmark(benchmark::State& state, int which, std::size_t capacity) {
    double hit = 0;
    for (auto _ : state) benchmark::DoNotOptimize(hit = belady(trace(which), capacity));
    report(state, which, capacity, hit);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    for (int which : {0, 1}) {
        for (std::size_t capacity : {1'000u, 10'000u}) {
            const std::string suffix = "/" + std::string(which == 0 ? "zipf" : "scan") + "/" + std::to_string(capacity);
            auto add = [&](const std::string& name, auto fn) {
                benchmark::RegisterBenchmark((name + suffix).c_str(), fn, which, capacity)
                    ->Iterations(1)
                    ->Unit(benchmark::kMillisecond);
            };
            add("Belady", belady_benchmark);
            add("LruCache", policy_benchmark<strata::LruCache>);
            add("TtlCache", policy_benchmark<strata::TtlCache>);
            add("TinyLfuCache", policy_benchmark<strata::TinyLfuCache>);
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
