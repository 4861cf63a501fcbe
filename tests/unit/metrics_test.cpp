// The Prometheus text writer (format details, the model's checks) and the
// figures of every strata object over MemoryTier + FileTier: a manager after
// a workload, a Checkpointer, a BackupManager, a RecoveryOrchestrator, and
// all of them in one exposition, each checked by `promtool check metrics`;
// and the Grafana dashboard in examples/ names only metrics that exposition has.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>  // header-only: the unit binary links strata::core alone

#include <stdio.h>   // popen, pclose

#include <algorithm>  // any_of
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <locale>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <strata/backup/backup_manager.hpp>
#include <strata/backup/directory_store.hpp>
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/metrics.hpp>
#include <strata/recovery/recovery_orchestrator.hpp>
#include <strata/strata.hpp>

#include "common/eventually.hpp"
#include "common/recovery_support.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::MetricFamilies;
using strata::MetricType;
using strata::testing::TempDir;

namespace {

// Tier stats read at every collection: these tests count keys after each change.
const strata::ManagerOptions fresh_stats{.tier_stats_max_age = std::chrono::milliseconds{0}};

std::string text_of(const MetricFamilies& families) {
    std::ostringstream out;
    strata::write_prometheus(out, families);
    return out.str();
}

template <class... Sources>
std::string exposition(Sources&... sources) {
    std::ostringstream out;
    strata::write_prometheus(out, sources...);
    return out.str();
}

// What `promtool check metrics` says of `text`: empty when it has no
// complaint. Fails the test when promtool is missing (scripts/deps.sh
// installs Debian's prometheus package, which has it).
std::string promtool_complaints(const std::string& text) {
    TempDir dir{"strata-metrics"};
    const auto file = dir.path / "metrics.txt";
    std::ofstream(file) << text;
    const std::string command = "promtool check metrics < '" + file.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return "could not run promtool";
    std::string said;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) said.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0 && said.empty()) return "promtool failed (status " + std::to_string(status) + "); is it installed?";
    return said;
}

#define EXPECT_PROMTOOL_ACCEPTS(text)                                                     \
    do {                                                                                  \
        const std::string exposition_ = (text);                                           \
        const std::string complaints_ = promtool_complaints(exposition_);                 \
        EXPECT_EQ(complaints_, "") << "promtool check metrics complained about:\n" << exposition_; \
    } while (0)

// The value of the one line naming `series` exactly (name and labels as
// written), or nullopt when there is none.
std::optional<double> value_of(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::optional<double> found;
    for (std::string line; std::getline(in, line);) {
        if (line.size() <= series.size() || line.compare(0, series.size(), series) != 0 || line[series.size()] != ' ')
            continue;
        if (found) throw std::runtime_error("series written twice: " + series);
        const std::string v = line.substr(series.size() + 1);
        found = v == "+Inf" ? HUGE_VAL : v == "-Inf" ? -HUGE_VAL : std::stod(v);
    }
    return found;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// A user's own source, found by ADL in its namespace.
struct QueueSource {
    std::string queue;
    double depth;
};
void collect_metrics(const QueueSource& q, MetricFamilies& out) {
    out.add("app_queue_depth", "Messages waiting.", MetricType::gauge, {{"queue", q.queue}}, q.depth);
}
static_assert(strata::MetricSource<QueueSource>);
static_assert(!strata::MetricSource<int>);

// Digits grouped in threes, as some locales write them: must not reach the
// exposition.
struct GroupedDigits : std::numpunct<char> {
    char do_thousands_sep() const override { return '\''; }
    std::string do_grouping() const override { return "\3"; }
    char do_decimal_point() const override { return ','; }
};

}  // namespace

// ---- the text format ---------------------------------------------------------

TEST(PrometheusText, EscapesHelpAndLabelValuesAndSpellsSpecialValues) {
    MetricFamilies m;
    m.add("strata_test_value", "Line one\\two\nthree \"quoted\"", MetricType::gauge,
          {{"tier", "red\"is\\hot\nnow"}, {"kind", "plain"}}, 42);
    m.add("strata_test_value", "ignored: HELP is the first one's", MetricType::gauge, {{"tier", "half"}}, 0.25);
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "nan"}}, std::nan(""));
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "up"}}, HUGE_VAL);
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "down"}}, -HUGE_VAL);
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "big"}}, std::ldexp(1.0, 55));
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "huge"}}, 1e20);
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "tiny"}}, 1.5e-7);
    m.add("strata_test_value", "", MetricType::gauge, {{"tier", "negative"}}, -3);
    const std::string text = text_of(m);
    EXPECT_EQ(text,
              "# HELP strata_test_value Line one\\\\two\\nthree \"quoted\"\n"
              "# TYPE strata_test_value gauge\n"
              "strata_test_value{tier=\"red\\\"is\\\\hot\\nnow\",kind=\"plain\"} 42\n"
              "strata_test_value{tier=\"half\"} 0.25\n"
              "strata_test_value{tier=\"nan\"} NaN\n"
              "strata_test_value{tier=\"up\"} +Inf\n"
              "strata_test_value{tier=\"down\"} -Inf\n"
              "strata_test_value{tier=\"big\"} 36028797018963968\n"
              "strata_test_value{tier=\"huge\"} 1e+20\n"
              "strata_test_value{tier=\"tiny\"} 1.5e-07\n"
              "strata_test_value{tier=\"negative\"} -3\n");
    EXPECT_PROMTOOL_ACCEPTS(text);
}

