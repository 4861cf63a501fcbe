// Built against the installed package: instantiates the manager and every
// backend and named-stack header the package was asked for.
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <strata/strata.hpp>
#ifdef STRATA_CONSUMER_HAS_REDIS
#include <strata/tiers/redis.hpp>
static_assert(strata::Tier<strata::RedisTier>);
#endif
#ifdef STRATA_CONSUMER_HAS_POSTGRES
#include <strata/tiers/postgres.hpp>
static_assert(strata::Tier<strata::PostgresTier>);
#endif
#ifdef STRATA_CONSUMER_HAS_S3
#include <strata/tiers/s3.hpp>
static_assert(strata::Tier<strata::S3Tier>);
#endif
#ifdef STRATA_CONSUMER_HAS_REDIS_POSTGRES
#include <strata/tiers/stacks/redis_postgres.hpp>
static_assert(strata::RedisPostgresManager::tier_count == 2);
#endif
#ifdef STRATA_CONSUMER_HAS_REDIS_POSTGRES_S3
#include <strata/tiers/stacks/redis_postgres_s3.hpp>
static_assert(strata::RedisPostgresS3Manager::tier_count == 3);
#endif
#ifdef STRATA_CONSUMER_HAS_JSON
#include <strata/json.hpp>
#endif
#ifdef STRATA_CONSUMER_HAS_PROMETHEUS
#include <strata/prometheus.hpp>
#endif

int main() {
    const auto dir = std::filesystem::temp_directory_path() / "strata-consumer";
    strata::StateManager mgr{strata::LruCache{16}, strata::NeverPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir}};
    mgr.set("consumer", "works");
    const auto value = mgr.get("consumer");
#ifdef STRATA_CONSUMER_HAS_JSON
    strata::set_json(mgr, "consumer:json", std::vector<int>{1, 2, 3});
    if (strata::get_json<std::vector<int>>(mgr, "consumer:json") != std::vector<int>{1, 2, 3}) return 1;
#endif
#ifdef STRATA_CONSUMER_HAS_PROMETHEUS
    if (strata::make_prometheus_collectable(mgr)->Collect().empty()) return 1;
#endif
    std::ostringstream metrics;
    strata::write_prometheus(metrics, mgr);
    if (metrics.str().find("strata_cache_hits_total") == std::string::npos) return 1;
    mgr.erase("consumer");
    std::filesystem::remove_all(dir);
    if (value != "works") return 1;
    std::puts("consumer: strata works from the installed package");
    return 0;
}
