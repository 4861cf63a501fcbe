// Recovery over a whole stack: LruCache + RedisTier (hot, a private
// redis-server that is killed and restarted) + PostgresTier (warm, durable,
// the fixture's server, a table per test).
//
// Redis killed with kill -9 under a writing and a reading load, then
// restarted from a snapshot older than what it held, or empty: the
// RecoveryOrchestrator finds it down, quarantines it, and when it answers
// again without its marker reconciles and re-warms it; no read ever serves a
// value older than the newest acknowledged one. And a process killed while
// Redis is down: the stale marks it left in PostgreSQL keep the next process
// from serving the copies the restarted Redis brings back.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>  // WIFSIGNALED, WTERMSIG

#include <algorithm>  // max
#include <atomic>
#include <chrono>
#include <cstddef>  // size_t
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/crash_harness.hpp"  // Child, Channel
#include "common/eventually.hpp"
#include "common/recovery_load.hpp"
#include "common/temp_dir.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"

namespace {

using namespace std::chrono_literals;
using strata::testing::eventually;
using strata::testing::ms;
using Steady = std::chrono::steady_clock;
namespace crash = strata::testing::crash;
namespace rt = strata_test::redis;

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::RedisTier, strata::PostgresTier>;
using Writer = strata::testing::AcknowledgedWriter<Manager>;

// The load: the writer's keys, each written over and over; hot keys,
// written once and then only read, so the cache lists them and only a
// re-warm can put them back into an emptied Redis (NeverPromote); and keys
// written again after the snapshot and never while Redis is down, so no
// stale mark covers the older copy the snapshot brings back: only the
// orchestrator (the marker, quarantine, reconcile) keeps it from being served.
constexpr std::size_t written_keys = 200;
constexpr int hot_keys = 20, late_keys = 50;

std::string hot_key(int i) { return "hot:" + std::to_string(i); }
std::string late_key(int i) { return "late:" + std::to_string(i); }

// A short timeout, so a dead Redis costs each call little.
strata::RedisOptions redis_options(int port, std::string prefix) {
    auto o = rt::options(port, std::move(prefix));
    o.connect_timeout = o.command_timeout = 300ms;
    return o;
}

Manager make_manager(const strata::RedisOptions& redis, const strata::PostgresOptions& postgres) {
    return Manager{strata::LruCache{1000}, strata::NeverPromote{}, strata::RedisTier{redis},
                   strata::PostgresTier{postgres}};
}

// A redis-server whose snapshot (SAVE) goes to a directory the test knows,
// so it can be kept for the restart (old data) or removed (empty).
struct SnapshotRedis {
    strata::testing::TempDir data{"strata-redis-data"};
    rt::Server server{"--dir " + data.path.string()};  // after the script's --dir, so it wins

    std::filesystem::path snapshot() const { return data.path / "dump.rdb"; }
    void save() {
        rt::Raw raw(server.port());
        const auto reply = raw({"SAVE"});
        ASSERT_EQ(strata::detail::redis::text(*reply), "OK");
        ASSERT_TRUE(std::filesystem::exists(snapshot()));
    }
};

// A PostgreSQL table of the test's own, dropped however it ends.
struct ScratchTable {
    strata::PostgresOptions options = strata::pgtest::options();
    ~ScratchTable() { strata::pgtest::drop_table(options); }
};

bool redis_up(const strata::RecoveryOrchestrator<Manager>& rec) { return strata::testing::tier_up(rec, 0); }

// Whether `held` is older than `acknowledged`: a writer's value with a
// smaller write number, or any other value than the one the test wrote.
bool older_than(const std::string& held, const std::string& acknowledged) {
    const auto h = Writer::write_number(held), a = Writer::write_number(acknowledged);
    return h && a ? *h < *a : held != acknowledged;
}

// Reads every key of the load through the manager until stopped, checking
// each against what was acknowledged before the read began: a writer's key
// must give that value or a newer one, a key the test wrote (expect()) that
// value. Failed reads are counted apart (they serve nothing).
class CheckingReader {
public:
    CheckingReader(Manager& mgr, Writer& writer) : mgr_(mgr), writer_(writer), thread_([this] { run(); }) {}
    CheckingReader(const CheckingReader&) = delete;
    CheckingReader& operator=(const CheckingReader&) = delete;
    ~CheckingReader() { stop(); }