TEST(PrometheusText, NumbersIgnoreTheStreamLocale) {
    MetricFamilies m;
    m.add("strata_test_bytes", "Bytes.", MetricType::gauge, {}, 1234567);
    m.add_histogram("strata_test_seconds", "Seconds.", {}, {{0.5, 1234}}, 1234567, 2.5);
    std::ostringstream out;
    out.imbue(std::locale(out.getloc(), new GroupedDigits));
    strata::write_prometheus(out, m);
    EXPECT_NE(out.str().find("strata_test_bytes 1234567\n"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("strata_test_seconds_bucket{le=\"0.5\"} 1234\n"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("strata_test_seconds_sum 2.5\n"), std::string::npos) << out.str();
    EXPECT_EQ(out.str().find('\''), std::string::npos) << out.str();
}

TEST(PrometheusText, HistogramBucketsAreCumulativeAndInfIsTheCount) {
    MetricFamilies m;
    m.add_histogram("strata_test_duration_seconds", "How long.", {{"tier", "a"}},
                    {{0.001, 2}, {0.01, 2}, {0.1, 5}}, 7, 0.75);
    m.add_histogram("strata_test_duration_seconds", "How long.", {{"tier", "empty"}}, {{0.001, 0}}, 0, 0);
    const std::string text = text_of(m);
    EXPECT_EQ(text,
              "# HELP strata_test_duration_seconds How long.\n"
              "# TYPE strata_test_duration_seconds histogram\n"
              "strata_test_duration_seconds_bucket{tier=\"a\",le=\"0.001\"} 2\n"
              "strata_test_duration_seconds_bucket{tier=\"a\",le=\"0.01\"} 2\n"
              "strata_test_duration_seconds_bucket{tier=\"a\",le=\"0.1\"} 5\n"
              "strata_test_duration_seconds_bucket{tier=\"a\",le=\"+Inf\"} 7\n"
              "strata_test_duration_seconds_sum{tier=\"a\"} 0.75\n"
              "strata_test_duration_seconds_count{tier=\"a\"} 7\n"
              "strata_test_duration_seconds_bucket{tier=\"empty\",le=\"0.001\"} 0\n"
              "strata_test_duration_seconds_bucket{tier=\"empty\",le=\"+Inf\"} 0\n"
              "strata_test_duration_seconds_sum{tier=\"empty\"} 0\n"
              "strata_test_duration_seconds_count{tier=\"empty\"} 0\n");
    EXPECT_PROMTOOL_ACCEPTS(text);
}

TEST(PrometheusText, FamiliesFromTwoSourcesMergeUnderOneHelpAndType) {
    QueueSource orders{"orders", 3}, fills{"fills", 0};
    const std::string text = exposition(orders, fills);
    EXPECT_EQ(occurrences(text, "# HELP app_queue_depth"), 1u) << text;
    EXPECT_EQ(occurrences(text, "# TYPE app_queue_depth gauge"), 1u) << text;
    EXPECT_EQ(value_of(text, "app_queue_depth{queue=\"orders\"}"), 3);
    EXPECT_EQ(value_of(text, "app_queue_depth{queue=\"fills\"}"), 0);
    EXPECT_PROMTOOL_ACCEPTS(text);
    // The same source twice is one series twice: refused, not written.
    std::ostringstream out;
    EXPECT_THROW(strata::write_prometheus(out, orders, orders), std::invalid_argument);
}

TEST(PrometheusText, FamiliesWithoutSamplesAreLeftOut) {
    MetricFamilies m;
    m.family("strata_test_nothing", "No samples.", MetricType::counter);
    EXPECT_EQ(text_of(m), "");
}

TEST(MetricFamilies, RefusesWhatPrometheusWouldReject) {
    MetricFamilies m;
    m.add("strata_things_total", "Things.", MetricType::counter, {{"tier", "a"}}, 1);
    // One name, two types.
    EXPECT_THROW(m.add("strata_things_total", "Things.", MetricType::gauge, {{"tier", "b"}}, 1), std::invalid_argument);
    // One series twice, whatever the label order.
    m.add("strata_pairs", "Pairs.", MetricType::gauge, {{"a", "1"}, {"b", "2"}}, 1);
    EXPECT_THROW(m.add("strata_pairs", "Pairs.", MetricType::gauge, {{"b", "2"}, {"a", "1"}}, 1), std::invalid_argument);
    EXPECT_NO_THROW(m.add("strata_pairs", "Pairs.", MetricType::gauge, {{"a", "1"}, {"b", "3"}}, 1));
    // Names.
    for (const char* bad : {"", "1st", "has-dash", "has space", "ünïcode"})
        EXPECT_THROW(m.add(bad, "Bad.", MetricType::gauge, {}, 1), std::invalid_argument) << bad;
    // Colons are for recording rules; promtool refuses them from a target.
    EXPECT_THROW(m.add("ns:recorded", "Recorded.", MetricType::gauge, {}, 1), std::invalid_argument);
    for (const char* bad : {"", "2x", "a:b", "__reserved", "a-b"})
        EXPECT_THROW(m.add("strata_labelled", "Labelled.", MetricType::gauge, {{bad, "v"}}, 1), std::invalid_argument)
            << bad;
    EXPECT_THROW(m.add("strata_twice", "Twice.", MetricType::gauge, {{"a", "1"}, {"a", "2"}}, 1), std::invalid_argument);
    EXPECT_THROW(m.add("strata_no_help", "", MetricType::gauge, {}, 1), std::invalid_argument);
    // Histograms.
    EXPECT_THROW(m.add("strata_h_seconds", "H.", MetricType::histogram, {}, 1), std::invalid_argument);
    EXPECT_THROW(m.add_histogram("strata_h_seconds", "H.", {{"le", "1"}}, {}, 0, 0), std::invalid_argument);
    EXPECT_THROW(m.add_histogram("strata_h_seconds", "H.", {}, {{1, 1}, {0.5, 1}}, 1, 1), std::invalid_argument);
    EXPECT_THROW(m.add_histogram("strata_h_seconds", "H.", {}, {{0.5, 2}, {1, 1}}, 2, 1), std::invalid_argument);
    EXPECT_THROW(m.add_histogram("strata_h_seconds", "H.", {}, {{0.5, 3}}, 2, 1), std::invalid_argument);
    EXPECT_THROW(m.add_histogram("strata_h_seconds", "H.", {}, {{HUGE_VAL, 2}}, 2, 1), std::invalid_argument);
    // Nothing refused reached the model, not even a family without samples.
    for (const auto& f : m.families()) EXPECT_FALSE(f.samples.empty()) << f.name;
    const std::string text = text_of(m);
    EXPECT_EQ(text.find("strata_h_seconds"), std::string::npos);
    EXPECT_EQ(text.find("strata_labelled"), std::string::npos);
    EXPECT_EQ(occurrences(text, "strata_pairs{"), 2u);
    EXPECT_PROMTOOL_ACCEPTS(text);
}

// ---- figures of strata objects ----------------------------------------------

namespace {

// Promotion on the second read from below: a first read that meets a corrupt
// hot copy repairs it without promoting, so repairs and promotions are told apart.
using Manager = strata::StateManager<strata::LruCache, strata::AccessCountPromotion, strata::MemoryTier, strata::FileTier>;

struct ManagerStack {
    TempDir dir{"strata-metrics"};
    // Capacity 2: one shard, exact LRU, so the evictions are the test's to count.
    Manager mgr{fresh_stats, strata::LruCache{2}, strata::AccessCountPromotion{2, std::chrono::minutes{5}}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
};

}  // namespace

TEST(ManagerMetrics, FiguresMatchTheWorkload) {
    ManagerStack s;
    auto& mgr = s.mgr;
    mgr.set("both", "1");  // memory and file
    for (const char* k : {"cold1", "cold2", "cold3"}) mgr.set(k, "2", strata::at<1>);  // file only
    mgr.invalidate_cache();

    EXPECT_EQ(mgr.get("both"), "1");   // cache miss, memory hit
    EXPECT_EQ(mgr.get("both"), "1");   // cache hit
    EXPECT_EQ(mgr.get("cold1"), "2");  // cache miss, memory miss, file hit
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("cold1"), "2");  // cache miss, memory miss, file hit, second read: promoted
    EXPECT_EQ(mgr.get("absent"), std::nullopt);  // cache miss, memory miss, file miss

    // A damaged copy in memory: skipped, counted, repaired from the file tier.
    auto bad = *mgr.tier<0>().fetch("both");
    bad.value = "tampered";
    mgr.tier<0>().store("both", bad);
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("both"), "1");  // cache miss, memory corrupt, file hit, repaired

    EXPECT_TRUE(mgr.demote("cold1", strata::at<1>));  // finds it in memory (a hit), moves it down
    EXPECT_EQ(mgr.get("cold2"), "2");  // cache miss, memory miss, file hit
    EXPECT_EQ(mgr.get("cold3"), "2");  // the same; the cache of 2 (both, cold2) evicts one

    const std::string text = exposition(mgr);
    EXPECT_PROMTOOL_ACCEPTS(text);

    const auto mem = [&](const std::string& name) { return value_of(text, name + "{tier=\"memory\"}"); };
    const auto file = [&](const std::string& name) { return value_of(text, name + "{tier=\"file\"}"); };
    EXPECT_EQ(value_of(text, "strata_cache_hits_total"), 1);
    EXPECT_EQ(value_of(text, "strata_cache_misses_total"), 7);
    EXPECT_EQ(value_of(text, "strata_cache_entries"), 2);
    EXPECT_EQ(value_of(text, "strata_cache_capacity_entries"), 2);
    EXPECT_EQ(value_of(text, "strata_cache_evictions_total"), 1);

    EXPECT_EQ(mem("strata_tier_hits_total"), 2);
    EXPECT_EQ(file("strata_tier_hits_total"), 5);
    EXPECT_EQ(mem("strata_tier_misses_total"), 5);
    EXPECT_EQ(file("strata_tier_misses_total"), 1);
    EXPECT_EQ(mem("strata_tier_corrupt_copies_total"), 1);
    EXPECT_EQ(mem("strata_tier_repairs_total"), 1);
    EXPECT_EQ(file("strata_tier_corrupt_copies_total"), 0);
    EXPECT_EQ(mem("strata_tier_promotions_total"), 1);
    EXPECT_EQ(file("strata_tier_demotions_total"), 1);
    EXPECT_EQ(mem("strata_tier_demotions_total"), 0);
    EXPECT_EQ(mem("strata_tier_failures_total"), 0);
    EXPECT_EQ(mem("strata_tier_up"), 1);
    EXPECT_EQ(mem("strata_tier_quarantined"), 0);
    EXPECT_EQ(mem("strata_tier_stale_keys"), 0);
    EXPECT_EQ(mem("strata_tier_keys"), 1);   // both
    EXPECT_EQ(file("strata_tier_keys"), 4);  // both, cold1, cold2, cold3
    EXPECT_GT(*file("strata_tier_stored_bytes"), 0);
    // Seconds since the Unix epoch, not clock ticks.
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto last_success = mem("strata_tier_last_success_timestamp_seconds");
    ASSERT_TRUE(last_success);
    EXPECT_LE(*last_success, now);
    EXPECT_GT(*last_success, now - 60);
    EXPECT_EQ(mem("strata_tier_last_failure_timestamp_seconds"), std::nullopt);  // never failed
}

TEST(ManagerMetrics, ATierThatCannotCountItsKeysLeavesOnlyThatSampleOut) {
    using Hot = strata::testing::Switchable<strata::MemoryTier>;
    using Warm = strata::testing::Switchable<strata::FileTier>;
    TempDir dir{"strata-metrics"};
    auto hot = std::make_shared<strata::testing::TierSwitches>();
    strata::StateManager mgr{fresh_stats, strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}, hot},
                             Warm{strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}}};
    mgr.set("k", "v");
    hot->down = true;
    EXPECT_EQ(mgr.get("k"), "v");  // NoCache: the read meets the down tier, fails there, and goes on to the file tier
    const std::string text = exposition(mgr);
    EXPECT_PROMTOOL_ACCEPTS(text);
    EXPECT_EQ(value_of(text, "strata_tier_keys{tier=\"memory\"}"), std::nullopt);
    EXPECT_EQ(value_of(text, "strata_tier_keys{tier=\"file\"}"), 1);
    EXPECT_EQ(value_of(text, "strata_tier_up{tier=\"memory\"}"), 0);
    EXPECT_EQ(value_of(text, "strata_tier_failures_total{tier=\"memory\"}"), 1);
    EXPECT_TRUE(value_of(text, "strata_tier_last_failure_timestamp_seconds{tier=\"memory\"}"));
    // NoCache counts no evictions, so there is no such sample.
    EXPECT_EQ(text.find("strata_cache_evictions_total"), std::string::npos);
}

