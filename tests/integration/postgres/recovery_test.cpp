// RecoveryOrchestrator watching a MemoryTier (hot) in front of a PostgresTier
// (warm, durable) on a private cluster, so the shared one is never disturbed:
// stopped with pg_ctl -m immediate under a writing load and restarted, then
// its data directory replaced by an empty cluster and the database created
// again, with a checkpoint to restore from and without one. Each test prints
// how long detection and recovery took. The cluster is stopped and deleted
// however a test ends.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>  // size_t
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>  // declval
#include <vector>

#include "common/eventually.hpp"
#include "common/recovery_load.hpp"
#include "common/recovery_support.hpp"
#include "common/temp_dir.hpp"
#include "integration/postgres/pg_env.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"

namespace {

using namespace std::chrono_literals;
using strata::Clock;
using strata::testing::eventually;
using strata::testing::ms;
using strata::testing::TempDir;
using ::testing::HasSubstr;
namespace pgtest = strata::pgtest;
using Steady = std::chrono::steady_clock;

auto make_manager(const strata::PostgresOptions& o) {
    return strata::StateManager{strata::LruCache{10'000}, strata::NeverPromote{}, strata::MemoryTier{},
                                strata::PostgresTier{o}};
}
using Manager = decltype(make_manager(std::declval<strata::PostgresOptions>()));
using Recovery = strata::RecoveryOrchestrator<Manager>;
using Writer = strata::testing::AcknowledgedWriter<Manager>;
using Checkpoints = strata::Checkpointer<Manager, strata::DirectoryCheckpointStore>;

strata::RecoveryOptions probe_every_second() {
    strata::RecoveryOptions ro;
    ro.probe_interval = 1s;
    ro.failure_threshold = 3;
    ro.probe_deadline = 1s;  // the tier's own call deadline (500 + 500 ms)
    return ro;
}

bool postgres_up(const Recovery& rec) { return strata::testing::tier_up(rec, 1); }

// As the cluster's superuser, on a connection of its own.
void admin(const std::string& conninfo, const std::string& sql) {
    pqxx::connection c(conninfo);
    pqxx::nontransaction(c).exec(sql);
}

// What the manager answers for `key`, as text, without throwing: only
// observed, not asserted.
std::string read_through(Manager& mgr, const std::string& key) {
    try {
        return mgr.get(key).value_or("<absent>");
    } catch (const strata::Error& e) {
        return std::string("<error: ") + e.what() + ">";
    }
}

// The orchestrator's only incident, once it has ended; nullopt while it is
// still open after `bound`.
std::optional<strata::Incident> finished_incident(const Recovery& rec, std::chrono::milliseconds bound) {
    if (!eventually([&] { return !rec.stats().history.empty(); }, bound)) return std::nullopt;
    return rec.stats().history.back();
}

// A checkpoint's cut as a time: versions are microseconds since the epoch.
Clock::time_point cut_time(const strata::CheckpointInfo& info) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(info.version_cut)));
}

