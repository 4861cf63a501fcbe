// The concurrent stress test over MemoryTier + FileTier: 8 threads mix every
// read, write, move and checkpoint call for a bounded count, and the history
// checker (common/history_checker.hpp) explains every read by the writes
// around it. Built into the unit tests, so it also runs under the address,
// undefined and thread sanitizers.
#include <gtest/gtest-spi.h>  // ScopedFakeTestPartResultReporter
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/strata.hpp>

#include "common/history_checker.hpp"
#include "common/temp_dir.hpp"

namespace history = strata::testing::history;

TEST(Stress, EveryReadIsExplainedByTheWritesAroundIt) {
    strata::testing::TempDir dir;
    strata::StateManager mgr{strata::LruCache{32}, strata::AlwaysPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path / "tier", {.fsync = false}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};

    const history::Workload workload;
    history::Log log;
    history::run(mgr, ckpt, workload, log);
    const auto figures = history::check(mgr, log, workload);
    EXPECT_GT(figures.reads_checked, 1000u);
    EXPECT_GT(figures.rollbacks, 0u);
    history::report(figures, "memory + file");
}

// The checker itself, on histories written by hand over one key, "w0:k0":
// "1" written at tickets 10-11, a checkpoint at 20-21, "2" written at 30-40,
// and, in the first case, a rollback to the checkpoint at 50-60.
class HistoryChecker : public ::testing::Test {
protected:
    strata::testing::TempDir dir;
    strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier> mgr{
        strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}, strata::FileTier{dir.path, {.fsync = false}}};
    const history::Workload one_key{.writers = 1, .keys_per_writer = 1};
    history::Log log;

    HistoryChecker() {
        log.changes["w0:k0"] = {{10, 11, "1", {}}, {30, 40, "2", {}}};
        log.captures.push_back({"c", 20, 21});
    }
    void read(std::uint64_t begun, std::uint64_t ended, const char* value) {
        log.reads.push_back({"w0:k0", begun, ended, history::Value(value), 0});
    }
    // What the checker reports, gathered instead of failing this test.
    std::string failures() {
        ::testing::TestPartResultArray results;
        {
            const ::testing::ScopedFakeTestPartResultReporter gather(
                ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
            history::check(mgr, log, one_key);
        }
        std::string all;
        for (int i = 0; i < results.size(); ++i) all += results.GetTestPartResult(i).message() + std::string("\n");
        return all;
    }
};

// A rollback puts back a value the key held before: a long read that began
// before "2" and returned "1" saw the first "1", so reading "2" next is not
// going back in time.
TEST_F(HistoryChecker, AValueARollbackPutsBackMayBeTheOlderOne) {
    log.rollbacks.push_back({50, 60, std::nullopt, "c"});
    mgr.set("w0:k0", "1");  // the rolled-back state, for the final check
    read(25, 55, "1");
    read(56, 57, "2");
    EXPECT_EQ(failures(), "");
    EXPECT_EQ(history::check(mgr, log, one_key).reads_checked, 2u);
}

TEST_F(HistoryChecker, AReadGoingBackInTimeFails) {
    mgr.set("w0:k0", "2");
    read(31, 32, "2");
    read(33, 34, "1");  // "1" is still in range, but older than what this thread read
    EXPECT_NE(failures().find("w0:k0: thread 0 read 1 after a newer value"), std::string::npos);
}

TEST_F(HistoryChecker, AValueNoWriteExplainsFails) {
    mgr.set("w0:k0", "2");
    read(41, 42, "1");  // "2" was acknowledged before the read began
    EXPECT_NE(failures().find("w0:k0: thread 0 read 1, which no write around the read explains"), std::string::npos);
}

TEST_F(HistoryChecker, AKeyNotHoldingItsLastValueFails) {
    mgr.set("w0:k0", "1");
    const auto reported = failures();
    EXPECT_NE(reported.find("mgr.get(key)"), std::string::npos) << reported;
    EXPECT_NE(reported.find("hot->value"), std::string::npos) << reported;
}