    // Reads `key` too from now on, expecting `value` (acknowledged already).
    void expect(const std::string& key, const std::string& value) {
        std::lock_guard lock(m_);
        expected_[key] = value;
    }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    long reads() const { return reads_; }
    long failed() const { return failed_; }
    std::vector<std::string> older_than_acknowledged() {
        std::lock_guard lock(m_);
        return older_;
    }
    std::string first_failure() {
        std::lock_guard lock(m_);
        return first_failure_;
    }

private:
    void run() {
        while (!stopping_) {
            for (std::size_t k = 0; k < written_keys && !stopping_; ++k) {
                const std::string key = "order:" + std::to_string(k);
                const auto newest = writer_.acknowledged(key);
                if (newest) check(key, *newest);
            }
            std::map<std::string, std::string> expected;
            {
                std::lock_guard lock(m_);
                expected = expected_;
            }
            for (const auto& [key, value] : expected) {
                if (stopping_) break;
                check(key, value);
            }
            std::this_thread::sleep_for(5ms);
        }
    }

    void check(const std::string& key, const std::string& newest) {
        try {
            const auto got = mgr_.get(key);
            ++reads_;
            if (got && !older_than(*got, newest)) return;
            std::lock_guard lock(m_);
            older_.push_back(key + ": served " + got.value_or("<absent>") + " after " + newest + " was acknowledged");
        } catch (const strata::Error& e) {
            ++failed_;
            std::lock_guard lock(m_);
            if (first_failure_.empty()) first_failure_ = e.what();
        }
    }