TEST(ManagerMetrics, TierStatsAreReadAtMostOncePerMaxAgeAndNotKeptWhenTheTierFails) {
    using Counted = strata::Instrumented<strata::MemoryTier>;
    const auto stats_calls = [](Counted& t) { return t.figures()[strata::TierOperation::stats].calls; };
    strata::StateManager mgr{strata::ManagerOptions{.tier_stats_max_age = std::chrono::hours{1}}, strata::NoCache{},
                             strata::NeverPromote{}, Counted{strata::MemoryTier{}}};
    mgr.set("a", "1");
    EXPECT_EQ(mgr.tier_stats(0)->keys, 1u);
    mgr.set("b", "2");
    (void)exposition(mgr);
    EXPECT_EQ(mgr.tier_stats(0)->keys, 1u);  // as read an hour ago at most
    EXPECT_EQ(stats_calls(mgr.tier<0>()), 1u);
    EXPECT_THROW(mgr.tier_stats(1), std::invalid_argument);

    using Hot = strata::testing::Switchable<strata::MemoryTier>;
    auto switches = std::make_shared<strata::testing::TierSwitches>();
    strata::StateManager fresh{fresh_stats, strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}, switches}};
    fresh.set("a", "1");
    EXPECT_EQ(fresh.tier_stats(0)->keys, 1u);
    switches->down = true;
    EXPECT_EQ(fresh.tier_stats(0), std::nullopt);  // no figure rather than an old one
    switches->down = false;
    fresh.set("b", "2");
    EXPECT_EQ(fresh.tier_stats(0)->keys, 2u);
}

