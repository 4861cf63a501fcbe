// strata::Batcher over Redis + PostgreSQL (issue #16 item 5): 10,000 updates
// from 8 threads through a Batcher ({.max_items = 1000, .max_delay = 5ms}),
// beside the same updates as 10,000 set calls and as one set_many, in every
// iteration, so all three see the same servers and noise. Reported time =
// the Batcher's; the counters give each path's mean and the two ratios the
// issue sets as criteria: batcher / set_many (at most 1.5) and set loop /
// batcher (at least 10).
//
// Runs against a redis-server from scripts/redis-server.sh (or the one on
// $STRATA_REDIS_PORT) and two PostgreSQL clusters from
// scripts/postgres-server.sh (or $STRATA_PG_CONNINFO for both): /0 with
// durability off, as the tests run it, /1 with PostgreSQL's defaults (every
// commit flushed to disk), as production runs it.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>  // size_t
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // pair
#include <vector>

#include "stack_servers.hpp"
#include "strata/manager/batcher.hpp"
#include "strata/tiers/stacks/redis_postgres.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t updates = 10'000;
constexpr std::size_t threads = 8;
constexpr std::size_t value_size = 256;  // a typical state record

template <class F>
double time_ms(F&& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The updates of one round: every key, a value that differs per round.
std::vector<std::pair<std::string, std::string>> round_updates(std::size_t round) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(updates);
    const std::string tag = std::to_string(round) + ":";
    for (std::size_t i = 0; i < updates; ++i) {
        std::string value = tag;
        value.resize(value_size, static_cast<char>('a' + i % 26));
        out.emplace_back("job:" + std::to_string(i), std::move(value));
    }
    return out;
}

void BatcherVsSetLoopVsSetMany(benchmark::State& state) {
    const bool durable = state.range(0) == 1;
    auto mgr = strata::make_redis_postgres_manager(
        strata::bench::redis_options("batcher"),
        strata::bench::postgres_options("batcher", *(durable ? strata::bench::durable_postgres : strata::bench::postgres)));

    double batcher = 0, set_loop = 0, set_many = 0;
    std::size_t round = 0;
    for (auto _ : state) {
        const auto batch_updates = round_updates(++round);
        const double t = time_ms([&] {
            strata::Batcher batch{mgr, {.max_items = 1000, .max_delay = 5ms}};
            std::vector<std::vector<std::future<void>>> done(threads);
            std::vector<std::thread> producers;
            for (std::size_t p = 0; p < threads; ++p) {
                producers.emplace_back([&, p] {
                    for (std::size_t i = p; i < updates; i += threads)
                        done[p].push_back(batch.set(batch_updates[i].first, batch_updates[i].second));
                });
            }
            for (auto& producer : producers) producer.join();
            batch.flush();
            for (auto& per_thread : done)
                for (auto& f : per_thread) f.get();  // every update acknowledged, or the run fails
        });
        batcher += t;
        state.SetIterationTime(t / 1e3);

        const auto loop_updates = round_updates(++round);
        set_loop += time_ms([&] {
            for (const auto& [key, value] : loop_updates) mgr.set(key, value);
        });

        const auto many_updates = round_updates(++round);
        set_many += time_ms([&] { mgr.set_many(many_updates); });
    }
    const double n = static_cast<double>(state.iterations());
    state.counters["batcher_ms"] = batcher / n;
    state.counters["set_loop_ms"] = set_loop / n;
    state.counters["set_many_ms"] = set_many / n;
    state.counters["batcher/set_many"] = batcher / set_many;
    state.counters["set_loop/batcher"] = set_loop / batcher;

    std::vector<std::string> keys;
    for (const auto& [key, value] : round_updates(0)) keys.push_back(key);
    mgr.erase_many(keys);
    state.SetLabel(durable ? "PostgreSQL durable (fsync, synchronous_commit on)" : "PostgreSQL durability off");
}

BENCHMARK(BatcherVsSetLoopVsSetMany)->Arg(0)->Arg(1)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) { return strata::bench::run_over_servers(argc, argv, true); }
