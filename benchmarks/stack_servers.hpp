#pragma once
// What the manager benchmarks over Redis + PostgreSQL share: the servers,
// made before the first benchmark and stopped after the last, and tier
// options naming a key prefix and a table of the benchmark's own, so two
// variants in one run never see each other's data.

#include <benchmark/benchmark.h>

#include <optional>
#include <string>

#include "postgres_server.hpp"
#include "redis_server.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"

namespace strata::bench {

inline std::optional<RedisServer> redis;
inline std::optional<PostgresServer> postgres;
inline std::optional<PostgresServer> durable_postgres;  // only with run_over_servers(..., true)

// `name`: [a-z0-9_]+, used in the Redis key prefix and the PostgreSQL table name.
inline RedisOptions redis_options(const std::string& name) {
    RedisOptions o;
    o.port = redis->port();
    o.key_prefix = "bench:" + name + ":";
    return o;
}

inline PostgresOptions postgres_options(const std::string& name, const PostgresServer& server = *postgres) {
    PostgresOptions o;
    o.conninfo = server.conninfo();
    o.table = "bench_" + name;
    return o;
}

// main() of such a benchmark: the servers up (with `with_durable_postgres`,
// a second PostgreSQL that flushes every commit), every benchmark run, the
// servers stopped.
inline int run_over_servers(int argc, char** argv, bool with_durable_postgres = false) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    redis.emplace();
    postgres.emplace();
    if (with_durable_postgres) durable_postgres.emplace(true);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    durable_postgres.reset();
    postgres.reset();
    redis.reset();
    return 0;
}

}  // namespace strata::bench
