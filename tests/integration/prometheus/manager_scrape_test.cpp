// A manager over instrumented tiers, served by prometheus-cpp's exposer and
// scraped over HTTP on 127.0.0.1: its figures and its tiers' are there with
// the values the workload implies, promtool accepts the body, and every
// sample agrees with what strata::write_prometheus writes of the same figures.
#include <gtest/gtest.h>
#include <prometheus/exposer.h>

#include <cmath>  // fabs
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>  // move
#include <vector>

#include <strata/metrics/instrumented.hpp>
#include <strata/metrics/manager_metrics.hpp>
#include <strata/metrics/prometheus_text.hpp>
#include <strata/prometheus.hpp>
#include <strata/strata.hpp>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"
#include "integration/prometheus/scrape.hpp"

namespace {

// Tier stats read at every collection: these tests count keys after each change.
const strata::ManagerOptions fresh_stats{.tier_stats_max_age = std::chrono::milliseconds{0}};

using strata::testing::Exposition;
using strata::testing::http_get;
using strata::testing::parse_exposition;
using strata::testing::promtool_check_metrics;

using FileTier = strata::Instrumented<strata::testing::Switchable<strata::FileTier>>;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::Instrumented<strata::MemoryTier>,
                                     FileTier>;

constexpr int key_count = 50;
constexpr int absent_in_batch = 5;
constexpr int reads_while_file_down = 3;
constexpr std::size_t value_size = 10;

std::string value_of(int i) {
    char value[value_size + 1];
    std::snprintf(value, sizeof value, "v%09d", i);
    return value;
}

// A manager over an instrumented MemoryTier and an instrumented FileTier that
// the test can switch off.
struct Stack {
    strata::testing::TempDir dir{"strata-prometheus"};
    std::shared_ptr<strata::testing::TierSwitches> file_switches = std::make_shared<strata::testing::TierSwitches>();
    Manager mgr{fresh_stats, strata::LruCache{1000}, strata::NeverPromote{}, strata::Instrumented{strata::MemoryTier{}},
                FileTier{strata::testing::Switchable<strata::FileTier>{strata::FileTier{dir.path}, file_switches}}};

    // Every key written (each set: a one-entry store_many to both tiers,
    // leaving the key out of the cache), read twice (first from memory, then
    // from the cache), read again in one batch with keys nobody wrote (asked
    // of each tier in one fetch_many); then, with the FileTier down, keys
    // nobody wrote read one by one, each failing in the FileTier.
    void workload() {
        std::vector<std::string> batch;
        for (int i = 0; i < key_count; ++i) {
            batch.push_back("k:" + std::to_string(i));
            mgr.set(batch.back(), value_of(i));
        }
        for (int round = 0; round < 2; ++round)
            for (const auto& k : batch) ASSERT_EQ(mgr.get(k).value_or(""), value_of(std::stoi(k.substr(2))));
        for (int i = 0; i < absent_in_batch; ++i) batch.push_back("absent:" + std::to_string(i));
        const auto got = mgr.get_many(batch);
        ASSERT_EQ(got.size(), batch.size());

        file_switches->down = true;
        for (int i = 0; i < reads_while_file_down; ++i) {
            try {
                (void)mgr.get("unknown:" + std::to_string(i));
            } catch (const strata::Error&) {
                // a read the FileTier could not answer: counted, as the test wants
            }
        }
    }
};

// prometheus-cpp's exposer on a port the kernel picks, serving `collectable`,
// which it holds: the exposer keeps only a weak_ptr.
struct Served {
    std::shared_ptr<prometheus::Collectable> collectable;
    prometheus::Exposer exposer{"127.0.0.1:0", 1};

    explicit Served(std::shared_ptr<prometheus::Collectable> c) : collectable(std::move(c)) {
        exposer.RegisterCollectable(collectable);
    }