TEST(PostgresRecovery, ImmediateStopIsDetectedAndTheTierRecoversWithEveryAcknowledgedWriteStored) {
    pgtest::PrivateCluster cluster;
    // The script's clusters commit asynchronously, and PostgreSQL itself
    // loses its last acknowledged commits in an immediate stop (a crash to
    // it): durable commits here, so anything missing is strata's doing.
    admin(cluster.conninfo(), "ALTER SYSTEM SET synchronous_commit = on");
    admin(cluster.conninfo(), "SELECT pg_reload_conf()");
    auto mgr = make_manager(pgtest::short_timeouts(cluster.conninfo()));
    TempDir checkpoint_dir{"strata-pg-recovery-ckpt"};
    Checkpoints ckpt{mgr, strata::DirectoryCheckpointStore{checkpoint_dir.path}};
    Recovery rec{mgr, probe_every_second()};
    // A checkpoint to restore from, which must not be used: PostgreSQL keeps
    // its data through a crash, so restoring would lose the writes after it.
    rec.use(ckpt);
    Writer writer{mgr};
    rec.start();
    ASSERT_TRUE(eventually([&] { return postgres_up(rec) && rec.last_report().healthy(); }, 20s));
    ASSERT_TRUE(eventually([&] { return writer.acknowledged().size() >= 50; }, 10s));
    ckpt.create();
    const auto acknowledged_at_checkpoint = writer.acknowledged().size();
    ASSERT_TRUE(eventually([&] { return writer.acknowledged().size() >= acknowledged_at_checkpoint + 50; }, 10s))
        << "writes go on after the checkpoint";

    const auto stopped = Steady::now();
    cluster.crash();
    const auto detected = eventually([&] { return !postgres_up(rec); }, 30s);
    ASSERT_TRUE(detected) << "PostgreSQL stopped 30 s ago is still up";
    ASSERT_EQ(rec.stats().open.size(), 1u);
    EXPECT_EQ(rec.stats().open[0].event.type, strata::FailureType::tier_down);
    EXPECT_EQ(rec.stats().open[0].event.tier, "postgres");
    EXPECT_TRUE(rec.last_report().tiers[0].up);
    const int refused_before = writer.refused();
    std::this_thread::sleep_for(1s);  // writes go on, refused: the durable tier takes them first
    EXPECT_GT(writer.refused(), refused_before);
    const auto written_while_down = writer.acknowledged().size();

    cluster.restart();  // crash recovery, same port
    const auto restarted = Steady::now();
    const auto back = eventually([&] { return postgres_up(rec); }, 30s);
    ASSERT_TRUE(back) << "PostgreSQL restarted 30 s ago is still down";
    const auto incident = finished_incident(rec, 30s);
    ASSERT_TRUE(incident) << "the incident is still open 30 s after PostgreSQL came back";
    std::this_thread::sleep_for(500ms);  // and writes go on once it is back
    writer.stop();
    rec.stop();

    const auto st = rec.stats();
    EXPECT_EQ(st.incidents, 1u);
    EXPECT_EQ(st.recovered, 1u);
    EXPECT_EQ(incident->outcome, strata::IncidentOutcome::recovered);
    EXPECT_FALSE(incident->event.tier_reset) << "PostgreSQL came back with the marker the last probe left";
    ASSERT_TRUE(incident->rto);
    EXPECT_EQ(incident->rpo, strata::Clock::duration::zero());
    EXPECT_EQ(ckpt.stats().rollbacks, 0u);

    // The hot MemoryTier and the cache would answer the manager's reads
    // whatever PostgreSQL kept: the durable tier is read directly.
    const auto acknowledged = writer.acknowledged();
    EXPECT_GT(acknowledged.size(), written_while_down);
    std::vector<std::string> keys;
    for (const auto& entry : acknowledged) keys.push_back(entry.first);
    const auto stored = mgr.tier<1>().fetch_many(keys);
    int missing_in_postgres = 0, misread = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (!stored[i] || stored[i]->value != acknowledged.at(keys[i])) ++missing_in_postgres;
        if (mgr.get(keys[i]) != acknowledged.at(keys[i])) ++misread;
    }
    EXPECT_EQ(missing_in_postgres, 0) << "of " << keys.size() << " acknowledged writes";
    EXPECT_EQ(misread, 0) << "of " << keys.size() << " acknowledged writes";

    const auto detection = ms(*detected - stopped), recovery = ms(*back - restarted);
    const auto rto = ms(*incident->rto);
    std::cout << "PostgreSQL pg_ctl -m immediate: detected after " << detection
              << " ms (probe every 1 s, threshold 3, deadline 1 s); up again " << recovery
              << " ms after the restart; incident RTO (detected to healthy) " << rto << " ms, RPO 0, no restore; "
              << keys.size() << " acknowledged writes (" << acknowledged_at_checkpoint << " before the checkpoint, "
              << writer.refused() << " refused), all in PostgreSQL\n";
    RecordProperty("detection_ms", static_cast<int>(detection));
    RecordProperty("up_after_restart_ms", static_cast<int>(recovery));
    RecordProperty("incident_rto_ms", static_cast<int>(rto));
}

