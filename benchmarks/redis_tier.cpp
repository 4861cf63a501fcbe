// RedisTier beside raw hiredis doing the same work, in the same run, and the
// seed table (per-key waterfall, get_many, direct tier access) through a
// StateManager over Redis + FileTier.
//
// Each benchmark interleaves the library path and the raw path in every
// iteration, so both see the same server, cache and noise; the counters give
// each path's mean time per batch and the ratio. Reported time = the
// library path.
//
// Runs against a redis-server it starts with scripts/redis-server.sh (or the
// one on $STRATA_REDIS_PORT).

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "strata/strata.hpp"
#include "strata/tiers/redis.hpp"
#include "redis_server.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t value_size = 256;  // a typical state record, below the compression threshold

// Started in main, before any benchmark, and stopped after the last.
std::optional<strata::bench::RedisServer> server;

strata::RedisOptions options(std::string prefix) {
    strata::RedisOptions o;
    o.port = server->port();
    o.key_prefix = std::move(prefix);
    return o;
}

// A raw hiredis connection: what a user without strata would write.
struct Raw {
    redisContext* c;
    Raw() : c(redisConnect("127.0.0.1", server->port())) {
        if (!c || c->err) throw std::runtime_error("raw hiredis connect failed");
    }
    ~Raw() { redisFree(c); }

    std::vector<std::optional<std::string>> pipelined_get(const std::vector<std::string>& keys) {
        for (const auto& k : keys) {
            const char* argv[] = {"GET", k.data()};
            const size_t len[] = {3, k.size()};
            redisAppendCommandArgv(c, 2, argv, len);
        }
        std::vector<std::optional<std::string>> out(keys.size());
        for (auto& v : out) {
            void* r = nullptr;
            if (redisGetReply(c, &r) != REDIS_OK) throw std::runtime_error("raw GET failed");
            auto* reply = static_cast<redisReply*>(r);
            if (reply->type == REDIS_REPLY_STRING) v.emplace(reply->str, reply->len);
            freeReplyObject(reply);
        }
        return out;
    }

    std::vector<std::optional<std::string>> mget(const std::vector<std::string>& keys) {
        std::vector<const char*> argv{"MGET"};
        std::vector<size_t> len{4};
        for (const auto& k : keys) {
            argv.push_back(k.data());
            len.push_back(k.size());
        }
        auto* reply =
            static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), len.data()));
        if (!reply) throw std::runtime_error("raw MGET failed");
        std::vector<std::optional<std::string>> out(keys.size());
        for (std::size_t i = 0; i < reply->elements && i < out.size(); ++i)
            if (reply->element[i]->type == REDIS_REPLY_STRING)
                out[i].emplace(reply->element[i]->str, reply->element[i]->len);
        freeReplyObject(reply);
        return out;
    }

    void pipelined_set(const std::vector<std::string>& keys, const std::vector<std::string>& values) {
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const char* argv[] = {"SET", keys[i].data(), values[i].data()};
            const size_t len[] = {3, keys[i].size(), values[i].size()};
            redisAppendCommandArgv(c, 3, argv, len);
        }
        for (std::size_t i = 0; i < keys.size(); ++i) {
            void* r = nullptr;
            if (redisGetReply(c, &r) != REDIS_OK) throw std::runtime_error("raw SET failed");
            freeReplyObject(r);
        }
    }

    void mset(const std::vector<std::string>& keys, const std::vector<std::string>& values) {
        std::vector<const char*> argv{"MSET"};
        std::vector<size_t> len{4};
        for (std::size_t i = 0; i < keys.size(); ++i) {
            argv.insert(argv.end(), {keys[i].data(), values[i].data()});
            len.insert(len.end(), {keys[i].size(), values[i].size()});
        }
        auto* reply = redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), len.data());
        if (!reply) throw std::runtime_error("raw MSET failed");
        freeReplyObject(reply);
    }
};

std::vector<std::string> make_keys(std::size_t n, const std::string& prefix = "") {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < n; ++i) keys.push_back(prefix + "key:" + std::to_string(i));
    return keys;
}

std::vector<strata::Entry> make_entries(const std::vector<std::string>& keys) {
    std::vector<strata::Entry> entries;
    for (std::size_t i = 0; i < keys.size(); ++i)
        entries.push_back(
            {keys[i], strata::make_record(std::string(value_size, static_cast<char>('a' + i % 26)), i + 1)});
    return entries;
}