    Manager& mgr_;
    Writer& writer_;
    std::atomic<long> reads_{0}, failed_{0};
    std::mutex m_;
    std::map<std::string, std::string> expected_;
    std::vector<std::string> older_;
    std::string first_failure_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

std::optional<long> oldest_write(const std::map<std::string, std::string>& acknowledged) {
    if (acknowledged.size() < written_keys) return std::nullopt;
    long oldest = -1;
    for (const auto& [key, value] : acknowledged) {
        const long n = Writer::write_number(value).value_or(-1);
        if (oldest < 0 || n < oldest) oldest = n;
    }
    return oldest;
}

long newest_write(const std::map<std::string, std::string>& acknowledged) {
    long newest = -1;
    for (const auto& [key, value] : acknowledged) newest = std::max(newest, Writer::write_number(value).value_or(-1));
    return newest;
}

enum class Restart { from_older_snapshot, empty };

// Redis killed under load and restarted from a snapshot older than what it
// held, or with the snapshot removed: found down, healthy again with the
// incident recovered, every acknowledged write read back, and no read at any
// time older than what was acknowledged. Prints detection and recovery times.
void kill_and_restart_under_load(Restart how) {
    SnapshotRedis redis;
    ScratchTable table;
    auto mgr = make_manager(redis_options(redis.server.port(), rt::unique_prefix("stack-recovery")), table.options);
    std::map<std::string, std::string> written_by_test;  // hot and late keys: the values last acknowledged
    const auto set = [&](const std::string& key, const std::string& value) {
        mgr.set(key, value);
        written_by_test[key] = value;
    };
    for (int i = 0; i < hot_keys; ++i) set(hot_key(i), "hot");
    for (int i = 0; i < late_keys; ++i) set(late_key(i), "before the snapshot");
    strata::RecoveryOptions ro;
    ro.probe_interval = 1s;
    ro.failure_threshold = 3;
    ro.probe_deadline = 800ms;
    strata::RecoveryOrchestrator rec{mgr, ro};
    rec.start();
    ASSERT_TRUE(eventually([&] { return redis_up(rec) && rec.last_report().healthy(); }, 20s));
    Writer writer{mgr, written_keys};
    CheckingReader reader{mgr, writer};
    for (int i = 0; i < hot_keys; ++i) reader.expect(hot_key(i), "hot");
    ASSERT_TRUE(eventually([&] { return oldest_write(writer.acknowledged()).has_value(); }, 30s))
        << "the writer did not write each of its keys within 30 s";

    redis.save();
    const long saved = newest_write(writer.acknowledged());
    const auto saved_round = rec.last_report().round;
    // Redis moves past its snapshot: the late keys and every writer's key
    // written again, and a later probe round's marker.
    for (int i = 0; i < late_keys; ++i) set(late_key(i), "after the snapshot");
    ASSERT_TRUE(eventually(
        [&] { return oldest_write(writer.acknowledged()) > saved && rec.last_report().round >= saved_round + 2; },
        30s))
        << "the writer did not write each of its keys again within 30 s";

    const auto killed = Steady::now();
    redis.server.kill9();
    const auto detected = eventually([&] { return !redis_up(rec); }, 5s);
    ASSERT_TRUE(detected) << "Redis killed 5 s ago is still up";
    EXPECT_TRUE(mgr.quarantined(0));
    const long newest_at_detection = newest_write(writer.acknowledged());
    const long reads_at_detection = reader.reads();
    const auto detected_round = rec.last_report().round;
    // Down for two more rounds, writes acknowledged through PostgreSQL
    // meanwhile; restarted half-way between two rounds, not just before
    // one, so the time to healthy is a typical one.
    ASSERT_TRUE(eventually([&] { return rec.last_report().round >= detected_round + 2; }, 10s));
    std::this_thread::sleep_for(ro.probe_interval / 2);
    EXPECT_GT(newest_write(writer.acknowledged()), newest_at_detection + 100);

    if (how == Restart::empty) {
        ASSERT_TRUE(std::filesystem::remove(redis.snapshot()));
    }
    const auto restarted = Steady::now();
    redis.server.start();  // same port, same data directory; returns once it answers PING
    const long reads_while_down = reader.reads() - reads_at_detection;
    // Read before, the late keys would sit in the cache, and the copies
    // Redis brings back would never be asked for.
    for (int i = 0; i < late_keys; ++i) reader.expect(late_key(i), "after the snapshot");
    const auto healthy = eventually([&] { return !rec.stats().history.empty(); }, 10s);
    ASSERT_TRUE(healthy) << "Redis restarted 10 s ago: the incident is still open";
    EXPECT_FALSE(mgr.quarantined(0));
    const long newest_at_recovery = newest_write(writer.acknowledged());
    ASSERT_TRUE(eventually([&] { return newest_write(writer.acknowledged()) > newest_at_recovery + 100; }, 20s))
        << "writes do not go on after the recovery";
    writer.stop();
    reader.stop();
    rec.stop();

    const auto st = rec.stats();
    const auto* recovered = strata::testing::only_incident_recovered(st);
    ASSERT_NE(recovered, nullptr);
    const auto& incident = *recovered;
    EXPECT_EQ(incident.event.type, strata::FailureType::tier_down);
    EXPECT_EQ(incident.event.tier, "redis");
    EXPECT_TRUE(incident.event.tier_reset) << "Redis came back without the marker of its last round";
    ASSERT_TRUE(incident.rto);

    const auto older = reader.older_than_acknowledged();
    EXPECT_TRUE(older.empty()) << older.size() << " reads went back in time, the first: " << older.front();
    EXPECT_GT(reads_while_down, 0);
    EXPECT_EQ(reader.failed(), 0) << "the first failed read: " << reader.first_failure();

    // Read back from the tiers, not the cache.
    mgr.invalidate_cache();
    auto acknowledged = writer.acknowledged();
    acknowledged.insert(written_by_test.begin(), written_by_test.end());
    std::vector<std::string> lost, older_in_redis;
    for (const auto& [key, value] : acknowledged) {
        if (const auto got = mgr.get(key); got != value) lost.push_back(key + " = " + got.value_or("<absent>"));
        if (const auto held = mgr.tier<0>().fetch(key); held && older_than(held->value, value))
            older_in_redis.push_back(key + " = " + held->value);
    }
    EXPECT_THAT(lost, ::testing::IsEmpty()) << "of " << acknowledged.size() << " keys";
    EXPECT_THAT(older_in_redis, ::testing::IsEmpty()) << "of " << acknowledged.size() << " keys";
    if (how == Restart::empty) {
        // Only a re-warm from the cache's keys puts a hot key back.
        int rewarmed = 0;
        for (int i = 0; i < hot_keys; ++i)
            if (const auto held = mgr.tier<0>().fetch(hot_key(i)); held && held->value == "hot") ++rewarmed;
        EXPECT_EQ(rewarmed, hot_keys);
    }

    const auto detection = ms(*detected - killed), healthy_after = ms(*healthy - restarted);
    const auto rto = ms(*incident.rto);
    std::cout << (how == Restart::empty ? "Redis restarted empty" : "Redis restarted from an older snapshot")
              << ": detected after " << detection << " ms (probe every 1 s, threshold 3); healthy again "
              << healthy_after << " ms after the restart; incident RTO (detected to healthy) " << rto << " ms; "
              << written_keys << " keys written " << newest_write(acknowledged) + 1 << " times ("
              << writer.refused() << " refused), " << reader.reads() << " reads checked (" << reads_while_down
              << " while Redis was down), " << older.size() << " older than acknowledged\n";
    ::testing::Test::RecordProperty("detection_ms", static_cast<int>(detection));
    ::testing::Test::RecordProperty("healthy_after_restart_ms", static_cast<int>(healthy_after));
    ::testing::Test::RecordProperty("incident_rto_ms", static_cast<int>(rto));
}

TEST(StackRecovery, RedisRestartedFromAnOlderSnapshotIsReconciledAndNoReadGoesBackInTime) {
    kill_and_restart_under_load(Restart::from_older_snapshot);
}

TEST(StackRecovery, RedisRestartedEmptyIsReconciledAndRewarmedAndNoReadGoesBackInTime) {
    kill_and_restart_under_load(Restart::empty);
}

// ---- a process killed while Redis is down ---------------------------------

constexpr const char* role_var = "STRATA_STACK_RECOVERY_ROLE";
constexpr const char* port_var = "STRATA_STACK_RECOVERY_REDIS_PORT";
constexpr const char* prefix_var = "STRATA_STACK_RECOVERY_REDIS_PREFIX";
constexpr const char* table_var = "STRATA_STACK_RECOVERY_PG_TABLE";

// The worker's keys: all written while Redis is up; then, while it is down,
// the first `rewritten` written again and the next `erased` erased.
constexpr int worker_keys = 30, rewritten = 10, erased = 10;
std::string worker_key(int k) { return "position:" + std::to_string(k); }

strata::PostgresOptions worker_postgres(const std::string& table) {
    auto o = strata::pgtest::options();
    o.table = table;
    return o;
}

}  // namespace

// Run by StackRecovery.AProcessKilledWhileRedisIsDown...: writes, waits for
// the parent to kill Redis, writes and erases while it is down, says so,
// and waits to be killed.
TEST(StackRecovery, WorkerKilledWhileRedisIsDown) {
    if (crash::env_or_empty(role_var).empty()) GTEST_SKIP() << "a process of StackRecovery.AProcessKilledWhileRedis...";
    crash::Channel parent(crash::child_fd);
    auto mgr = make_manager(redis_options(std::stoi(crash::env_or_empty(port_var)), crash::env_or_empty(prefix_var)),
                            worker_postgres(crash::env_or_empty(table_var)));
    for (int k = 0; k < worker_keys; ++k) mgr.set(worker_key(k), "old");
    parent.say("written");
    ASSERT_TRUE(eventually([&] { return !mgr.tier<0>().ping(); }, 20s)) << "the parent did not kill Redis";
    for (int k = 0; k < rewritten; ++k) mgr.set(worker_key(k), "new");
    for (int k = rewritten; k < rewritten + erased; ++k) mgr.erase(worker_key(k));
    parent.say("done");
    std::this_thread::sleep_for(30s);  // killed long before
}

TEST(StackRecovery, AProcessKilledWhileRedisIsDownLeavesMarksTheNextProcessHonours) {
    SnapshotRedis redis;
    ScratchTable table;
    const auto prefix = rt::unique_prefix("killed-while-down");
    std::optional<crash::detail::Child> worker;
    worker.emplace("StackRecovery.WorkerKilledWhileRedisIsDown",
                   std::vector<std::string>{std::string(role_var) + "=worker",
                                            std::string(port_var) + '=' + std::to_string(redis.server.port()),
                                            std::string(prefix_var) + '=' + prefix,
                                            std::string(table_var) + '=' + table.options.table});
    const auto until = Steady::now() + 60s;
    ASSERT_EQ(worker->line(until), "written");
    redis.save();  // what Redis holds now comes back with it
    redis.server.kill9();
    ASSERT_EQ(worker->line(until), "done");
    const int status = worker->kill_and_reap();
    worker.reset();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the worker ended by itself: " << status;

    redis.server.start();  // with what it held when killed
    const auto redis_opts = redis_options(redis.server.port(), prefix);
    strata::PostgresTier postgres{worker_postgres(table.options.table)};
    {
        strata::RedisTier raw{redis_opts};
        int old_copies = 0;
        for (int k = 0; k < worker_keys; ++k)
            if (const auto held = raw.fetch(worker_key(k)); held && held->value == "old") ++old_copies;
        ASSERT_EQ(old_copies, worker_keys) << "Redis did not come back with its old data";
    }
    EXPECT_EQ(postgres.keys("__strata_stale__*").size(), static_cast<std::size_t>(rewritten + erased))
        << "the marks of what Redis missed are not all in PostgreSQL";

    auto mgr = make_manager(redis_opts, worker_postgres(table.options.table));
    const auto expected = [](int k) -> std::optional<std::string> {
        if (k < rewritten) return "new";
        if (k < rewritten + erased) return std::nullopt;
        return "old";
    };
    // Half of each group is read before the reconcile: a read that passes
    // over a marked copy may erase it (a best-effort follow-up), and the
    // other half's copies are left for the reconcile to find by their marks.
    const auto read_before_reconcile = [](int k) { return k % 10 < 5; };
    // Each key the manager serves otherwise than acknowledged, with what it served.
    const auto misserved = [&](bool all) {
        std::vector<std::string> wrong;
        for (int k = 0; k < worker_keys; ++k)
            if (all || read_before_reconcile(k))
                if (const auto got = mgr.get(worker_key(k)); got != expected(k))
                    wrong.push_back(worker_key(k) + " = " + got.value_or("<absent>"));
        return wrong;
    };
    EXPECT_THAT(misserved(false), ::testing::IsEmpty());
    int left_for_reconcile = 0;
    for (int k = 0; k < rewritten + erased; ++k)
        if (!read_before_reconcile(k) && mgr.tier<0>().fetch(worker_key(k))) ++left_for_reconcile;
    EXPECT_EQ(left_for_reconcile, (rewritten + erased) / 2);
    // Nor are the erased keys listed, though Redis holds them.
    EXPECT_EQ(mgr.keys("position:*").size(), static_cast<std::size_t>(worker_keys - erased));

    const auto report = mgr.reconcile(0);
    EXPECT_GE(report.erased, static_cast<std::size_t>(left_for_reconcile));
    EXPECT_TRUE(postgres.keys("__strata_stale__*").empty());
    // Redis holds no copy older than PostgreSQL's, nor one PostgreSQL lost.
    auto held = mgr.tier<0>().keys("*");
    strata::erase_reserved_keys(held);
    const auto in_redis = mgr.tier<0>().fetch_many(held);
    const auto in_postgres = postgres.fetch_many(held);
    for (std::size_t j = 0; j < held.size(); ++j) {
        ASSERT_TRUE(in_redis[j]) << held[j];
        EXPECT_TRUE(in_postgres[j] && in_redis[j]->version >= in_postgres[j]->version)
            << held[j] << ": Redis holds version " << in_redis[j]->version << ", PostgreSQL "
            << (in_postgres[j] ? std::to_string(in_postgres[j]->version) : "none");
    }
    EXPECT_EQ(held.size(), static_cast<std::size_t>(worker_keys - rewritten - erased));
    EXPECT_THAT(misserved(true), ::testing::IsEmpty());
    std::cout << "A process killed while Redis was down: " << rewritten << " keys written and " << erased
              << " erased while it was down left " << rewritten + erased
              << " marks in PostgreSQL; the next process served none of the " << rewritten + erased
              << " old copies Redis came back with; reconcile(0) examined " << report.examined << " keys and erased "
              << report.erased << " copies (" << left_for_reconcile << " no read had passed over)\n";
}
