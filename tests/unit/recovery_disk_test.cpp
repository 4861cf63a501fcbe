// RecoveryOrchestrator over a MemoryTier and a FileTier whose disk fills up:
// the FileTier root (and, in one test, a checkpoint directory) on a 2 MiB
// tmpfs mounted for the test (root only; skipped, saying why, where it
// cannot be mounted). The probe's store fails with ENOSPC; at the failure
// threshold the incident is disk_full, not tier_down, and the built-in
// handler runs at once: expired records are swept, or old checkpoints go by
// retention, the tier answers on the next round and the incident is
// recovered. With nothing to free it is escalated with a checklist. Every
// write the manager acknowledged reads back throughout. Rounds are driven
// by check(); the recovered incidents' RTOs are measured on the real clock
// and printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <cstring>  // strerror
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <strata/strata.hpp>

#include "common/eventually.hpp"
#include "common/recovery_support.hpp"
#include "common/temp_dir.hpp"
#include "common/tmpfs.hpp"

using namespace std::chrono_literals;
using strata::Clock;
using strata::FailureType;
using strata::IncidentOutcome;
using strata::testing::eventually;
using strata::testing::incompressible;
using strata::testing::TestClock;
using ::testing::HasSubstr;

namespace {

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
using Orchestrator = strata::RecoveryOrchestrator<Manager>;
using Checkpoints = strata::Checkpointer<Manager, strata::DirectoryCheckpointStore>;

constexpr std::size_t file_tier = 1;
const std::string no_space = std::strerror(ENOSPC);

bool says_disk_full(const std::string& error) { return error.find(no_space) != std::string::npos; }

class RecoveryDiskFullTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!disk.mounted()) GTEST_SKIP() << "no small disk to fill: " << disk.why();
    }

    strata::testing::TempDir dir{"strata-recovery-disk"};
    // Declared after dir: unmounted before dir is removed.
    strata::testing::TmpfsMount disk{dir.path / "disk", "2m"};
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{disk.path() / "tier", strata::FileTierOptions{.fsync = false}}};
    std::map<std::string, std::string> acknowledged;

    // Rounds driven by check(); checklists go to the real disk, which has room.
    strata::RecoveryOptions options(const std::shared_ptr<TestClock>& clock) const {
        auto o = strata::testing::quick(clock);
        o.escalation_dir = dir.path / "incidents";
        return o;
    }
    // The same, with detection and recovery times from the real clock, so
    // the incident's RTO is what it took.
    strata::RecoveryOptions real_time_options() const {
        auto o = options(std::make_shared<TestClock>());
        o.clock = [] { return Clock::now(); };
        return o;
    }

    // Writes through the manager; an acknowledged write is kept, a refused
    // one must have been refused for want of space.
    bool write(const std::string& key, const std::string& value) {
        try {
            mgr.set(key, value);
        } catch (const strata::Error& e) {
            EXPECT_PRED1(says_disk_full, std::string(e.what()));
            return false;
        }
        acknowledged[key] = value;
        return true;
    }

    void write_orders(int from, int to) {
        for (int i = from; i < to; ++i)
            ASSERT_TRUE(write("order:" + std::to_string(i), "open-" + std::to_string(i)));
    }

    // From the manager and from the file tier itself, which acknowledged them.
    void expect_acknowledged_read_back() {
        for (const auto& [key, value] : acknowledged) {
            EXPECT_EQ(mgr.get(key), value) << key;
            const auto held = mgr.tier<file_tier>().fetch(key);
            ASSERT_TRUE(held) << key << " is not in the file tier";
            EXPECT_EQ(held->value, value) << key;
        }
    }

    // Fills the disk with records in the file tier, written through the
    // manager with `ttl`: big ones, then ever smaller, until not even the
    // smallest fits. Returns when the last of them expires.
    Clock::time_point fill_with_expiring_records(std::chrono::milliseconds ttl) {
        constexpr std::size_t at_most = 10'000;  // 2 MiB holds ~512 one-page files
        std::size_t n = 0;
        Clock::time_point last_expiry{};
        for (const std::size_t size : {64 * 1024, 4 * 1024, 1}) {
            for (;; ++n) {
                if (n == at_most) throw std::runtime_error("the disk never filled up");
                const auto written_at = Clock::now();
                try {
                    mgr.set("filler:" + std::to_string(n), incompressible(size, n), strata::at<file_tier>,
                            strata::SetOptions{.ttl = ttl});
                } catch (const strata::Error& e) {
                    if (!says_disk_full(e.what())) throw;
                    break;
                }
                last_expiry = written_at + ttl;
            }
        }
        return last_expiry;
    }

    // Rounds until the threshold: the file tier stays up (no incident) for
    // threshold - 1 of them, each failing for want of space; the last opens
    // a disk_full incident for it, the memory tier untouched.
    strata::Incident fail_until_disk_full(Orchestrator& rec) {
        const unsigned threshold = rec.options().failure_threshold;
        for (unsigned round = 1; round < threshold; ++round) {
            const auto r = rec.check();
            EXPECT_TRUE(r.tiers[file_tier].up) << "down after " << round << " failed rounds";
            EXPECT_EQ(r.tiers[file_tier].consecutive_failures, round);
            EXPECT_PRED1(says_disk_full, r.tiers[file_tier].last_error);
        }
        EXPECT_EQ(rec.stats().incidents, 0u);
        const auto r = rec.check();
        EXPECT_FALSE(r.tiers[file_tier].up);
        EXPECT_TRUE(r.tiers[0].up);
        const auto st = rec.stats();
        EXPECT_EQ(st.incidents, 1u);
        if (st.open.size() != 1) throw std::runtime_error("expected one open incident at the threshold");
        const auto& inc = st.open[0];
        EXPECT_EQ(inc.event.type, FailureType::disk_full) << to_string(inc.event.type);
        EXPECT_EQ(inc.event.tier, "file");
        EXPECT_EQ(inc.event.tier_index, file_tier);
        EXPECT_PRED1(says_disk_full, inc.event.detail);
        return inc;
    }

    // The disk_full handler runs at once, not when the tier answers.
    static std::optional<strata::HandlerAttempt> first_attempt(const Orchestrator& rec) {
        if (!eventually(
                [&] {
                    const auto st = rec.stats();
                    return !st.history.empty() || (!st.open.empty() && !st.open[0].attempts.empty());
                },
                10s))
            return std::nullopt;
        const auto st = rec.stats();
        const auto& inc = st.open.empty() ? st.history.at(0) : st.open[0];
        return inc.attempts.at(0);
    }

    // The next round finds the file tier answering; the handler's second
    // run (for the returning tier) ends the incident.
    static strata::Incident recovered(Orchestrator& rec) {
        EXPECT_TRUE(rec.check().tiers[file_tier].up);
        if (!eventually([&] { return rec.stats().open.empty(); }, 10s))
            throw std::runtime_error("the incident did not end within 10 s of the tier answering");
        const auto st = rec.stats();
        EXPECT_EQ(st.recovered, 1u);
        EXPECT_EQ(st.escalated, 0u);
        if (st.history.size() != 1) throw std::runtime_error("expected one finished incident");
        const auto& inc = st.history[0];
        EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
        EXPECT_TRUE(inc.rto.has_value());
        EXPECT_EQ(inc.rpo, Clock::duration::zero());
        return inc;
    }

    static void print_rto(const std::string& what, const strata::Incident& inc, std::uint64_t freed) {
        const auto us = [](Clock::duration d) {
            return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        };
        std::cout << "disk_full, " << what << " (the probe's error: " << inc.event.detail
                  << "): the handler's first attempt took " << us(inc.attempts.at(0).ended - inc.attempts.at(0).started)
                  << " us and freed " << freed / 1024 << " KiB; RTO " << us(inc.rto.value_or(Clock::duration::zero()))
                  << " us (detection to the next round, driven by check(), finding the tier answering; "
                  << inc.attempts.size() << " handler runs)\n";
    }
};

}  // namespace