// A database of its own on a private cluster, which a test replaces by an
// empty cluster and creates again, as an operator would after losing the
// data directory.
class ReplaceableDatabase {
public:
    ReplaceableDatabase() { create(); }

    std::string conninfo() const { return cluster_.conninfo() + " dbname=" + name_; }

    struct Replacement {
        Clock::time_point started;  // when the wipe began
        long long detection_ms = 0;
        long long up_after_created_ms = 0;
    };

    // Wipes the cluster under a running orchestrator, waits until it finds
    // PostgreSQL down for want of the database (not_found naming it), then
    // creates the database again and waits until PostgreSQL is up.
    void replace(const Recovery& rec, Replacement& out) {
        out.started = Clock::now();
        const auto wiped = Steady::now();
        cluster_.wipe();  // down while initdb runs, then up without the database
        const auto detected = eventually([&] { return !postgres_up(rec); }, 30s);
        ASSERT_TRUE(detected) << "PostgreSQL emptied 30 s ago is still up";
        const auto database_missing = "database \"" + name_ + "\" does not exist";
        ASSERT_TRUE(eventually(
            [&] { return rec.last_report().tiers[1].last_error.find(database_missing) != std::string::npos; }, 10s))
            << rec.last_report().tiers[1].last_error;
        EXPECT_FALSE(postgres_up(rec));
        ASSERT_EQ(rec.stats().open.size(), 1u);
        EXPECT_EQ(rec.stats().open[0].event.tier, "postgres");

        create();
        const auto created = Steady::now();
        const auto back = eventually([&] { return postgres_up(rec); }, 30s);
        ASSERT_TRUE(back) << "PostgreSQL whose database was created again 30 s ago is still down: "
                          << rec.last_report().tiers[1].last_error;
        out.detection_ms = ms(*detected - wiped);
        out.up_after_created_ms = ms(*back - created);
    }

private:
    void create() { admin(cluster_.conninfo(), "CREATE DATABASE " + name_); }

    pgtest::PrivateCluster cluster_;
    const std::string name_ = "strata_app";
};