// Times f once, in microseconds.
template <class F>
double time_us(F&& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// Sets mean-per-iteration counters (microseconds) and ratios to the first.
void report(benchmark::State& state, const std::vector<std::pair<const char*, double>>& totals) {
    const double n = static_cast<double>(state.iterations());
    for (const auto& [name, total] : totals) state.counters[std::string(name) + "_us"] = total / n;
    for (std::size_t i = 1; i < totals.size(); ++i)
        state.counters[std::string("ratio_vs_") + totals[i].first] = totals[0].second / totals[i].second;
}

void FetchMany(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prefix = "bench:fetch:";
    strata::RedisTier tier(options(prefix));
    const auto keys = make_keys(n);
    tier.store_many(make_entries(keys));
    const auto full = make_keys(n, prefix);  // the same Redis keys, for the raw client
    Raw raw;
    double lib = 0, get = 0, mget = 0;
    for (auto _ : state) {
        get += time_us([&] { benchmark::DoNotOptimize(raw.pipelined_get(full)); });
        mget += time_us([&] { benchmark::DoNotOptimize(raw.mget(full)); });
        const double t = time_us([&] { benchmark::DoNotOptimize(tier.fetch_many(keys)); });
        lib += t;
        state.SetIterationTime(t / 1e6);
    }
    report(state, {{"strata", lib}, {"raw_get_pipeline", get}, {"raw_mget", mget}});
    tier.erase_many(keys);
}

void StoreMany(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prefix = "bench:store:";
    strata::RedisTier tier(options(prefix));
    const auto keys = make_keys(n);
    const auto entries = make_entries(keys);
    const auto full = make_keys(n, prefix);
    std::vector<std::string> blobs;  // what strata writes, so both send the same bytes
    for (const auto& e : entries) blobs.push_back(strata::envelope::encode(e.record));
    Raw raw;
    double lib = 0, set = 0, mset = 0;
    for (auto _ : state) {
        set += time_us([&] { raw.pipelined_set(full, blobs); });
        mset += time_us([&] { raw.mset(full, blobs); });
        const double t = time_us([&] { tier.store_many(entries); });
        lib += t;
        state.SetIterationTime(t / 1e6);
    }
    report(state, {{"strata", lib}, {"raw_set_pipeline", set}, {"raw_mset", mset}});
    tier.erase_many(keys);
}

// The seed table: reading N keys through the manager one key at a time (a
// naive per-key waterfall), through get_many, and directly from the tier.
// NoCache, so every read goes to Redis.
void SeedTable(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::string tmpl = (fs::temp_directory_path() / "strata-bench-file-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    const fs::path dir = tmpl;
    {
        strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{},
                                 strata::RedisTier{options("bench:seed:" + std::to_string(n) + ":")},
                                 strata::FileTier{dir}};
        const auto keys = make_keys(n);
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& k : keys) pairs.emplace_back(k, std::string(value_size, 'v'));
        mgr.set_many(pairs);  // both tiers, as in production
        double waterfall = 0, get_many = 0, direct = 0, verified = 0;
        for (auto _ : state) {
            waterfall += time_us([&] {
                for (const auto& k : keys) benchmark::DoNotOptimize(mgr.get(k));
            });
            direct += time_us([&] { benchmark::DoNotOptimize(mgr.tier<0>().fetch_many(keys)); });
            // Direct access plus the SHA-256 check every manager read does:
            // what is left of get_many's cost beyond this is the manager's own.
            verified += time_us([&] {
                for (const auto& r : mgr.tier<0>().fetch_many(keys)) benchmark::DoNotOptimize(r && r->intact());
            });
            const double t = time_us([&] { benchmark::DoNotOptimize(mgr.get_many(keys)); });
            get_many += t;
            state.SetIterationTime(t / 1e6);
        }
        report(state, {{"get_many", get_many},
                       {"direct_fetch_many", direct},
                       {"direct_verified", verified},
                       {"per_key_waterfall", waterfall}});
        mgr.erase_many(keys);
    }
    fs::remove_all(dir);
}

BENCHMARK(FetchMany)->Arg(100)->Arg(1000)->Arg(10000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(StoreMany)->Arg(100)->Arg(1000)->Arg(10000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(SeedTable)->Arg(100)->Arg(500)->Arg(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    server.emplace();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    server.reset();
    return 0;
}
