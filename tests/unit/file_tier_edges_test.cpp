// FileTier's error paths and bookkeeping that coverage found untested: a
// write cut short by the file size limit (as by a full disk), something
// other than a record file at a key's path, temporary files in stats and
// sweeps, and a tier used again in a forked child.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <strata/tiers/file.hpp>

#include "common/temp_dir.hpp"

namespace fs = std::filesystem;
using strata::testing::TempDir;
using ::testing::HasSubstr;

namespace {

std::string detail_of(const strata::TierStats& st, std::string_view name) {
    for (const auto& [k, v] : st.details)
        if (k == name) return v;
    return "(none)";
}

// Files may grow to `bytes` while this lives; a write past that fails with
// EFBIG, as one on a full disk fails with ENOSPC. SIGXFSZ is ignored so the
// write reports the error instead of ending the process.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
        rlimit limited = saved_;
        limited.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &limited);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        ::signal(SIGXFSZ, old_handler_);
    }

private:
    rlimit saved_{};
    sighandler_t old_handler_;
};

strata::FileTierOptions options(std::string name) {
    strata::FileTierOptions o;
    o.name = std::move(name);
    o.compression.enabled = false;
    return o;
}

}  // namespace

TEST(FileTierEdges, AWriteCutShortFailsAndLeavesTheOldRecordAndNoTemporaryFile) {
    TempDir dir;
    strata::FileTier tier{dir.path, options("files")};
    tier.store("k", strata::make_record("old", 1));
    const std::string big(64 * 1024, 'x');
    std::optional<strata::Error> failed;
    {
        const FileSizeLimit limit(4096);
        try {
            tier.store("k", strata::make_record(big, 2));
        } catch (const strata::Error& e) {
            failed = e;
        }
    }
    ASSERT_TRUE(failed) << "a write past the file size limit was reported stored";
    EXPECT_EQ(failed->kind(), strata::ErrorKind::unavailable);  // space may come back
    EXPECT_EQ(failed->tier(), "files");
    EXPECT_EQ(failed->operation(), "store");
    ASSERT_TRUE(tier.fetch("k"));
    EXPECT_EQ(tier.fetch("k")->value, "old");
    EXPECT_EQ(detail_of(tier.stats(), "temp_files"), "0");
    tier.store("k", strata::make_record(big, 2));  // with room again, the same write goes through
    EXPECT_EQ(tier.fetch("k")->value, big);
}

// A directory where a key's record file belongs (an operator's mistake):
// reads of that key fail naming the path, and listings pass it over.
TEST(FileTierEdges, ADirectoryAtARecordsPathFailsItsReadsAndIsNotListed) {
    TempDir dir;
    strata::FileTier tier{dir.path, options("files")};
    tier.store("fine", strata::make_record("v", 1));
    const auto path = dir.path / strata::detail::file::encode_key("odd");
    fs::create_directory(path);
    try {
        tier.fetch("odd");
        FAIL() << "a directory was read as a record";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.tier(), "files");
        EXPECT_EQ(e.operation(), "fetch");
        EXPECT_THAT(e.what(), HasSubstr(path.string()));
    }
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{"fine"});
    EXPECT_EQ(tier.stats().keys, 1u);
    EXPECT_EQ(tier.fetch("fine")->value, "v");
}

// Temporary files count in stats(); a sweep removes those of dead writers
// and keeps those of live ones, as a tier opening on the root does.
TEST(FileTierEdges, StatsCountTemporaryFilesAndSweepsRemoveOnlyAbandonedOnes) {
    TempDir dir;
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ASSERT_GT(dead, 0);
    ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);

    strata::FileTier tier{dir.path, options("files")};
    tier.store("a", strata::make_record("1", 1));
    tier.store("b", strata::make_record("22", 1));
    const auto live = dir.path / (std::string(strata::detail::file::temp_prefix) + std::to_string(::getpid()) + "-x");
    const auto abandoned = dir.path / (std::string(strata::detail::file::temp_prefix) + std::to_string(dead) + "-x");
    std::ofstream(live) << "half";
    std::ofstream(abandoned) << "half";

    auto st = tier.stats();
    EXPECT_EQ(st.keys, 2u);
    EXPECT_GT(st.bytes, 3u);
    EXPECT_EQ(detail_of(st, "temp_files"), "2");
    EXPECT_EQ(detail_of(st, "fsync"), "on");

    EXPECT_EQ(tier.sweep_expired(), 0u);
    EXPECT_TRUE(fs::exists(live));
    EXPECT_FALSE(fs::exists(abandoned));

    std::ofstream(abandoned) << "half";
    strata::FileTier reopened{dir.path, options("files")};  // cleans on open, records untouched
    EXPECT_FALSE(fs::exists(abandoned));
    EXPECT_TRUE(fs::exists(live));
    EXPECT_THAT(reopened.keys("*"), ::testing::UnorderedElementsAre("a", "b"));
}

// A forked child opens a lock descriptor of its own (sharing the parent's
// would share its locks): its writes and erases work, and the parent sees them.
TEST(FileTierEdges, ATierInheritedThroughForkWorksInTheChild) {
    TempDir dir;
    strata::FileTier tier{dir.path, options("files")};
    tier.store("parent", strata::make_record("p", 1));
    const pid_t child = ::fork();
    if (child == 0) {
        bool ok = false;
        try {
            tier.store("child", strata::make_record("c", 1));
            ok = tier.erase("parent") && tier.fetch("child") && !tier.fetch("parent");
        } catch (...) {
        }
        ::_exit(ok ? 0 : 1);
    }
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    ASSERT_TRUE(tier.fetch("child"));
    EXPECT_EQ(tier.fetch("child")->value, "c");
    EXPECT_FALSE(tier.fetch("parent"));
    tier.store("parent", strata::make_record("p2", 2));  // the parent's own locks still work
    EXPECT_TRUE(tier.erase("child"));
}
