// What strata::Instrumented costs (issue #15): a manager over
// Instrumented<RedisTier> + Instrumented<PostgresTier> beside the same stack
// uninstrumented, in the same run, for
//   CachedGet      1,000 gets answered by the LruCache,
//   GetMany        get_many(1,000) answered by Redis (NoCache),
//   SetMany        set_many(1,000) written to Redis and PostgreSQL (NoCache).
// Each iteration times the instrumented and the plain manager once, in
// alternating order (bench::side_by_side), so drift on the shared machine
// hits both alike. Counters: lib_ms (instrumented), raw_ms (plain), ratio
// (instrumented / plain, total times), median_ratio (the median of each
// iteration's instrumented / plain: one slow PostgreSQL commit or a
// neighbour's burst on the shared machine moves the total, not the median),
// and counted_calls: the calls the instrumented tiers counted during the
// benchmark, to show what was measured (zero for cached gets: a cache hit
// reaches no tier).
// Criteria: median_ratio <= 1.05 for GetMany and SetMany, <= 1.10 for CachedGet.
// WrappedCall gives the cost itself, free of the servers' noise: 1,000
// fetch_many calls of one absent key on an Instrumented<MemoryTier> beside a
// bare MemoryTier; overhead_ns is the difference per call.
//
// Each variant has its own Redis key prefix and PostgreSQL table on the same
// servers: ones it starts (scripts/redis-server.sh, scripts/postgres-server.sh)
// or $STRATA_REDIS_PORT / $STRATA_PG_CONNINFO.

#include <benchmark/benchmark.h>

#include <algorithm>  // nth_element
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>  // is_same_v
#include <utility>      // pair
#include <vector>

#include "bench_common.hpp"
#include "stack_servers.hpp"
#include "strata/cache/lru_cache.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/manager/state_manager.hpp"
#include "strata/metrics/instrumented.hpp"
#include "strata/promotion/never_promote.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/memory.hpp"
#include "strata/tiers/redis.hpp"

namespace {

using strata::Instrumented;
using strata::TierOperation;

constexpr std::size_t batch = 1'000;
constexpr std::size_t value_size = 256;  // a typical state record, below the compression threshold
constexpr int warm_up_calls = 5;         // untimed, per variant: connections, plans, pages

strata::RedisTier redis_tier(const std::string& variant) {
    return strata::RedisTier{strata::bench::redis_options("instrumented_" + variant)};
}

strata::PostgresTier postgres_tier(const std::string& variant) {
    return strata::PostgresTier{strata::bench::postgres_options("instrumented_" + variant)};
}

// The same Redis + PostgreSQL stack twice, plain and instrumented.
template <class Cache>
struct Stacks {
    static Cache cache() {
        if constexpr (std::is_same_v<Cache, strata::LruCache>)
            return strata::LruCache{4 * batch};
        else
            return Cache{};
    }

    strata::StateManager<Cache, strata::NeverPromote, strata::RedisTier, strata::PostgresTier> plain{
        cache(), strata::NeverPromote{}, redis_tier("plain"), postgres_tier("plain")};
    strata::StateManager<Cache, strata::NeverPromote, Instrumented<strata::RedisTier>,
                         Instrumented<strata::PostgresTier>>
        instrumented{cache(), strata::NeverPromote{}, Instrumented{redis_tier("instrumented")},
                     Instrumented{postgres_tier("instrumented")}};

    // Every call both instrumented tiers counted so far.
    std::uint64_t counted_calls() {
        std::uint64_t n = 0;
        for (const auto& f : {instrumented.template tier<0>().figures(), instrumented.template tier<1>().figures()})
            for (const auto& o : f.operations) n += o.calls;
        return n;
    }

    template <class Each>
    void on_both(Each&& each) {
        each(plain);
        each(instrumented);
    }
};

std::vector<std::pair<std::string, std::string>> state_pairs() {
    std::mt19937_64 rng(11);
    return strata::bench::state_pairs(rng, 0, batch, value_size);
}

std::vector<std::string> keys_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : pairs) keys.push_back(k);
    return keys;
}