TEST_F(RecoveryDiskFullTest, ExpiredRecordsAreSweptAndTheTierAnswersAgain) {
    Orchestrator rec{mgr, real_time_options()};
    write_orders(0, 20);
    ASSERT_TRUE(rec.check().healthy());

    const auto fillers_expire = fill_with_expiring_records(1s);
    ASSERT_EQ(disk.free_bytes(), 0u);
    EXPECT_FALSE(write("order:refused-while-full", "never acknowledged"));
    // Nothing reads the fillers (a read would remove an expired one): the
    // space stays taken until a sweep.
    ASSERT_TRUE(eventually([&] { return Clock::now() > fillers_expire; }, 10s));

    const auto opened = fail_until_disk_full(rec);
    const auto attempt = first_attempt(rec);
    ASSERT_TRUE(attempt) << "the disk_full handler did not run within 10 s";
    EXPECT_TRUE(attempt->ok) << attempt->error;
    const auto freed = disk.free_bytes();
    EXPECT_GT(freed, 1024u * 1024u) << "the sweep should free the megabytes of expired fillers";
    EXPECT_EQ(mgr.tier<file_tier>().keys("filler:*"), std::vector<std::string>{});

    const auto inc = recovered(rec);
    EXPECT_EQ(inc.id, opened.id);
    EXPECT_EQ(inc.event.type, FailureType::disk_full);
    print_rto("expired records swept", inc, freed);

    write_orders(20, 30);
    expect_acknowledged_read_back();
}