TEST(ManagerMetrics, ACorruptHotCopyReplacedByAPromotionCountsAsARepair) {
    TempDir dir{"strata-metrics"};
    strata::StateManager mgr{strata::NoCache{}, strata::AlwaysPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
    mgr.set("k", "v");
    auto damaged = *mgr.tier<0>().fetch("k");
    damaged.value = "tampered";
    mgr.tier<0>().store("k", damaged);
    EXPECT_EQ(mgr.get("k"), "v");
    const auto health = mgr.health();
    EXPECT_EQ(health[0].corrupt, 1u);
    EXPECT_EQ(health[0].repairs, 1u);
    EXPECT_EQ(health[0].promotions, 0u);
    EXPECT_EQ(mgr.tier<0>().fetch("k")->value, "v");
}

TEST(CheckpointMetrics, FiguresMatchWhatTheCheckpointerDid) {
    ManagerStack s;
    for (int i = 0; i < 20; ++i) s.mgr.set("k" + std::to_string(i), "v");
    strata::Checkpointer ckpt{s.mgr, strata::DirectoryCheckpointStore{s.dir.path / "ckpt", {.fsync = false}}};
    const auto first = ckpt.create(strata::CheckpointType::manual);
    const auto second = ckpt.create(strata::CheckpointType::daily);
    const auto third = ckpt.create(strata::CheckpointType::daily);
    ckpt.rollback(second.id);
    EXPECT_TRUE(ckpt.remove(first.id));

    const std::string text = exposition(ckpt);
    EXPECT_PROMTOOL_ACCEPTS(text);
    EXPECT_EQ(value_of(text, "strata_checkpoints_stored{type=\"manual\"}"), 0);
    EXPECT_EQ(value_of(text, "strata_checkpoints_stored{type=\"daily\"}"), 2);
    EXPECT_EQ(value_of(text, "strata_checkpoints_stored{type=\"emergency\"}"), 0);
    EXPECT_EQ(value_of(text, "strata_checkpoints_unreadable"), 0);
    EXPECT_EQ(value_of(text, "strata_checkpoint_stored_bytes"),
              static_cast<double>(second.stored_bytes + third.stored_bytes));
    EXPECT_EQ(value_of(text, "strata_checkpoints_created_total"), 3);
    EXPECT_EQ(value_of(text, "strata_checkpoint_failures_total"), 0);
    EXPECT_EQ(value_of(text, "strata_checkpoint_rollbacks_total"), 1);
    EXPECT_EQ(value_of(text, "strata_checkpoint_refused_rollbacks_total"), 0);
    EXPECT_EQ(value_of(text, "strata_checkpoints_removed_total"), 1);
    EXPECT_EQ(value_of(text, "strata_checkpoint_last_success_timestamp_seconds"),
              strata::detail::unix_seconds(third.created_at));
    const auto age = value_of(text, "strata_checkpoint_newest_age_seconds");
    ASSERT_TRUE(age);
    EXPECT_GE(*age, 0);
    EXPECT_LT(*age, 60);

    // A rollback to a checkpoint that is not there is refused and counted.
    EXPECT_THROW(ckpt.rollback(first.id), strata::Error);
    EXPECT_EQ(value_of(exposition(ckpt), "strata_checkpoint_refused_rollbacks_total"), 1);
}

TEST(CheckpointMetrics, AStoreThatDoesNotAnswerLeavesOutItsFiguresButNotTheCounters) {
    ManagerStack s;
    s.mgr.set("k", "v");
    auto switches = std::make_shared<strata::testing::TierSwitches>();
    strata::Checkpointer ckpt{
        s.mgr, strata::TierCheckpointStore{strata::testing::Switchable<strata::MemoryTier>{strata::MemoryTier{}, switches}}};
    ckpt.create(strata::CheckpointType::manual);
    switches->down = true;
    std::string text = exposition(ckpt);
    EXPECT_PROMTOOL_ACCEPTS(text);
    EXPECT_EQ(value_of(text, "strata_checkpoint_store_up"), 0);
    EXPECT_EQ(value_of(text, "strata_checkpoints_stored{type=\"manual\"}"), std::nullopt);
    EXPECT_EQ(value_of(text, "strata_checkpoint_newest_age_seconds"), std::nullopt);
    EXPECT_EQ(value_of(text, "strata_checkpoints_created_total"), 1);
    EXPECT_TRUE(value_of(text, "strata_checkpoint_last_success_timestamp_seconds"));
    switches->down = false;
    text = exposition(ckpt);
    EXPECT_EQ(value_of(text, "strata_checkpoint_store_up"), 1);
    EXPECT_EQ(value_of(text, "strata_checkpoints_stored{type=\"manual\"}"), 1);
}

TEST(BackupMetrics, FiguresMatchWhatTheBackupManagerDid) {
    ManagerStack s;
    for (int i = 0; i < 20; ++i) s.mgr.set("k" + std::to_string(i), "v");
    const auto now = strata::Clock::now();
    auto store_options = strata::DirectoryBackupStore::backup_defaults();
    store_options.fsync = false;
    strata::BackupManager backups{
        s.mgr, strata::DirectoryBackupStore{s.dir.path / "backups", store_options},
        strata::BackupOptions{.key = strata::EncryptionKey::generate(), .clock = [now] { return now; }}};
    const std::string before = exposition(backups);
    EXPECT_PROMTOOL_ACCEPTS(before);
    EXPECT_EQ(value_of(before, "strata_backups_created_total{type=\"full\"}"), 0);
    EXPECT_EQ(before.find("strata_backup_last_success_timestamp_seconds"), std::string::npos);  // none yet
    EXPECT_EQ(before.find("strata_backup_last_test_restore"), std::string::npos);

    const auto full = backups.create(strata::BackupType::full);
    s.mgr.set("k0", "changed");
    const auto incremental = backups.create(strata::BackupType::incremental);
    backups.restore(full.id);
    EXPECT_TRUE(backups.test_restore(incremental.id).ok);

    const std::string text = exposition(backups);
    EXPECT_PROMTOOL_ACCEPTS(text);
    EXPECT_EQ(value_of(text, "strata_backups_created_total{type=\"full\"}"), 1);
    EXPECT_EQ(value_of(text, "strata_backups_created_total{type=\"incremental\"}"), 1);
    EXPECT_EQ(value_of(text, "strata_backups_created_total{type=\"snapshot\"}"), 0);
    EXPECT_EQ(value_of(text, "strata_backup_last_success_timestamp_seconds{type=\"full\"}"),
              strata::detail::unix_seconds(now));
    EXPECT_EQ(value_of(text, "strata_backup_last_success_timestamp_seconds{type=\"snapshot\"}"), std::nullopt);
    EXPECT_EQ(value_of(text, "strata_backup_restores_total"), 1);
    EXPECT_EQ(value_of(text, "strata_backup_refused_restores_total"), 0);
    EXPECT_EQ(value_of(text, "strata_backup_failures_total"), 0);
    EXPECT_EQ(value_of(text, "strata_backups_removed_total"), 0);
    EXPECT_EQ(value_of(text, "strata_backups_stored"), 2);
    EXPECT_GT(*value_of(text, "strata_backup_stored_bytes"), 0);
    EXPECT_GT(*value_of(text, "strata_backup_last_duration_seconds"), 0);
    EXPECT_EQ(value_of(text, "strata_backup_last_test_restore_success"), 1);
    EXPECT_EQ(value_of(text, "strata_backup_last_test_restore_keys"), 40);  // 20 keys in each of 2 tiers
}

TEST(RecoveryMetrics, FiguresFollowAnIncidentFromDetectionToRecovery) {
    using Hot = strata::testing::Switchable<strata::MemoryTier>;
    using Warm = strata::testing::Switchable<strata::FileTier>;
    TempDir dir{"strata-metrics"};
    auto hot = std::make_shared<strata::testing::TierSwitches>();
    strata::StateManager mgr{fresh_stats, strata::NoCache{}, strata::NeverPromote{}, Hot{strata::MemoryTier{}, hot},
                             Warm{strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}}};
    auto clock = std::make_shared<strata::testing::TestClock>();
    strata::RecoveryOrchestrator recovery{mgr, strata::testing::quick(clock)};

    const std::string before = exposition(recovery);
    EXPECT_PROMTOOL_ACCEPTS(before);
    EXPECT_EQ(value_of(before, "strata_recovery_rounds_total"), 0);
    EXPECT_EQ(before.find("strata_recovery_tier_up"), std::string::npos);  // nothing probed yet
    EXPECT_EQ(before.find("strata_recovery_success_ratio"), std::string::npos);  // no incident ended

    recovery.check();
    hot->down = true;
    for (int i = 0; i < 3; ++i) {  // failure_threshold rounds
        clock->advance(1s);
        recovery.check();
    }
    const std::string down = exposition(recovery);
    EXPECT_PROMTOOL_ACCEPTS(down);
    EXPECT_EQ(value_of(down, "strata_recovery_rounds_total"), 4);
    EXPECT_EQ(value_of(down, "strata_recovery_tier_up{tier=\"memory\"}"), 0);
    EXPECT_EQ(value_of(down, "strata_recovery_tier_up{tier=\"file\"}"), 1);
    EXPECT_EQ(value_of(down, "strata_recovery_tier_consecutive_failures{tier=\"memory\"}"), 3);
    EXPECT_EQ(value_of(down, "strata_recovery_incidents_total"), 1);
    EXPECT_EQ(value_of(down, "strata_recovery_open_incidents{type=\"tier_down\"}"), 1);
    EXPECT_EQ(value_of(down, "strata_recovery_open_incidents{type=\"data_corruption\"}"), 0);

    hot->down = false;
    clock->advance(2s);
    recovery.check();
    // The built-in handler reconciles the returning hot tier on a thread of
    // its own, then the incident is over.
    ASSERT_TRUE(strata::testing::eventually([&] { return recovery.stats().open.empty(); }, 10s));
    const auto stats = recovery.stats();
    ASSERT_EQ(stats.recovered, 1u);
    const std::string up = exposition(recovery);
    EXPECT_PROMTOOL_ACCEPTS(up);
    EXPECT_EQ(value_of(up, "strata_recovery_tier_up{tier=\"memory\"}"), 1);
    EXPECT_EQ(value_of(up, "strata_recovery_open_incidents{type=\"tier_down\"}"), 0);
    EXPECT_EQ(value_of(up, "strata_recovery_incidents_recovered_total"), 1);
    EXPECT_EQ(value_of(up, "strata_recovery_incidents_escalated_total"), 0);
    EXPECT_EQ(value_of(up, "strata_recovery_success_ratio"), 1);
    ASSERT_TRUE(stats.last_rto);
    EXPECT_EQ(value_of(up, "strata_recovery_last_rto_seconds"), 2);  // detected at the third failed round, 2 s before
    EXPECT_EQ(value_of(up, "strata_recovery_worst_rto_seconds"), value_of(up, "strata_recovery_last_rto_seconds"));
    EXPECT_EQ(value_of(up, "strata_recovery_last_rpo_seconds"), 0);
}