// The data directory lost and replaced by an empty cluster, the database
// created again: PostgreSQL answers without the marker the last probe left,
// so the incident is a reset, and the built-in handler rolls both tiers back
// to the newest verified checkpoint. What was written after it is lost (the
// RPO), from the hot MemoryTier too.
TEST(PostgresRecovery, AnEmptiedClusterIsRestoredFromTheNewestVerifiedCheckpoint) {
    ReplaceableDatabase db;
    auto mgr = make_manager(pgtest::short_timeouts(db.conninfo()));
    TempDir checkpoint_dir{"strata-pg-recovery-ckpt"};  // outside the cluster: survives the wipe
    Checkpoints ckpt{mgr, strata::DirectoryCheckpointStore{checkpoint_dir.path}};
    Recovery rec{mgr, probe_every_second()};
    rec.use(ckpt);
    rec.start();
    ASSERT_TRUE(eventually([&] { return postgres_up(rec) && rec.last_report().healthy(); }, 20s));

    // Two checkpoints: the restore must take the newer. `checkpointed` is
    // what the newer one holds.
    std::map<std::string, std::string> checkpointed;
    for (int i = 0; i < 100; ++i) {
        const auto key = "position:" + std::to_string(i), value = std::to_string(i * 100);
        mgr.set(key, value);
        checkpointed[key] = value;
    }
    const auto older = ckpt.create();
    for (int i = 0; i < 50; ++i) {
        const auto key = "position:" + std::to_string(i), value = std::to_string(i * 100 + 1);
        mgr.set(key, value);
        checkpointed[key] = value;
    }
    const auto newest = ckpt.create();
    ASSERT_LT(older.created_at, newest.created_at);

    // Acknowledged after the newest checkpoint: gone with the cluster, but
    // still in the hot MemoryTier, which is written down before the
    // checkpoint fills in the rest.
    const auto lost_from = Clock::now();
    std::vector<std::string> overwritten, added;
    for (int i = 50; i < 100; ++i) {
        overwritten.push_back("position:" + std::to_string(i));
        mgr.set(overwritten.back(), "after-checkpoint");
    }
    for (int i = 0; i < 20; ++i) {
        added.push_back("order:" + std::to_string(i));
        mgr.set(added.back(), "after-checkpoint");
    }

    ReplaceableDatabase::Replacement replaced;
    ASSERT_NO_FATAL_FAILURE(db.replace(rec, replaced));
    const auto incident = finished_incident(rec, 30s);
    ASSERT_TRUE(incident) << "the incident is still open 30 s after PostgreSQL came back";
    rec.stop();

    EXPECT_EQ(rec.stats().incidents, 1u);
    EXPECT_EQ(incident->event.type, strata::FailureType::tier_down);
    EXPECT_TRUE(incident->event.tier_reset) << "PostgreSQL came back without the marker the last probe left";
    EXPECT_EQ(incident->outcome, strata::IncidentOutcome::recovered)
        << (incident->attempts.empty() ? "no attempt" : incident->attempts.back().error);
    ASSERT_FALSE(incident->attempts.empty());
    EXPECT_TRUE(incident->attempts.back().ok);
    EXPECT_EQ(ckpt.stats().rollbacks, 1u);
    ASSERT_TRUE(incident->rto);
    ASSERT_TRUE(incident->rpo);
    // At most from the cut (the newest write the checkpoint holds) to the
    // newest write acknowledged: it spans every write after the checkpoint,
    // and ends before the wipe. Versions are whole microseconds, hence the
    // cast. (An upper bound: the hot tier saved them all here.)
    const auto rpo = *incident->rpo;
    const auto cut_to_wipe = replaced.started - cut_time(newest);
    EXPECT_GT(rpo, Clock::duration::zero());
    EXPECT_GE(rpo, std::chrono::duration_cast<std::chrono::microseconds>(lost_from - cut_time(newest)));
    EXPECT_LE(rpo, cut_to_wipe);

    // Every acknowledged write reads back, from PostgreSQL itself and
    // through the manager: the checkpoint's values, and what came after it
    // from the hot tier's copies.
    std::map<std::string, std::string> acknowledged = checkpointed;
    for (const auto& key : overwritten) acknowledged[key] = "after-checkpoint";
    for (const auto& key : added) acknowledged[key] = "after-checkpoint";
    std::size_t in_postgres_as_acknowledged = 0, served_as_acknowledged = 0;
    for (const auto& [key, value] : acknowledged) {
        const auto in_postgres = mgr.tier<1>().fetch(key);
        if (in_postgres && in_postgres->value == value) ++in_postgres_as_acknowledged;
        if (mgr.get(key) == value) ++served_as_acknowledged;
    }
    EXPECT_EQ(in_postgres_as_acknowledged, acknowledged.size());
    EXPECT_EQ(served_as_acknowledged, acknowledged.size());
    mgr.set("position:after", "1");  // the restored table takes writes through the manager
    EXPECT_EQ(mgr.tier<1>().fetch("position:after").value().value, "1");

    const auto rto = ms(*incident->rto);
    std::cout << "PostgreSQL data directory replaced by an empty cluster, restored from a checkpoint: detected after "
              << replaced.detection_ms << " ms (from the start of the wipe); up again "
              << replaced.up_after_created_ms << " ms after the database was created again; incident "
              << to_string(incident->outcome) << " in " << incident->attempts.size() << " attempt(s), RTO " << rto
              << " ms, RPO " << ms(rpo) << " ms (checkpoint cut to wipe " << ms(cut_to_wipe) << " ms); "
              << acknowledged.size() << " keys back (" << overwritten.size() + added.size()
              << " written after the checkpoint, saved from the hot tier)\n";
    RecordProperty("detection_ms", static_cast<int>(replaced.detection_ms));
    RecordProperty("up_after_database_created_ms", static_cast<int>(replaced.up_after_created_ms));
    RecordProperty("incident_rto_ms", static_cast<int>(rto));
    RecordProperty("incident_rpo_ms", static_cast<int>(ms(rpo)));
}