// Times each call of `op` into `seconds`, so the instrumented and the plain
// call of one side_by_side iteration can be paired.
template <class Op>
auto recorded(std::vector<double>& seconds, Op op) {
    return [&seconds, op] {
        const auto start = std::chrono::steady_clock::now();
        op();
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
}

// Interleaved runs of the instrumented and the plain call, with ratio and
// median_ratio (see the top of the file) and counted_calls.
template <class Cache, class Call>
void compare(benchmark::State& state, Stacks<Cache>& stacks, Call call) {
    const auto counted_before = stacks.counted_calls();
    std::vector<double> instrumented, plain;
    strata::bench::side_by_side(state, recorded(instrumented, call(stacks.instrumented)),
                                recorded(plain, call(stacks.plain)));
    std::vector<double> ratios;
    for (std::size_t i = 0; i < instrumented.size(); ++i) ratios.push_back(instrumented[i] / plain[i]);
    std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
    state.counters["median_ratio"] = ratios[ratios.size() / 2];
    state.counters["counted_calls"] = static_cast<double>(stacks.counted_calls() - counted_before);
}

template <class Manager>
void expect_all_found(Manager& mgr, const std::vector<std::string>& keys) {
    for (const auto& v : mgr.get_many(keys))
        if (!v) throw std::runtime_error("a key written before the benchmark is missing");
}

void CachedGet(benchmark::State& state) {
    Stacks<strata::LruCache> stacks;
    const auto pairs = state_pairs();
    const auto keys = keys_of(pairs);
    stacks.on_both([&](auto& mgr) {
        mgr.set_many(pairs);
        expect_all_found(mgr, keys);  // now cached
    });
    compare(state, stacks, [&](auto& mgr) {
        return [&] {
            for (const auto& k : keys) benchmark::DoNotOptimize(mgr.get(k));
        };
    });
    stacks.on_both([&](auto& mgr) { mgr.erase_many(keys); });
}

void GetMany(benchmark::State& state) {
    Stacks<strata::NoCache> stacks;
    const auto pairs = state_pairs();
    const auto keys = keys_of(pairs);
    stacks.on_both([&](auto& mgr) {
        mgr.set_many(pairs);
        for (int i = 0; i < warm_up_calls; ++i) expect_all_found(mgr, keys);
    });
    compare(state, stacks, [&](auto& mgr) {
        return [&] { benchmark::DoNotOptimize(mgr.get_many(keys)); };
    });
    stacks.on_both([&](auto& mgr) { mgr.erase_many(keys); });
}

void SetMany(benchmark::State& state) {
    Stacks<strata::NoCache> stacks;
    const auto pairs = state_pairs();
    stacks.on_both([&](auto& mgr) {
        for (int i = 0; i < warm_up_calls; ++i) mgr.set_many(pairs);
    });
    compare(state, stacks, [&](auto& mgr) {
        return [&] { mgr.set_many(pairs); };
    });
    stacks.on_both([&](auto& mgr) { mgr.erase_many(keys_of(pairs)); });
}

void WrappedCall(benchmark::State& state) {
    constexpr int calls = 1'000;
    strata::MemoryTier bare;
    Instrumented<strata::MemoryTier> instrumented{strata::MemoryTier{}};
    const std::vector<std::string> absent{"absent"};
    auto fetches = [&](auto& tier) {
        return [&] {
            for (int i = 0; i < calls; ++i) benchmark::DoNotOptimize(tier.fetch_many(absent));
        };
    };
    strata::bench::side_by_side(state, fetches(instrumented), fetches(bare));
    state.counters["overhead_ns"] = (state.counters["lib_ms"] - state.counters["raw_ms"]) * 1e6 / calls;
}

BENCHMARK(WrappedCall)->Iterations(2'000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(CachedGet)->Iterations(3'000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(GetMany)->Iterations(1'500)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(SetMany)->Iterations(400)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) { return strata::bench::run_over_servers(argc, argv); }
