// RecoveryOrchestrator watching a MemoryTier (hot) in front of a PostgresTier
// (warm, durable) on a private cluster, so the shared one is never disturbed:
// stopped with pg_ctl -m immediate under a writing load and restarted, then
// its data directory replaced by an empty cluster and the database created
// again. Each test prints how long detection and recovery took. The cluster
// is stopped and deleted however a test ends.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>  // size_t
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>  // declval
#include <vector>

#include "common/eventually.hpp"
#include "common/recovery_load.hpp"
#include "integration/postgres/pg_env.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"

namespace {

using namespace std::chrono_literals;
using strata::testing::eventually;
using strata::testing::ms;
using ::testing::HasSubstr;
namespace pgtest = strata::pgtest;
using Steady = std::chrono::steady_clock;

auto make_manager(const strata::PostgresOptions& o) {
    return strata::StateManager{strata::LruCache{10'000}, strata::NeverPromote{}, strata::MemoryTier{},
                                strata::PostgresTier{o}};
}
using Manager = decltype(make_manager(std::declval<strata::PostgresOptions>()));
using Writer = strata::testing::AcknowledgedWriter<Manager>;

strata::RecoveryOptions probe_every_second() {
    strata::RecoveryOptions ro;
    ro.probe_interval = 1s;
    ro.failure_threshold = 3;
    ro.probe_deadline = 1s;  // the tier's own call deadline (500 + 500 ms)
    return ro;
}

bool postgres_up(const strata::RecoveryOrchestrator<Manager>& rec) { return strata::testing::tier_up(rec, 1); }

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

// How the orchestrator's only incident ended, or that it is still open.
std::string incident_summary(const strata::RecoveryStats& st) {
    if (st.history.empty()) return "still open";
    const auto& incident = st.history.back();
    return std::string(to_string(incident.outcome)) +
           (incident.rto ? ", RTO " + std::to_string(ms(*incident.rto)) + " ms" : "");
}

TEST(PostgresRecovery, ImmediateStopIsDetectedAndTheTierRecoversWithEveryAcknowledgedWriteStored) {
    pgtest::PrivateCluster cluster;
    // The script's clusters commit asynchronously, and PostgreSQL itself
    // loses its last acknowledged commits in an immediate stop (a crash to
    // it): durable commits here, so anything missing is strata's doing.
    admin(cluster.conninfo(), "ALTER SYSTEM SET synchronous_commit = on");
    admin(cluster.conninfo(), "SELECT pg_reload_conf()");
    auto mgr = make_manager(pgtest::short_timeouts(cluster.conninfo()));
    strata::RecoveryOrchestrator rec{mgr, probe_every_second()};
    Writer writer{mgr};
    rec.start();
    ASSERT_TRUE(eventually([&] { return postgres_up(rec) && rec.last_report().healthy(); }, 20s));

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
    std::this_thread::sleep_for(500ms);  // and writes go on once it is back
    writer.stop();
    rec.stop();

    const auto st = rec.stats();
    EXPECT_EQ(st.incidents, 1u);
    EXPECT_EQ(st.recovered, 1u);
    ASSERT_EQ(st.history.size(), 1u);
    const auto& incident = st.history[0];
    EXPECT_EQ(incident.outcome, strata::IncidentOutcome::recovered);
    ASSERT_TRUE(incident.rto);
    EXPECT_EQ(incident.rpo, strata::Clock::duration::zero());

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
    const auto rto = ms(*incident.rto);
    std::cout << "PostgreSQL pg_ctl -m immediate: detected after " << detection
              << " ms (probe every 1 s, threshold 3, deadline 1 s); up again " << recovery
              << " ms after the restart; incident RTO (detected to healthy) " << rto << " ms; " << keys.size()
              << " acknowledged writes (" << writer.refused() << " refused), all in PostgreSQL\n";
    RecordProperty("detection_ms", static_cast<int>(detection));
    RecordProperty("up_after_restart_ms", static_cast<int>(recovery));
    RecordProperty("incident_rto_ms", static_cast<int>(rto));
}

// The data directory lost and replaced by an empty cluster: the tier is down
// while its database is missing (not_found, every call), and up once the
// operator creates the database again, its table re-created empty by the
// tier. What the manager then serves for keys PostgreSQL no longer has is
// printed, not asserted: the hot tier and the cache still hold them, and a
// handler restoring a durable tier that came back empty is still to come.
TEST(PostgresRecovery, AnEmptiedClusterIsDownUntilTheDatabaseIsCreatedAgainThenUpAndEmpty) {
    pgtest::PrivateCluster cluster;
    const std::string db = "strata_app";
    admin(cluster.conninfo(), "CREATE DATABASE " + db);
    auto mgr = make_manager(pgtest::short_timeouts(cluster.conninfo() + " dbname=" + db));
    std::vector<std::string> keys;
    for (int i = 0; i < 100; ++i) {
        keys.push_back("position:" + std::to_string(i));
        mgr.set(keys.back(), std::to_string(i * 100));
    }
    strata::RecoveryOrchestrator rec{mgr, probe_every_second()};
    rec.start();
    ASSERT_TRUE(eventually([&] { return postgres_up(rec) && rec.last_report().healthy(); }, 20s));

    const auto wiped = Steady::now();
    cluster.wipe();  // down while initdb runs, then up without the database
    const auto detected = eventually([&] { return !postgres_up(rec); }, 30s);
    ASSERT_TRUE(detected) << "PostgreSQL emptied 30 s ago is still up";
    const auto database_missing = "database \"" + db + "\" does not exist";
    ASSERT_TRUE(eventually(
        [&] { return rec.last_report().tiers[1].last_error.find(database_missing) != std::string::npos; }, 10s))
        << rec.last_report().tiers[1].last_error;
    EXPECT_FALSE(postgres_up(rec));
    ASSERT_EQ(rec.stats().open.size(), 1u);
    EXPECT_EQ(rec.stats().open[0].event.tier, "postgres");
    const auto served_while_missing = read_through(mgr, keys[1]);

    admin(cluster.conninfo(), "CREATE DATABASE " + db);
    const auto created = Steady::now();
    const auto back = eventually([&] { return postgres_up(rec); }, 30s);
    ASSERT_TRUE(back) << "PostgreSQL whose database was created again 30 s ago is still down: "
                      << rec.last_report().tiers[1].last_error;
    rec.stop();

    // How the incident ends is left out: a handler for a durable tier that
    // came back empty (restore from a checkpoint) is what decides it.
    const auto st = rec.stats();
    EXPECT_EQ(st.incidents, 1u);

    const auto in_postgres = mgr.tier<1>().fetch_many(keys);
    std::size_t left_in_postgres = 0, in_hot_tier = 0, served = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (in_postgres[i]) ++left_in_postgres;
        if (mgr.tier<0>().fetch(keys[i])) ++in_hot_tier;
        if (read_through(mgr, keys[i]) == std::to_string(i * 100)) ++served;
    }
    EXPECT_EQ(left_in_postgres, 0u);
    mgr.set("position:after", "1");  // the re-created table takes writes through the manager
    EXPECT_EQ(mgr.tier<1>().fetch("position:after").value().value, "1");

    const auto detection = ms(*detected - wiped), recovery = ms(*back - created);
    std::cout << "PostgreSQL data directory replaced by an empty cluster: detected after " << detection
              << " ms (from the start of the wipe); up again " << recovery
              << " ms after the database was created again; incident " << incident_summary(st) << ". Of " << keys.size()
              << " keys written before: " << left_in_postgres << " in PostgreSQL, " << in_hot_tier
              << " in the hot MemoryTier, " << served << " served by the manager with their old value (position:1 while"
              << " the database was missing: " << served_while_missing << ")\n";
    RecordProperty("detection_ms", static_cast<int>(detection));
    RecordProperty("up_after_database_created_ms", static_cast<int>(recovery));
    RecordProperty("keys_served_after_wipe", static_cast<int>(served));
}

}  // namespace
