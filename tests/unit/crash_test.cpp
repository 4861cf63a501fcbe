// kill -9 crash test over MemoryTier + FileTier with a DirectoryCheckpointStore
// (tests/common/crash_harness.hpp): a worker killed at random moments, the
// tiers and the checkpoints reopened by a new process each time.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/crash_harness.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/strata.hpp"

namespace {

namespace crash = strata::testing::crash;
namespace fs = std::filesystem;

constexpr const char* dir_var = "STRATA_CRASH_DIR";

fs::path state_dir() { return crash::env_or_empty(dir_var); }

// How many temporary files a directory tree holds.
std::size_t temp_files(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().starts_with(strata::detail::file::temp_prefix)) ++n;
    return n;
}

// fsync off: a kill -9 loses no page cache, so syncing would only slow the
// test down (power cuts are another matter, not tested here).
struct FileWorld {
    using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{state_dir() / "tier", {.fsync = false}}};
    strata::Checkpointer<Manager, strata::DirectoryCheckpointStore> ckpt{
        mgr, strata::DirectoryCheckpointStore{state_dir() / "checkpoints", {.fsync = false}}, {.batch_size = 16}};

    // The durable tier alone: the memory tier dies with the process.
    strata::CheckpointInfo checkpoint(strata::CaptureOptions capture) {
        return ckpt.create<strata::FileTier>(strata::CheckpointType::manual, capture);
    }

    template <class F>
    void each_tier(F&& f) {
        f(mgr.tier<strata::FileTier>(), 0);
    }

    // Opening the tier and the store removed the temporary files the killed
    // writer left.
    std::vector<std::string> problems() {
        std::vector<std::string> out;
        for (const char* sub : {"tier", "checkpoints"})
            if (const auto n = temp_files(state_dir() / sub))
                out.push_back(std::to_string(n) + " temporary files left in " + sub + " after open");
        return out;
    }
};

}  // namespace

TEST(CrashTest, FileTierChild) {
    if (!crash::in_child()) GTEST_SKIP() << "a process of CrashTest.FileTierKill9";
    crash::child<FileWorld>();
}

TEST(CrashTest, FileTierKill9) {
    strata::testing::TempDir dir{"strata-crash"};
    crash::run({.child_test = "CrashTest.FileTierChild",
                .env = {std::string(dir_var) + '=' + dir.path.string()},
                .tiers = 1});
}

// Found by FileTierKill9: a rollback erased every key the tier held newer
// than captured before storing it back, so a kill in between left keys that
// existed before and in the checkpoint absent. A tier that takes an older
// version (every tier but PostgreSQL with newer_versions_only) is now only
// written: each key is replaced in one rename.
TEST(CrashTest, RollbackReplacesNewerKeysWithoutErasingThem) {
    strata::testing::TempDir dir{"strata-crash"};
    using Watched = strata::testing::Switchable<strata::FileTier>;
    using Manager = strata::StateManager<strata::NoCache, strata::NeverPromote, Watched>;
    Manager mgr{strata::NoCache{}, strata::NeverPromote{}, Watched{strata::FileTier{dir.path / "tier", {.fsync = false}}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "checkpoints", {.fsync = false}}};
    for (int k = 0; k < 8; ++k) mgr.set(crash::key_name(k), crash::make_value(k, 1));
    const auto info = ckpt.create();
    for (int k = 0; k < 8; ++k) mgr.set(crash::key_name(k), crash::make_value(k, 2));

    int erases = 0;
    mgr.tier<Watched>().switches().before = [&](std::string_view op) { erases += op.starts_with("erase"); };
    const auto report = ckpt.rollback(info.id);
    EXPECT_EQ(erases, 0);
    EXPECT_EQ(report.keys_restored, 8u);
    for (int k = 0; k < 8; ++k) EXPECT_EQ(mgr.get(crash::key_name(k)), crash::make_value(k, 1)) << k;
}