TEST_F(RecoveryDiskFullTest, RetentionDropsOldCheckpointsAndTheTierAnswersAgain) {
    // Checkpoints older than an hour go when retention is applied; their
    // creation times come from a clock the test moves.
    auto checkpoint_clock = std::make_shared<TestClock>();
    Checkpoints ckpt{mgr, strata::DirectoryCheckpointStore{disk.path() / "checkpoints", {.fsync = false}},
                     strata::CheckpointerOptions{.retention = strata::Retention{.max_age = 1h},
                                                 .clock = [checkpoint_clock] { return checkpoint_clock->now(); }}};
    Orchestrator rec{mgr, real_time_options()};
    rec.use(ckpt);

    write_orders(0, 20);
    // A quarter of a megabyte no compression shrinks, so each checkpoint is as big.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(write("blob:" + std::to_string(i), incompressible(64 * 1024, i)));
    const auto old_ckpt = ckpt.create<strata::FileTier>();
    checkpoint_clock->advance(30min);
    const auto new_ckpt = ckpt.create<strata::FileTier>();
    ASSERT_GE(old_ckpt.stored_bytes, 256u * 1024u);
    ASSERT_TRUE(rec.check().healthy());

    disk.fill(0);
    ASSERT_EQ(disk.free_bytes(), 0u);
    EXPECT_FALSE(write("order:refused-while-full", "never acknowledged"));
    checkpoint_clock->advance(31min);  // the older one is now past the hour, the newer is not

    const auto opened = fail_until_disk_full(rec);
    const auto attempt = first_attempt(rec);
    ASSERT_TRUE(attempt) << "the disk_full handler did not run within 10 s";
    EXPECT_TRUE(attempt->ok) << attempt->error;
    const auto freed = disk.free_bytes();
    EXPECT_GE(freed, 256u * 1024u);
    ASSERT_EQ(ckpt.list().size(), 1u);
    EXPECT_EQ(ckpt.list()[0].id, new_ckpt.id);
    EXPECT_TRUE(ckpt.verify(new_ckpt.id));

    const auto inc = recovered(rec);
    EXPECT_EQ(inc.id, opened.id);
    EXPECT_EQ(inc.event.type, FailureType::disk_full);
    print_rto("old checkpoints dropped by retention", inc, freed);

    write_orders(20, 30);
    expect_acknowledged_read_back();
}

TEST_F(RecoveryDiskFullTest, NothingToFreeIsEscalatedWithAChecklist) {
    auto clock = std::make_shared<TestClock>();
    auto o = options(clock);
    o.rto_target = 1min;
    Orchestrator rec{mgr, o};
    write_orders(0, 20);
    ASSERT_TRUE(rec.check().healthy());

    // A file no sweep or retention touches takes the space.
    const auto filler = disk.fill(0);
    EXPECT_FALSE(write("order:refused-while-full", "never acknowledged"));
    fail_until_disk_full(rec);
    const auto attempt = first_attempt(rec);
    ASSERT_TRUE(attempt) << "the disk_full handler did not run within 10 s";
    std::cout << "disk_full with nothing to free: the handler's first attempt "
              << (attempt->ok ? "reported success" : "failed: " + attempt->error) << "\n";
    EXPECT_EQ(disk.free_bytes(), 0u);

    clock->advance(2min);  // past the RTO target, still full
    EXPECT_FALSE(rec.check().tiers[file_tier].up);
    ASSERT_TRUE(eventually([&] { return rec.stats().escalated == 1; }, 10s));
    const auto st = rec.stats();
    const auto& inc = st.open.empty() ? st.history.at(0) : st.open[0];
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_EQ(inc.event.type, FailureType::disk_full);
    ASSERT_FALSE(inc.checklist.empty()) << inc.escalation_error;
    EXPECT_EQ(inc.checklist.parent_path(), dir.path / "incidents");
    const auto checklist = strata::testing::read_all(inc.checklist);
    EXPECT_THAT(checklist, HasSubstr("disk_full"));
    EXPECT_THAT(checklist, HasSubstr("in tier `file`"));
    EXPECT_THAT(checklist, HasSubstr(no_space));
    EXPECT_THAT(checklist, HasSubstr("sweep_expired"));  // the class's next steps
    expect_acknowledged_read_back();

    // A person frees the space: the tier answers and takes writes again.
    std::filesystem::remove(filler);
    EXPECT_TRUE(rec.check().tiers[file_tier].up);
    write_orders(20, 30);
    expect_acknowledged_read_back();
}