    std::string scrape_body() const {
        const auto response =
            http_get("http://127.0.0.1:" + std::to_string(exposer.GetListeningPorts().at(0)) + "/metrics");
        EXPECT_EQ(response.status, 200);
        const auto verdict = promtool_check_metrics(response.body);
        EXPECT_EQ(verdict.exit_code, 0) << "promtool check metrics (exit 127: promtool missing, see scripts/deps.sh):\n"
                                        << verdict.output << "\nover:\n"
                                        << response.body;
        EXPECT_EQ(verdict.output, "");
        return response.body;
    }
};

TEST(PrometheusManagerScrape, ManagerAndInstrumentedTierFiguresAsTheWorkloadImplies) {
    Stack stack;
    stack.workload();
    const Served served{strata::make_prometheus_collectable(stack.mgr)};
    const Exposition scraped = parse_exposition(served.scrape_body());

    const auto tier_op = [](const char* family, const char* tier, const char* op) {
        return std::string(family) + "{operation=\"" + op + "\",tier=\"" + tier + "\",}";
    };
    // The manager: its cache and each tier, as it saw them.
    EXPECT_EQ(scraped.at("strata_cache_hits_total{}"), key_count + key_count);
    EXPECT_EQ(scraped.at("strata_cache_misses_total{}"), key_count + absent_in_batch + reads_while_file_down);
    EXPECT_EQ(scraped.at("strata_cache_entries{}"), key_count);
    EXPECT_EQ(scraped.at("strata_cache_capacity_entries{}"), 1000);
    EXPECT_EQ(scraped.at(R"(strata_tier_hits_total{tier="memory",})"), key_count);
    EXPECT_EQ(scraped.at(R"(strata_tier_misses_total{tier="memory",})"), absent_in_batch + reads_while_file_down);
    EXPECT_EQ(scraped.at(R"(strata_tier_misses_total{tier="file",})"), absent_in_batch);
    EXPECT_EQ(scraped.at(R"(strata_tier_failures_total{tier="file",})"), reads_while_file_down);
    EXPECT_EQ(scraped.at(R"(strata_tier_up{tier="memory",})"), 1);
    EXPECT_EQ(scraped.at(R"(strata_tier_up{tier="file",})"), 0);
    EXPECT_EQ(scraped.at(R"(strata_tier_keys{tier="memory",})"), key_count);
    // A tier that cannot count its keys has no sample rather than a wrong one.
    EXPECT_FALSE(scraped.samples.contains(R"(strata_tier_keys{tier="file",})"));

    // The instrumented tiers: calls, batch sizes, bytes, errors by kind.
    EXPECT_EQ(scraped.types.at("strata_tier_operation_duration_seconds"), "histogram");
    EXPECT_EQ(scraped.at(tier_op("strata_tier_operations_total", "memory", "store_many")), key_count);
    EXPECT_EQ(scraped.at(tier_op("strata_tier_operations_total", "file", "store_many")), key_count);
    EXPECT_EQ(scraped.at(tier_op("strata_tier_operation_duration_seconds_count", "file", "store_many")), key_count);
    EXPECT_EQ(scraped.at(R"(strata_tier_written_bytes_total{tier="file",})"), key_count * value_size);
    EXPECT_EQ(scraped.at(R"(strata_tier_read_bytes_total{tier="memory",})"), key_count * value_size);
    // Memory answered one fetch_many per first read, one for the batch's
    // unknown keys and one per read while the FileTier was down.
    const int memory_fetches = key_count + 1 + reads_while_file_down;
    EXPECT_EQ(scraped.at(tier_op("strata_tier_operations_total", "memory", "fetch_many")), memory_fetches);
    EXPECT_EQ(scraped.at(tier_op("strata_tier_batch_size_count", "memory", "fetch_many")), memory_fetches);
    EXPECT_EQ(scraped.at(tier_op("strata_tier_batch_size_sum", "memory", "fetch_many")),
              key_count + absent_in_batch + reads_while_file_down);
    EXPECT_EQ(scraped.at(R"(strata_tier_batch_size_bucket{le="1",operation="fetch_many",tier="memory",})"),
              key_count + reads_while_file_down);
    EXPECT_EQ(scraped.at(R"(strata_tier_batch_size_bucket{le="+Inf",operation="fetch_many",tier="memory",})"),
              memory_fetches);
    EXPECT_EQ(scraped.at(tier_op("strata_tier_operations_total", "file", "fetch_many")), 1 + reads_while_file_down);
    EXPECT_EQ(scraped.at(R"(strata_tier_errors_total{kind="unavailable",operation="fetch_many",tier="file",})"),
              reads_while_file_down);
    EXPECT_EQ(scraped.at(R"(strata_tier_errors_total{kind="unavailable",operation="fetch_many",tier="memory",})"), 0);
    // The scrape asked each tier for its stats; the FileTier's call failed.
    EXPECT_EQ(scraped.at(R"(strata_tier_errors_total{kind="unavailable",operation="stats",tier="file",})"), 1);
    EXPECT_EQ(scraped.at(R"(strata_tier_errors_total{kind="unavailable",operation="stats",tier="memory",})"), 0);
    EXPECT_EQ(scraped.at("strata_metrics_collect_errors_total{}"), 0);
}

// The manager's figures hold its Instrumented tiers': a tier listed again
// gives its series twice, refused, counted, and the manager's still served.
TEST(PrometheusManagerScrape, ATierListedBesideItsManagerIsACollectionError) {
    Stack stack;
    stack.workload();
    const Served served{strata::make_prometheus_collectable(stack.mgr, stack.mgr.tier<0>())};
    const Exposition scraped = parse_exposition(served.scrape_body());
    EXPECT_EQ(scraped.at("strata_metrics_collect_errors_total{}"), 1);
    EXPECT_EQ(scraped.at(R"(strata_tier_operations_total{operation="store_many",tier="memory",})"), key_count);
}

// Two expositions' samples agree: each of `text`'s in `scraped` with the same
// value (prometheus-cpp prints 16 significant digits, so a value needing 17
// may differ in its last), and `scraped` has nothing more than the exposer's
// own figures and the bridge's error counter.
void expect_same_samples(const Exposition& text, const Exposition& scraped) {
    for (const auto& [family, type] : text.types) EXPECT_EQ(scraped.types.at(family), type) << family;
    for (const auto& [key, value] : text.samples) {
        ASSERT_TRUE(scraped.samples.contains(key)) << key;
        EXPECT_NEAR(scraped.samples.at(key), value, std::fabs(value) * 1e-15) << key;
    }
    for (const auto& [key, value] : scraped.samples) {
        if (text.samples.contains(key)) continue;
        EXPECT_TRUE(key.starts_with("exposer_") || key.starts_with("strata_metrics_collect_errors_total{"))
            << "only in the scrape: " << key;
    }
}

// The figures of one collection, given again at each: both writers then read
// the very same numbers (a checkpoint's age included).
struct Snapshot {
    strata::MetricFamilies families;
};

void collect_metrics(const Snapshot& s, strata::MetricFamilies& out) {
    for (const auto& f : s.families.families())
        for (const auto& sample : f.samples) {
            if (f.type == strata::MetricType::histogram)
                out.add_histogram(f.name, f.help, sample.labels, sample.buckets, sample.count, sample.sum);
            else
                out.add(f.name, f.help, f.type, sample.labels, sample.value);
        }
}

TEST(PrometheusManagerScrape, EverySampleAgreesWithWritePrometheus) {
    Stack stack;
    stack.workload();
    stack.file_switches->down = false;
    strata::Checkpointer checkpointer{stack.mgr, strata::TierCheckpointStore{strata::MemoryTier{}}};
    (void)checkpointer.create();
    const Snapshot snapshot{strata::collect_all(stack.mgr, checkpointer)};
    std::ostringstream text;
    strata::write_prometheus(text, snapshot.families);
    ASSERT_GT(snapshot.families.families().size(), 20u);

    const Exposition written = parse_exposition(text.str());
    EXPECT_EQ(written.at("strata_checkpoints_created_total{}"), 1);
    EXPECT_TRUE(written.samples.contains("strata_checkpoint_newest_age_seconds{}"));

    const Served served{strata::make_prometheus_collectable(snapshot)};
    expect_same_samples(written, parse_exposition(served.scrape_body()));
}

// Live, collected twice: the same again, but for what a collection itself
// changes, the tiers' stats() call each one makes.
TEST(PrometheusManagerScrape, LiveScrapeAgreesWithWritePrometheusButForTheStatsCallsItMakes) {
    Stack stack;
    stack.workload();
    stack.file_switches->down = false;
    std::ostringstream text;
    strata::write_prometheus(text, stack.mgr);
    const Served served{strata::make_prometheus_collectable(stack.mgr)};
    Exposition written = parse_exposition(text.str());
    Exposition scraped = parse_exposition(served.scrape_body());

    for (const char* tier : {"memory", "file"}) {
        const std::string stats_calls =
            std::string(R"(strata_tier_operations_total{operation="stats",tier=")") + tier + "\",}";
        EXPECT_EQ(scraped.at(stats_calls), written.at(stats_calls) + 1) << stats_calls;
    }
    for (auto* exposition : {&written, &scraped})
        std::erase_if(exposition->samples,
                      [](const auto& s) { return s.first.find(R"(operation="stats")") != std::string::npos; });
    expect_same_samples(written, scraped);
}

// Scrapes come from the exposer's thread while the service works: every
// scrape is valid and, once the writers are done, the totals are exact.
TEST(PrometheusManagerScrape, ScrapesWhileThreadsWriteAndRead) {
    constexpr int threads = 3, sets_per_thread = 300;
    Stack stack;
    const Served served{strata::make_prometheus_collectable(stack.mgr)};
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&stack, t] {
            for (int i = 0; i < sets_per_thread; ++i) {
                const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i % 40);
                stack.mgr.set(key, value_of(i));
                (void)stack.mgr.get(key);
            }
        });
    double last_sets = 0;
    for (int scrape = 0; scrape < 4; ++scrape) {
        const double sets = parse_exposition(served.scrape_body())
                                .at(R"(strata_tier_operations_total{operation="store_many",tier="file",})");
        EXPECT_GE(sets, last_sets) << "a counter went back";
        last_sets = sets;
    }
    workers.clear();

    const Exposition done = parse_exposition(served.scrape_body());
    for (const char* tier : {"memory", "file"})
        EXPECT_EQ(done.at(std::string(R"(strata_tier_operations_total{operation="store_many",tier=")") + tier + "\",}"),
                  threads * sets_per_thread)
            << tier;
    EXPECT_EQ(done.at(R"(strata_tier_keys{tier="file",})"), threads * 40);
    EXPECT_EQ(done.at("strata_metrics_collect_errors_total{}"), 0);
}

}  // namespace
