// Backups into a DirectoryBackupStore on a disk that fills up: a backup that
// does not fit fails with Error{unavailable} saying the disk is full, lists
// nothing, leaves no temporary file and no space taken, and every earlier
// backup whole; once space is freed the next backup builds on the last one.
// A key ring that cannot be written fails the same way, the old ring kept.
// The disk is a small tmpfs mounted for the test (root only; it skips,
// saying why, where mounting fails).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>  // strerror
#include <filesystem>
#include <string>
#include <vector>

#include <strata/backup/backup_manager.hpp>
#include <strata/backup/directory_store.hpp>
#include <strata/strata.hpp>

#include "common/record_snapshot.hpp"
#include "common/temp_dir.hpp"
#include "common/temp_files.hpp"
#include "common/tmpfs.hpp"

namespace fs = std::filesystem;
using strata::BackupType;
using strata::ErrorKind;

namespace {

using strata::testing::incompressible;
using strata::testing::temp_files;
using strata::testing::TmpfsMount;

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
using Backups = strata::BackupManager<Manager, strata::DirectoryBackupStore>;

class BackupFullDiskTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!disk.mounted()) GTEST_SKIP() << "no small disk to fill: " << disk.why();
    }

    strata::testing::TempDir dir{"strata-disk"};
    // Declared after dir: unmounted before dir is removed.
    TmpfsMount disk{dir.path / "disk", "2m"};
    strata::EncryptionKey key = strata::EncryptionKey::generate();
    // The tiers live on the real disk; only the backups go to the small one.
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};

    // The store's defaults (fsync on), as a service would have them.
    Backups backups_in(const std::string& repository) {
        return Backups{mgr, strata::DirectoryBackupStore{disk.path() / repository}, strata::BackupOptions{.key = key}};
    }

    std::vector<std::string> listed(Backups& b) {
        std::vector<std::string> ids;
        for (const auto& info : b.list()) ids.push_back(info.id);
        return ids;
    }

    static void expect_disk_full(const strata::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::unavailable) << e.what();
        EXPECT_NE(std::string(e.what()).find(std::strerror(ENOSPC)), std::string::npos) << e.what();
    }
};

}  // namespace

TEST_F(BackupFullDiskTest, ABackupThatDoesNotFitFailsAndLeavesEveryEarlierOneWhole) {
    auto backups = backups_in("backups");
    for (int i = 0; i < 40; ++i) mgr.set("k" + std::to_string(i), "value-" + std::to_string(i));
    const auto full = backups.create(BackupType::full);
    mgr.set("k1", "changed");
    mgr.erase("k2");
    const auto inc = backups.create(BackupType::incremental);
    const std::vector<std::string> earlier{full.id, inc.id};

    // 1 MiB that will not compress, against 256 KiB left on the disk.
    constexpr std::size_t big_keys = 8, big_size = 128 * 1024;
    for (std::size_t i = 0; i < big_keys; ++i) mgr.set("big" + std::to_string(i), incompressible(big_size, i), strata::at<1>);
    const auto filler = disk.fill(256 * 1024);
    const auto free_before = disk.free_bytes();
    ASSERT_LT(free_before, big_keys * big_size);

    for (const auto type : {BackupType::full, BackupType::incremental, BackupType::differential}) {
        SCOPED_TRACE(std::string(strata::to_string(type)));
        try {
            backups.create(type);
            ADD_FAILURE() << "a backup larger than the free space was stored";
        } catch (const strata::Error& e) {
            expect_disk_full(e);
        }
        EXPECT_EQ(listed(backups), earlier);
        EXPECT_EQ(backups.store().ids(), earlier);
        EXPECT_EQ(temp_files(disk.path()), 0u);
        EXPECT_EQ(disk.free_bytes(), free_before) << "the failed backup still holds space";
    }
    EXPECT_EQ(backups.stats().failures, 3u);
    for (const auto& id : earlier) {
        EXPECT_TRUE(backups.verify(id)) << id;
        const auto t = backups.test_restore(id);
        EXPECT_TRUE(t.ok) << id << ": " << t.problem;
    }

    // Space freed: the same changes fit, in an incremental on the last backup.
    fs::remove(filler);
    const auto want_hot = strata::testing::snapshot(mgr.tier<0>());
    const auto want_warm = strata::testing::snapshot(mgr.tier<1>());
    const auto next = backups.create(BackupType::incremental);
    EXPECT_EQ(next.parent, inc.id);
    EXPECT_GE(next.stored_bytes, big_keys * big_size);
    EXPECT_TRUE(backups.verify(next.id));
    mgr.set("k1", "later");
    mgr.erase("big0");
    backups.restore(next.id);
    strata::testing::expect_same(want_hot, strata::testing::snapshot(mgr.tier<0>()));
    strata::testing::expect_same(want_warm, strata::testing::snapshot(mgr.tier<1>()));
}

TEST_F(BackupFullDiskTest, AKeyRingThatCannotBeWrittenFailsCleanly) {
    for (int i = 0; i < 10; ++i) mgr.set("k" + std::to_string(i), "value-" + std::to_string(i));
    auto existing = backups_in("existing");
    const auto kept = existing.create(BackupType::full);
    const auto ring = existing.store().key_ring();
    ASSERT_TRUE(ring);
    auto fresh = backups_in("fresh");  // its first backup must store a key ring first
    const auto filler = disk.fill(0);

    try {
        fresh.create(BackupType::full);
        ADD_FAILURE() << "a backup was made with no key ring stored";
    } catch (const strata::Error& e) {
        expect_disk_full(e);
    }
    EXPECT_FALSE(fresh.store().key_ring());
    EXPECT_TRUE(fresh.list().empty());

    // Replacing a repository's ring (a second user key) on a full disk: the
    // old ring stays, and a manager opening the repository afresh reads it.
    auto edited = strata::KeyRing::parse(*ring);
    edited.add(key, strata::EncryptionKey::generate());
    try {
        existing.store().store_key_ring(edited.serialize());
        ADD_FAILURE() << "a key ring was written to a full disk";
    } catch (const strata::Error& e) {
        expect_disk_full(e);
    }
    EXPECT_EQ(existing.store().key_ring(), ring);
    EXPECT_EQ(temp_files(disk.path()), 0u);
    auto reopened = backups_in("existing");
    EXPECT_TRUE(reopened.verify(kept.id));

    fs::remove(filler);
    const auto first = fresh.create(BackupType::full);
    EXPECT_TRUE(fresh.store().key_ring());
    EXPECT_TRUE(fresh.verify(first.id));
}
