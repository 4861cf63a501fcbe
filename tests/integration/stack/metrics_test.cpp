// Metrics of a real stack: a manager over Instrumented<RedisTier> +
// Instrumented<PostgresTier> + Instrumented<S3Tier>, with a Checkpointer, a
// BackupManager and a RecoveryOrchestrator, after a workload with errors in
// it: the S3 tier's bucket does not exist (with the S3 suite's server where
// the fixture gives this binary one, STRATA_S3_STATE; otherwise its endpoint
// is a port nobody listens on), and Redis, a server of this test's own, is
// paused with SIGSTOP for a bounded time. Every exposition must pass
// `promtool check metrics`; the operation counts must match the workload and
// the error counters must name the failing tier and operation.
#include <gtest/gtest.h>

#include <signal.h>  // SIGSTOP
#include <stdio.h>   // popen, pclose

#include <chrono>
#include <cstdio>
#include <cstdlib>  // getenv
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>  // pair
#include <vector>

#include "common/failure.hpp"
#include "common/recovery_support.hpp"
#include "common/temp_dir.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/backup/backup_manager.hpp"
#include "strata/backup/directory_store.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/metrics.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"
#ifdef STRATA_STACK_S3
#include "integration/s3/support.hpp"
#include "strata/tiers/s3.hpp"
#endif

namespace {

using namespace std::chrono_literals;
namespace rt = strata_test::redis;
using strata::Instrumented;
using strata::testing::TempDir;

#ifdef STRATA_STACK_S3
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Instrumented<strata::RedisTier>,
                                     Instrumented<strata::PostgresTier>, Instrumented<strata::S3Tier>>;

// A bucket nobody made, on the S3 suite's server when there is one, or an
// endpoint nobody listens on: every call fails.
strata::S3Options failing_s3() {
    strata::S3Options o;
    if (const char* state = std::getenv("STRATA_S3_STATE"); state && *state) {
        o = strata_test::s3::options();
        o.bucket = "strata-no-such-bucket";
    } else {
        o.endpoint = "http://127.0.0.1:1";
        o.access_key = o.secret_key = "S3RVER";
    }
    o.timeout = 2000ms;
    o.connect_timeout = 500ms;
    o.retries.count = 0;
    return o;
}
#else
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Instrumented<strata::RedisTier>,
                                     Instrumented<strata::PostgresTier>>;
#endif

std::string promtool_complaints(const std::string& text) {
    TempDir dir{"strata-stack-metrics"};
    const auto file = dir.path / "metrics.txt";
    std::ofstream(file) << text;
    FILE* pipe = ::popen(("promtool check metrics < '" + file.string() + "' 2>&1").c_str(), "r");
    if (pipe == nullptr) return "could not run promtool";
    std::string said;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) said.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0 && said.empty()) return "promtool failed (status " + std::to_string(status) + "); is it installed?";
    return said;
}

// The sum of every line whose series starts with `prefix` (a name and the
// first labels, e.g. errors of one tier and operation over every kind).
double sum_of(const std::string& text, const std::string& prefix) {
    std::istringstream in(text);
    double sum = 0;
    for (std::string line; std::getline(in, line);)
        if (line.compare(0, prefix.size(), prefix) == 0) sum += std::stod(line.substr(line.rfind(' ') + 1));
    return sum;
}

std::string series(const std::string& name, const std::string& tier, const std::string& operation) {
    return name + "{tier=\"" + tier + "\",operation=\"" + operation + "\"";
}

std::vector<std::pair<std::string, std::string>> entries(int from, int to) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = from; i < to; ++i) out.emplace_back("order:" + std::to_string(i), "qty=" + std::to_string(i));
    return out;
}

}  // namespace

