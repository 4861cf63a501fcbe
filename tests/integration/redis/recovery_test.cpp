// RecoveryOrchestrator watching a RedisTier (hot) in front of a FileTier
// (warm, durable) on a private redis-server: killed with kill -9 under a
// writing load and restarted, then frozen with SIGSTOP and resumed. Each
// test prints how long detection and recovery took.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>  // SIGSTOP, SIGCONT

#include <chrono>
#include <iostream>
#include <memory>  // unique_ptr
#include <string>
#include <thread>
#include <utility>  // declval

#include "common/eventually.hpp"
#include "common/failure.hpp"
#include "common/recovery_load.hpp"
#include "common/temp_dir.hpp"
#include "integration/redis/support.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/redis.hpp"

namespace {

using namespace std::chrono_literals;
using strata::testing::eventually;
using strata::testing::ms;
using strata::testing::TempDir;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
namespace rt = strata_test::redis;
using Resume = strata::testing::Resume<rt::Server>;

auto make_manager(const strata::RedisOptions& o, const TempDir& dir) {
    return strata::StateManager{strata::NoCache{}, strata::NeverPromote{}, strata::RedisTier{o},
                                strata::FileTier{dir.path}};
}
using Manager = decltype(make_manager(std::declval<strata::RedisOptions>(), std::declval<const TempDir&>()));

using Writer = strata::testing::AcknowledgedWriter<Manager>;

bool redis_up(const strata::RecoveryOrchestrator<Manager>& rec) { return strata::testing::tier_up(rec, 0); }

TEST(RedisRecovery, KillIsDetectedAndTheTierRecoversWithEveryAcknowledgedWriteReadable) {
    rt::Server server;
    TempDir dir;
    auto o = rt::options(server.port());
    o.connect_timeout = o.command_timeout = 300ms;
    auto mgr = make_manager(o, dir);
    strata::RecoveryOptions ro;
    ro.probe_interval = 1s;
    ro.failure_threshold = 3;
    ro.probe_deadline = 800ms;
    // Destroyed before the end, to see it take its markers with it.
    auto orchestrator = std::make_unique<strata::RecoveryOrchestrator<Manager>>(mgr, ro);
    auto& rec = *orchestrator;
    Writer writer{mgr};
    rec.start();
    ASSERT_TRUE(eventually([&] { return redis_up(rec) && rec.last_report().healthy(); }, 20s));
    const auto written_before = writer.acknowledged().size();

    const auto killed = std::chrono::steady_clock::now();
    server.kill9();
    const auto detected = eventually([&] { return !redis_up(rec); }, 30s);
    ASSERT_TRUE(detected) << "Redis killed 30 s ago is still up";
    ASSERT_EQ(rec.stats().open.size(), 1u);
    EXPECT_EQ(rec.stats().open[0].event.type, strata::FailureType::tier_down);
    EXPECT_EQ(rec.stats().open[0].event.tier, "redis");
    EXPECT_TRUE(rec.last_report().tiers[1].up);
    std::this_thread::sleep_for(1s);  // writes go on while it is down
    const auto written_while_down = writer.acknowledged().size();

    server.start();  // same port, empty (no persistence)
    const auto restarted = std::chrono::steady_clock::now();
    const auto back = eventually([&] { return redis_up(rec); }, 30s);
    ASSERT_TRUE(back) << "Redis restarted 30 s ago is still down";
    std::this_thread::sleep_for(500ms);  // and writes go on once it is back
    ASSERT_TRUE(eventually([&] { return rec.stats().open.empty(); }, 10s));  // reconciled and re-warmed
    writer.stop();
    rec.stop();

    const auto st = rec.stats();
    const auto* incident = strata::testing::only_incident_recovered(st);
    ASSERT_NE(incident, nullptr);
    ASSERT_TRUE(incident->rto);

    const auto acknowledged = writer.acknowledged();
    EXPECT_GT(written_while_down, written_before);
    EXPECT_GT(acknowledged.size(), written_while_down);
    int lost = 0;
    for (const auto& [key, value] : acknowledged)
        if (mgr.get(key) != value) ++lost;
    EXPECT_EQ(lost, 0) << "of " << acknowledged.size() << " acknowledged writes";
    // Every probe erased its record; each tier keeps only the marker the
    // next round would check, until the orchestrator goes.
    EXPECT_THAT(mgr.tier<0>().keys("__strata_probe__*"), ElementsAre(EndsWith("/marker")));
    EXPECT_THAT(mgr.tier<1>().keys("__strata_probe__*"), ElementsAre(EndsWith("/marker")));
    orchestrator.reset();
    EXPECT_TRUE(mgr.tier<0>().keys("__strata_probe__*").empty());
    EXPECT_TRUE(mgr.tier<1>().keys("__strata_probe__*").empty());

    const auto detection = ms(*detected - killed), recovery = ms(*back - restarted);
    const auto rto = std::chrono::duration_cast<std::chrono::milliseconds>(*incident->rto).count();
    std::cout << "Redis kill -9: detected after " << detection << " ms (probe every 1 s, threshold 3); up again "
              << recovery << " ms after the restart; incident RTO (detected to healthy) " << rto << " ms; "
              << acknowledged.size() << " acknowledged writes (" << writer.refused()
              << " refused), all readable\n";
    RecordProperty("detection_ms", static_cast<int>(detection));
    RecordProperty("up_after_restart_ms", static_cast<int>(recovery));
    RecordProperty("incident_rto_ms", static_cast<int>(rto));
}

// A frozen server accepts connections and never answers. The tier's own
// timeout is set far above the probe deadline: only the orchestrator's
// deadline can find it down in time.
TEST(RedisRecovery, FrozenServerIsDownAtTheProbeDeadlineAndUpAfterSigcont) {
    rt::Server server;
    TempDir dir;
    auto o = rt::options(server.port());
    o.connect_timeout = o.command_timeout = 5s;
    auto mgr = make_manager(o, dir);
    mgr.set("position:1", "100");
    strata::RecoveryOptions ro;
    ro.probe_interval = 200ms;
    ro.failure_threshold = 2;
    ro.probe_deadline = 500ms;
    strata::RecoveryOrchestrator rec{mgr, ro};
    rec.start();
    ASSERT_TRUE(eventually([&] { return redis_up(rec); }, 20s));

    std::optional<std::chrono::steady_clock::time_point> detected;
    std::chrono::steady_clock::time_point frozen;
    {
        server.signal(SIGSTOP);
        Resume resume{server};
        frozen = std::chrono::steady_clock::now();
        detected = eventually([&] { return !redis_up(rec); }, 30s);
        ASSERT_TRUE(detected) << "Redis frozen 30 s ago is still up";
        EXPECT_THAT(rec.last_report().tiers[0].last_error,
                    AnyOf(HasSubstr("no answer within the probe deadline of 500 ms"),
                          HasSubstr("earlier round has not returned")));
        EXPECT_TRUE(rec.last_report().tiers[1].up);
    }  // SIGCONT
    const auto resumed = std::chrono::steady_clock::now();
    const auto back = eventually([&] { return redis_up(rec); }, 30s);
    ASSERT_TRUE(back) << "Redis resumed 30 s ago is still down";
    // The incident ends once the built-in handler has reconciled the tier.
    ASSERT_TRUE(eventually([&] { return rec.stats().open.empty(); }, 10s));
    rec.stop();

    EXPECT_EQ(mgr.get("position:1"), "100");
    const auto st = rec.stats();
    const auto* incident = strata::testing::only_incident_recovered(st);
    ASSERT_NE(incident, nullptr);
    ASSERT_TRUE(incident->rto);
    const auto rto = std::chrono::duration_cast<std::chrono::milliseconds>(*incident->rto).count();
    std::cout << "Redis SIGSTOP (command timeout 5 s, probe deadline 500 ms, every 200 ms, threshold 2): detected after "
              << ms(*detected - frozen) << " ms; up again " << ms(*back - resumed)
              << " ms after SIGCONT; incident RTO " << rto << " ms\n";
    RecordProperty("detection_ms", static_cast<int>(ms(*detected - frozen)));
    RecordProperty("up_after_sigcont_ms", static_cast<int>(ms(*back - resumed)));
}

}  // namespace