// Every source over one manager in one exposition: no family or series
// clashes between them, and promtool accepts the whole.
TEST(Metrics, EverySourceTogetherIsOneValidExposition) {
    ManagerStack s;
    for (int i = 0; i < 10; ++i) s.mgr.set("k" + std::to_string(i), "v");
    strata::Checkpointer ckpt{s.mgr, strata::DirectoryCheckpointStore{s.dir.path / "ckpt", {.fsync = false}}};
    ckpt.create();
    auto store_options = strata::DirectoryBackupStore::backup_defaults();
    store_options.fsync = false;
    strata::BackupManager backups{s.mgr, strata::DirectoryBackupStore{s.dir.path / "backups", store_options},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
    backups.create(strata::BackupType::full);
    strata::RecoveryOrchestrator recovery{s.mgr, strata::testing::quick(std::make_shared<strata::testing::TestClock>())};
    recovery.check();
    const std::string text = exposition(s.mgr, ckpt, backups, recovery);
    EXPECT_PROMTOOL_ACCEPTS(text);
    for (const char* family : {"strata_tier_hits_total", "strata_cache_hits_total", "strata_checkpoints_created_total",
                               "strata_backups_created_total", "strata_recovery_rounds_total"})
        EXPECT_EQ(occurrences(text, std::string("# TYPE ") + family + " "), 1u) << family;
}

// ---- the Grafana dashboard ----------------------------------------------------

namespace {

// The names of the samples an exposition has (histograms: _bucket, _sum,
// _count), as a query would name them.
std::set<std::string> sample_names(const std::string& text) {
    std::set<std::string> names;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') names.insert(line.substr(0, line.find_first_of("{ ")));
    return names;
}

// Every query of every panel, rows' panels included.
void collect_exprs(const nlohmann::json& panels, std::vector<std::string>& out) {
    for (const auto& panel : panels) {
        if (panel.contains("panels")) collect_exprs(panel["panels"], out);
        if (!panel.contains("targets")) continue;
        for (const auto& target : panel["targets"])
            if (target.contains("expr")) out.push_back(target["expr"].get<std::string>());
    }
}

}  // namespace

// The dashboard's queries against an exposition with every source in it:
// instrumented tiers (operations, errors, latency and batch-size histograms,
// bytes), the manager and its cache, a checkpointer, a backup manager and an
// orchestrator that saw an incident end.
TEST(GrafanaDashboard, EveryMetricItQueriesIsExported) {
    using Hot = strata::Instrumented<strata::testing::Switchable<strata::MemoryTier>>;
    using Warm = strata::Instrumented<strata::FileTier>;
    TempDir dir{"strata-metrics"};
    auto switches = std::make_shared<strata::testing::TierSwitches>();
    strata::StateManager mgr{fresh_stats, strata::LruCache{4}, strata::NeverPromote{},
                             Hot{strata::testing::Switchable<strata::MemoryTier>{strata::MemoryTier{}, switches}},
                             Warm{strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}}};
    std::vector<std::pair<std::string, std::string>> kv;
    for (int i = 0; i < 20; ++i) kv.emplace_back("k" + std::to_string(i), "v");
    mgr.set_many(kv);
    std::vector<std::string> keys;
    for (const auto& [k, v] : kv) keys.push_back(k);
    mgr.get_many(keys);
    mgr.get_many(keys);

    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    ckpt.create();
    auto store_options = strata::DirectoryBackupStore::backup_defaults();
    store_options.fsync = false;
    strata::BackupManager backups{mgr, strata::DirectoryBackupStore{dir.path / "backups", store_options},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
    backups.create(strata::BackupType::full);
    auto clock = std::make_shared<strata::testing::TestClock>();
    strata::RecoveryOrchestrator recovery{mgr, strata::testing::quick(clock)};
    switches->down = true;
    for (int i = 0; i < 3; ++i) recovery.check();
    switches->down = false;
    clock->advance(1s);
    recovery.check();
    ASSERT_TRUE(strata::testing::eventually([&] { return recovery.stats().recovered == 1; }, 10s));

    const std::string text = exposition(mgr, ckpt, backups, recovery);
    EXPECT_PROMTOOL_ACCEPTS(text);
    const auto exported = sample_names(text);

    const auto path = std::filesystem::path(__FILE__).parent_path() / "../../examples/grafana/strata-dashboard.json";
    std::ifstream in(path);
    ASSERT_TRUE(in) << "cannot open " << path;
    const auto dashboard = nlohmann::json::parse(in);
    EXPECT_GE(dashboard.at("schemaVersion").get<int>(), 36);
    // The Prometheus data source is a variable, so the dashboard imports anywhere.
    const auto& variables = dashboard.at("templating").at("list");
    ASSERT_TRUE(std::any_of(variables.begin(), variables.end(), [](const auto& v) {
        return v.at("type") == "datasource" && v.at("query") == "prometheus" && v.at("name") == "datasource";
    }));
    for (const auto& panel : dashboard.at("panels")) {
        if (panel.at("type") == "row") continue;
        EXPECT_EQ(panel.at("datasource").at("uid"), "${datasource}") << panel.at("title");
    }

    std::vector<std::string> exprs;
    collect_exprs(dashboard.at("panels"), exprs);
    // Every strata_[a-z0-9_]+ in the expressions (a plain scan: std::regex
    // trips g++ 12's -Wmaybe-uninitialized under the sanitizer build's -O1).
    const auto name_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
    std::set<std::string> queried;
    for (const auto& expr : exprs)
        for (auto at = expr.find("strata_"); at != std::string::npos; at = expr.find("strata_", at)) {
            auto end = at;
            while (end < expr.size() && name_char(expr[end])) ++end;
            queried.insert(expr.substr(at, end - at));
            at = end;
        }
    EXPECT_GE(queried.size(), 25u);  // the panels the issue asks for, and more
    for (const auto& name : queried) EXPECT_TRUE(exported.count(name)) << name << " is queried but not exported";
    for (const char* needed : {"strata_tier_operations_total", "strata_tier_errors_total",
                               "strata_tier_operation_duration_seconds_bucket", "strata_tier_batch_size_bucket",
                               "strata_tier_keys", "strata_checkpoint_last_success_timestamp_seconds",
                               "strata_backup_last_success_timestamp_seconds", "strata_cache_hits_total",
                               "strata_tier_up"})
        EXPECT_TRUE(queried.count(needed)) << "no panel queries " << needed;
}