TEST(StackMetrics, FiguresOfAWorkloadWithFailingTiersPassPromtool) {
    rt::Server redis_server;
    strata::RedisOptions redis_options = rt::options(redis_server.port());
    redis_options.command_timeout = 300ms;
    const strata::PostgresOptions pg_options = strata::pgtest::options();
    struct DropTable {
        const strata::PostgresOptions& pg;
        ~DropTable() { strata::pgtest::drop_table(pg); }
    } drop_table{pg_options};
    TempDir dir{"strata-stack-metrics"};

    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, Instrumented{strata::RedisTier{redis_options}},
                Instrumented{strata::PostgresTier{pg_options}}
#ifdef STRATA_STACK_S3
                ,
                Instrumented{strata::S3Tier{failing_s3()}}
#endif
    };
    auto& redis = mgr.tier<0>();
    auto& pg = mgr.tier<1>();

    // Two batches written: Redis and PostgreSQL take them, S3 refuses them
    // (the writes succeed: PostgreSQL is durable).
    mgr.set_many(entries(0, 100));
    mgr.set_many(entries(100, 150));
    // Read back past the cache: one batch from Redis holds every key.
    mgr.invalidate_cache();
    std::vector<std::string> keys;
    for (const auto& [k, v] : entries(0, 150)) keys.push_back(k);
    const auto got = mgr.get_many(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(got[i], "qty=" + std::to_string(i)) << keys[i];

#ifdef STRATA_STACK_S3
    // Written to S3 alone: refused, and with no other tier to take it the
    // write fails.
    EXPECT_THROW(mgr.set_many(entries(150, 160), strata::at<2>), strata::Error);
#endif

    const auto redis_before = redis.figures();
    const auto pg_before = pg.figures();
    EXPECT_EQ(pg_before[strata::TierOperation::store_many].calls, 2u);
    EXPECT_EQ(pg_before[strata::TierOperation::store_many].batch_size->sum, 150);
    EXPECT_EQ(pg_before[strata::TierOperation::store_many].error_total(), 0u);
    EXPECT_EQ(redis_before[strata::TierOperation::store_many].calls, 2u);
    EXPECT_EQ(redis_before[strata::TierOperation::store_many].batch_size->sum, 150);
    EXPECT_EQ(redis_before[strata::TierOperation::fetch_many].calls, 1u);
    EXPECT_EQ(redis_before[strata::TierOperation::fetch_many].batch_size->sum, 150);
    EXPECT_EQ(redis_before[strata::TierOperation::fetch_many].error_total(), 0u);

    // Redis paused: reads time out there and are answered by PostgreSQL.
    {
        strata::testing::Resume resume{redis_server};
        redis_server.signal(SIGSTOP);
        mgr.invalidate_cache();
        for (int i = 0; i < 3; ++i) EXPECT_EQ(mgr.get("order:" + std::to_string(i)), "qty=" + std::to_string(i));
    }

    strata::Checkpointer checkpoints{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    checkpoints.create<strata::at_t<1>>(strata::CheckpointType::manual);
    auto store_options = strata::DirectoryBackupStore::backup_defaults();
    store_options.fsync = false;
    strata::BackupManager backups{mgr, strata::DirectoryBackupStore{dir.path / "backups", store_options},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
#ifdef STRATA_STACK_S3
    EXPECT_THROW(backups.create(strata::BackupType::full), strata::Error);  // S3 cannot be read
#else
    backups.create(strata::BackupType::full);
#endif
    strata::RecoveryOrchestrator recovery{mgr, strata::testing::quick(std::make_shared<strata::testing::TestClock>())};
    for (int i = 0; i < 3; ++i) recovery.check();

    std::ostringstream out;
    strata::write_prometheus(out, mgr, checkpoints, backups, recovery);
    const std::string text = out.str();
    EXPECT_EQ(promtool_complaints(text), "") << "promtool check metrics complained about:\n" << text;

    // The operations the workload made, as the exposition counts them.
    EXPECT_EQ(sum_of(text, series("strata_tier_operations_total", "redis", "store_many") + "}"),
              static_cast<double>(redis.figures()[strata::TierOperation::store_many].calls));
    EXPECT_GE(sum_of(text, series("strata_tier_batch_size_sum", "redis", "store_many") + "}"), 150);
    EXPECT_GE(sum_of(text, series("strata_tier_batch_size_count", "redis", "fetch_many") + "}"), 2);
    EXPECT_GE(sum_of(text, series("strata_tier_operations_total", "postgres", "store_many") + "}"), 2);
    EXPECT_GT(sum_of(text, "strata_tier_written_bytes_total{tier=\"postgres\"}"), 0);
    EXPECT_GT(sum_of(text, "strata_tier_read_bytes_total{tier=\"redis\"}"), 0);
    EXPECT_EQ(sum_of(text, series("strata_tier_errors_total", "postgres", "store_many")), 0);
    // The paused Redis failed reads; every call counted also has a duration.
    EXPECT_GT(sum_of(text, series("strata_tier_errors_total", "redis", "fetch_many")) +
                  sum_of(text, series("strata_tier_errors_total", "redis", "fetch")),
              0);
    EXPECT_EQ(sum_of(text, series("strata_tier_operation_duration_seconds_count", "redis", "fetch_many") + "}"),
              sum_of(text, series("strata_tier_operations_total", "redis", "fetch_many") + "}"));
    EXPECT_GT(sum_of(text, "strata_tier_failures_total{tier=\"redis\"}"), 0);
#ifdef STRATA_STACK_S3
    EXPECT_EQ(sum_of(text, series("strata_tier_operations_total", "s3", "store_many") + "}"), 1);
    EXPECT_EQ(sum_of(text, series("strata_tier_errors_total", "s3", "store_many")), 1);  // whatever its kind
    EXPECT_EQ(sum_of(text, series("strata_tier_batch_size_sum", "s3", "store_many") + "}"), 10);
    EXPECT_EQ(sum_of(text, "strata_recovery_tier_up{tier=\"s3\"}"), 0);
    EXPECT_EQ(sum_of(text, "strata_backup_failures_total"), 1);
#endif
    EXPECT_EQ(sum_of(text, "strata_recovery_tier_up{tier=\"postgres\"}"), 1);
    EXPECT_EQ(sum_of(text, "strata_checkpoints_created_total"), 1);
}