// The same with nothing given to recovery.use(): the restore handler fails
// every attempt, and a person gets a checklist saying there is nothing to
// restore from. The tier still takes writes.
TEST(PostgresRecovery, AnEmptiedClusterWithNoCheckpointOrBackupIsEscalated) {
    ReplaceableDatabase db;
    auto mgr = make_manager(pgtest::short_timeouts(db.conninfo()));
    TempDir escalations{"strata-pg-escalations"};
    auto options = probe_every_second();
    options.escalation_dir = escalations.path;
    Recovery rec{mgr, options};
    rec.start();
    ASSERT_TRUE(eventually([&] { return postgres_up(rec) && rec.last_report().healthy(); }, 20s));
    std::vector<std::string> keys;
    for (int i = 0; i < 100; ++i) {
        keys.push_back("position:" + std::to_string(i));
        mgr.set(keys.back(), std::to_string(i * 100));
    }

    ReplaceableDatabase::Replacement replaced;
    ASSERT_NO_FATAL_FAILURE(db.replace(rec, replaced));
    const auto incident = finished_incident(rec, 30s);
    ASSERT_TRUE(incident) << "the incident is still open 30 s after PostgreSQL came back";
    rec.stop();

    const auto st = rec.stats();
    EXPECT_EQ(st.incidents, 1u);
    EXPECT_EQ(st.escalated, 1u);
    EXPECT_TRUE(incident->event.tier_reset);
    EXPECT_EQ(incident->outcome, strata::IncidentOutcome::escalated);
    ASSERT_EQ(incident->attempts.size(), options.max_attempts);
    for (const auto& attempt : incident->attempts) {
        EXPECT_FALSE(attempt.ok);
        EXPECT_THAT(attempt.error, HasSubstr("there is no checkpoint or backup to restore it from"));
    }
    EXPECT_FALSE(incident->rpo) << "unknown: no handler said what was lost";
    EXPECT_EQ(incident->escalation_error, "");
    ASSERT_EQ(incident->checklist, escalations.path / (incident->id + ".md"));
    const auto checklist = strata::testing::read_all(incident->checklist);
    EXPECT_THAT(checklist, HasSubstr("tier_down in tier `postgres`"));
    EXPECT_THAT(checklist, HasSubstr("no checkpoint or backup to restore it from: none was given to recovery.use()"));

    std::size_t left_in_postgres = 0, served = 0;
    const auto in_postgres = mgr.tier<1>().fetch_many(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (in_postgres[i]) ++left_in_postgres;
        if (read_through(mgr, keys[i]) == std::to_string(i * 100)) ++served;
    }
    // The hot tier's copies were written down before the restore gave up:
    // nothing acknowledged is lost, though nothing was restored.
    EXPECT_EQ(left_in_postgres, keys.size());
    EXPECT_EQ(served, keys.size());
    mgr.set("position:after", "1");  // the re-created table takes writes through the manager
    EXPECT_EQ(mgr.tier<1>().fetch("position:after").value().value, "1");

    std::cout << "PostgreSQL data directory replaced by an empty cluster, nothing to restore from: detected after "
              << replaced.detection_ms << " ms; up again " << replaced.up_after_created_ms
              << " ms after the database was created again; incident " << to_string(incident->outcome) << " after "
              << incident->attempts.size() << " attempts, checklist " << incident->checklist.filename().string()
              << ". Of " << keys.size() << " keys written before: " << left_in_postgres << " in PostgreSQL, " << served
              << " still served by the manager from the hot MemoryTier\n";
    RecordProperty("detection_ms", static_cast<int>(replaced.detection_ms));
    RecordProperty("up_after_database_created_ms", static_cast<int>(replaced.up_after_created_ms));
}

}  // namespace
