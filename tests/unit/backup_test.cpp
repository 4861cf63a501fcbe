// Encrypted backups over the real MemoryTier and FileTier: every type round
// trips, chains restore exactly (deletions, expiries), restores onto another
// manager, wrong keys, damage and missing parts refused with nothing changed,
// a store failing mid-backup, reads racing a restore, retention, and
// test_restore and the keyless structural check.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <strata/backup/backup_manager.hpp>
#include <strata/backup/directory_store.hpp>
#include <strata/backup/mirrored_store.hpp>
#include <strata/backup/tier_store.hpp>
#include <strata/strata.hpp>

#include "common/record_snapshot.hpp"
#include "common/damage.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using strata::BackupType;
using strata::ErrorKind;

namespace {

using strata::testing::flip_byte;

using strata::testing::expect_same;
using strata::testing::snapshot;
using strata::testing::Snapshot;
using strata::testing::TempDir;

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
using Backups = strata::BackupManager<Manager, strata::DirectoryBackupStore>;

static_assert(strata::BackupStore<strata::DirectoryBackupStore>);
static_assert(!strata::BackupStore<strata::DirectoryCheckpointStore>);  // no key ring
static_assert(!strata::BackupStore<int>);
static_assert(!std::is_polymorphic_v<Backups>);
static_assert(strata::BackupStore<strata::TierBackupStore<strata::MemoryTier>>);
static_assert(strata::BackupStore<strata::TierBackupStore<strata::FileTier>>);

// A store whose sink throws after `fail_after` bytes: a process dying in the
// middle of a backup, as far as the store can tell.
struct FailingStore : strata::DirectoryBackupStore {
    using DirectoryBackupStore::DirectoryBackupStore;
    std::shared_ptr<std::atomic<std::uint64_t>> fail_after = std::make_shared<std::atomic<std::uint64_t>>(~0ull);
    std::shared_ptr<std::atomic<bool>> fail_commit = std::make_shared<std::atomic<bool>>(false);

    struct Sink {
        strata::DirectoryCheckpointStore::Sink inner;
        std::shared_ptr<std::atomic<std::uint64_t>> left;
        std::shared_ptr<std::atomic<bool>> fail_commit;
        void write(std::string_view b) {
            if (b.size() > *left) {
                inner.write(b.substr(0, *left));  // half a write reaches the disk
                throw strata::Error(ErrorKind::unavailable, "test", "write", "store died mid-backup");
            }
            *left -= b.size();
            inner.write(b);
        }
        void commit(std::string_view s) {
            if (*fail_commit) throw strata::Error(ErrorKind::unavailable, "test", "commit", "store died at commit");
            inner.commit(s);
        }
    };
    Sink begin(const std::string& id) { return Sink{DirectoryBackupStore::begin(id), fail_after, fail_commit}; }
};
static_assert(strata::BackupStore<FailingStore>);
static_assert(strata::BackupStore<strata::MirroredBackupStore<strata::DirectoryBackupStore, FailingStore>>);


struct Tiers {
    Snapshot hot, warm;
};

class BackupTest : public ::testing::Test {
protected:
    TempDir dir;
    strata::EncryptionKey key = strata::EncryptionKey::generate();
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
    strata::Clock::time_point now = strata::Clock::now();

    strata::BackupOptions options(strata::EncryptionKey k) {
        return strata::BackupOptions{.key = std::move(k), .clock = [this] { return now; }};
    }
    strata::DirectoryBackupStore store() {
        auto o = strata::DirectoryBackupStore::backup_defaults();
        o.fsync = false;
        return strata::DirectoryBackupStore{dir.path / "backups", o};
    }
    Backups backups{mgr, store(), options(key)};

    Tiers state() { return {snapshot(mgr.tier<0>()), snapshot(mgr.tier<1>())}; }
    void expect_state(const Tiers& want) {
        const auto got = state();
        expect_same(want.hot, got.hot);
        expect_same(want.warm, got.warm);
    }
    fs::path file_of(const std::string& id) { return dir.path / "backups" / (id + ".backup"); }

    // Keys in both tiers, some with an expiry.
    void fill(int n, std::string_view tag) {
        for (int i = 0; i < n; ++i) {
            const std::string k = "k" + std::to_string(i), v = std::string(tag) + std::to_string(i);
            if (i % 2)
                mgr.set(k, v, strata::at<1>);
            else
                mgr.set(k, v, i % 3 == 0 ? strata::SetOptions{.ttl = 1h} : strata::SetOptions{});
        }
    }
    // Changes some keys, deletes some, adds some.
    void churn(std::string_view tag, int from) {
        mgr.set("k1", std::string(tag) + "-changed", strata::at<1>);
        mgr.set("k2", std::string(tag) + "-changed", strata::SetOptions{.ttl = 2h});
        mgr.erase("k" + std::to_string(from));
        mgr.erase("k" + std::to_string(from + 1));
        mgr.set("new-" + std::string(tag), "fresh");
    }
};

}  // namespace

TEST_F(BackupTest, EveryBaseTypeRoundTripsAndListsOldestFirst) {
    fill(40, "v");
    const auto want = state();
    std::vector<strata::BackupInfo> made;
    for (const auto type : {BackupType::full, BackupType::snapshot, BackupType::emergency}) {
        made.push_back(backups.create(type));
        now += 1s;
    }
    for (const auto& b : made) {
        EXPECT_TRUE(b.parent.empty());
        // Writes to the memory tier also go to the durable FileTier.
        EXPECT_EQ(b.key_count, want.hot.size() + want.warm.size());
        EXPECT_EQ(b.key_count, 60u);
        EXPECT_EQ(b.changed_keys, b.key_count);
        EXPECT_GT(b.stored_bytes, 0u);
        mgr.set("k0", "overwritten");
        mgr.erase("k5");
        mgr.set("extra", "x", strata::at<1>);
        backups.restore(b.id);
        expect_state(want);
        EXPECT_EQ(mgr.get("k0"), "v0");  // the cache holds nothing older
        EXPECT_FALSE(mgr.get("extra"));
    }
    EXPECT_FALSE(made[2].writes_held);  // emergency never waits for writes
    const auto listed = backups.list();
    ASSERT_EQ(listed.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(listed[i].id, made[i].id);
        EXPECT_EQ(listed[i].type, made[i].type);
        EXPECT_EQ(listed[i].stored_bytes, made[i].stored_bytes);
        EXPECT_EQ(listed[i].version_cut, made[i].version_cut);
    }
    EXPECT_EQ(backups.stats().created[static_cast<std::size_t>(BackupType::snapshot)], 1u);
}

TEST_F(BackupTest, SelectedTiersOnlyAndIncrementalsMustMatchThem) {
    fill(10, "v");
    const auto warm = backups.create<strata::FileTier>(BackupType::full);
    EXPECT_EQ(warm.key_count, 10u);  // every key is in the durable tier
    EXPECT_THROW(backups.create<strata::MemoryTier>(BackupType::incremental), strata::Error);
    const auto inc = backups.create<strata::FileTier>(BackupType::incremental);
    EXPECT_EQ(inc.parent, warm.id);
    EXPECT_EQ(inc.changed_keys, 0u);
    const auto hot_before = snapshot(mgr.tier<0>());
    mgr.set("k1", "changed", strata::at<1>);
    backups.restore(inc.id);
    EXPECT_EQ(mgr.get("k1"), "v1");
    expect_same(hot_before, snapshot(mgr.tier<0>()));
}

TEST_F(BackupTest, IncrementalNeedsAnEarlierBackup) {
    fill(4, "v");
    try {
        backups.create(BackupType::incremental);
        FAIL() << "an incremental without a base was made";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    EXPECT_TRUE(backups.list().empty());
    EXPECT_EQ(backups.stats().failures, 1u);
}

TEST_F(BackupTest, FullIncIncChainRestoresEachCutWithDeletionsAndExpiries) {
    fill(30, "v");
    const auto full = backups.create(BackupType::full);
    const auto s0 = state();
    now += 1s;
    churn("a", 10);
    const auto inc1 = backups.create(BackupType::incremental);
    const auto s1 = state();
    now += 1s;
    churn("b", 20);
    mgr.erase("new-a");
    const auto inc2 = backups.create(BackupType::incremental);
    const auto s2 = state();

    EXPECT_EQ(inc1.parent, full.id);
    EXPECT_EQ(inc2.parent, inc1.id);
    // Records, counted per tier: k1 (warm), k2 and new-a (hot and warm).
    EXPECT_EQ(inc1.changed_keys, 5u);
    EXPECT_EQ(inc1.deleted_keys, 3u);  // k10 (hot and warm), k11 (warm)
    EXPECT_EQ(inc2.deleted_keys, 5u);  // k20, k21, new-a
    EXPECT_EQ(inc2.key_count, s2.hot.size() + s2.warm.size());

    churn("c", 4);  // the live state moves on
    backups.restore(inc1.id);
    expect_state(s1);
    EXPECT_EQ(mgr.get("k2"), "a-changed");
    EXPECT_EQ(s1.hot.at("k2").expires_at, mgr.tier<0>().fetch("k2")->expires_at);
    backups.restore(inc2.id);
    expect_state(s2);
    EXPECT_FALSE(mgr.get("new-a"));
    EXPECT_FALSE(mgr.get("k20"));
    backups.restore(full.id);
    expect_state(s0);
    EXPECT_EQ(mgr.get("k20"), "v20");
}

TEST_F(BackupTest, FullDiffIncChainAndDifferentialsBuildOnTheFull) {
    fill(30, "v");
    const auto full = backups.create(BackupType::full);
    now += 1s;
    churn("a", 10);
    const auto diff1 = backups.create(BackupType::differential);
    now += 1s;
    churn("b", 20);
    const auto inc = backups.create(BackupType::incremental);
    const auto s_inc = state();
    now += 1s;
    churn("c", 6);
    const auto diff2 = backups.create(BackupType::differential);
    const auto s_diff2 = state();

    EXPECT_EQ(diff1.parent, full.id);
    EXPECT_EQ(inc.parent, diff1.id);
    EXPECT_EQ(diff2.parent, full.id);  // since the last full, not the last backup
    EXPECT_EQ(diff2.deleted_keys, 9u);  // k6, k10, k20 (hot and warm), k7, k11, k21 (warm)
    EXPECT_GE(diff2.changed_keys, inc.changed_keys);

    backups.restore(inc.id);
    expect_state(s_inc);
    backups.restore(diff2.id);
    expect_state(s_diff2);
}

TEST_F(BackupTest, CaptureWhileWritingRecordsTheCutAndRestores) {
    fill(20, "v");
    Backups going_on{mgr, store(), [&] {
                         auto o = options(key);
                         o.hold_writes = false;
                         return o;
                     }()};
    const auto full = going_on.create(BackupType::full);
    EXPECT_FALSE(full.writes_held);
    EXPECT_EQ(full.version_cut, mgr.current_version());
    const auto s0 = state();
    now += 1s;
    churn("a", 4);
    const auto inc = going_on.create(BackupType::incremental);
    const auto s1 = state();
    churn("b", 8);
    going_on.restore(inc.id);
    expect_state(s1);
    going_on.restore(full.id);
    expect_state(s0);
}

TEST_F(BackupTest, RestoreOntoAnotherManager) {
    fill(30, "v");
    backups.create(BackupType::full);
    now += 1s;
    churn("a", 10);
    const auto inc = backups.create(BackupType::incremental);
    const auto want = state();

    // A new machine: empty tiers, the same store and key.
    TempDir other_dir;
    Manager other{strata::LruCache{100}, strata::NeverPromote{}, strata::MemoryTier{},
                  strata::FileTier{other_dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
    Backups recovered{other, store(), options(key)};
    const auto report = recovered.restore_into(inc.id, other);
    EXPECT_EQ(report.keys_restored, want.hot.size() + want.warm.size());
    expect_same(want.hot, snapshot(other.tier<0>()));
    expect_same(want.warm, snapshot(other.tier<1>()));
    EXPECT_EQ(other.get("k1"), "a-changed");
}

TEST_F(BackupTest, WrongKeyIsRejectedAndChangesNothing) {
    fill(20, "v");
    const auto full = backups.create(BackupType::full);
    mgr.set("k0", "later");
    const auto before = state();
    Backups thief{mgr, store(), options(strata::EncryptionKey::generate())};
    for (const auto& call : std::vector<std::function<void()>>{[&] { thief.restore(full.id); },
                                                               [&] { thief.verify(full.id); },
                                                               [&] { thief.create(BackupType::full); }}) {
        try {
            call();
            FAIL() << "a wrong key was accepted";
        } catch (const strata::Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::rejected) << e.what();
            EXPECT_NE(std::string(e.what()).find("wrong key"), std::string::npos) << e.what();
        }
    }
    expect_state(before);
    EXPECT_EQ(backups.list().size(), 1u);
    EXPECT_EQ(thief.test_restore(full.id).ok, false);
    EXPECT_TRUE(thief.verify_structure(full.id));  // needs no key
    EXPECT_EQ(thief.stats().refused_restores, 1u);
}

TEST_F(BackupTest, EveryDamagedByteClassIsRefusedAndChangesNothing) {
    fill(200, "value-with-some-length-");
    backups.create(BackupType::full);
    now += 1s;
    churn("a", 10);
    const auto inc = backups.create(BackupType::incremental);
    const auto file = file_of(inc.id);
    const auto size = fs::file_size(file);
    mgr.set("k0", "live");
    const auto before = state();
    // Start (records header), middle (records segments), the key section,
    // the manifest's plain part and its sealed copy, and the footer's neighbour.
    const std::vector<std::uintmax_t> spots{3, 100, inc.stored_bytes / 2, inc.stored_bytes - 20,
                                            inc.stored_bytes + 30, size - 60, size - 30};
    for (const auto at : spots) {
        const fs::path saved = dir.path / "saved";
        fs::copy_file(file, saved, fs::copy_options::overwrite_existing);
        flip_byte(file, at);
        SCOPED_TRACE("flipped byte " + std::to_string(at) + " of " + std::to_string(size));
        try {
            backups.restore(inc.id);
            ADD_FAILURE() << "a damaged backup was restored";
        } catch (const strata::Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::corrupt) << e.what();
        }
        EXPECT_FALSE(backups.test_restore(inc.id).ok);
        if (at < inc.stored_bytes) {
            EXPECT_FALSE(backups.verify(inc.id));
            EXPECT_FALSE(backups.verify_structure(inc.id));
        }
        expect_state(before);
        fs::copy_file(saved, file, fs::copy_options::overwrite_existing);
    }
    EXPECT_TRUE(backups.verify(inc.id));
    EXPECT_TRUE(backups.verify_structure(inc.id));
    backups.restore(inc.id);
    EXPECT_EQ(mgr.get("k1"), "a-changed");
}

// One file cut short (a partial copy, a disk error) is passed over by
// list(), so the next backup, stats and retention go on.
TEST_F(BackupTest, ATruncatedFileDoesNotStopTheOthersListing) {
    fill(20, "v");
    const auto a = backups.create(BackupType::full);
    now += 1s;
    const auto b = backups.create(BackupType::full);
    fs::resize_file(file_of(b.id), fs::file_size(file_of(b.id)) - 10);
    const auto listed = backups.list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id, a.id);
    now += 1s;
    EXPECT_EQ(backups.create(BackupType::incremental).parent, a.id);
    EXPECT_EQ(backups.stats().backups, 2u);
}

TEST_F(BackupTest, TruncatedAndSwappedFilesAreRefused) {
    fill(50, "v");
    const auto a = backups.create(BackupType::full);
    now += 1s;
    const auto b = backups.create(BackupType::full);
    mgr.set("k0", "live");
    const auto before = state();
    // b's bytes under a's name: same repository, same key, other file.
    fs::copy_file(file_of(b.id), file_of(a.id), fs::copy_options::overwrite_existing);
    EXPECT_THROW(backups.restore(a.id), strata::Error);
    fs::resize_file(file_of(b.id), fs::file_size(file_of(b.id)) - 100);
    EXPECT_THROW(backups.restore(b.id), strata::Error);
    EXPECT_FALSE(backups.verify_structure(b.id));
    expect_state(before);
}

TEST_F(BackupTest, BrokenChainNamesTheMissingBackupAndChangesNothing) {
    fill(20, "v");
    backups.create(BackupType::full);
    now += 1s;
    churn("a", 4);
    const auto inc1 = backups.create(BackupType::incremental);
    now += 1s;
    churn("b", 8);
    const auto inc2 = backups.create(BackupType::incremental);
    EXPECT_THROW(backups.remove(inc1.id), strata::Error);  // inc2 builds on it
    mgr.set("k0", "live");
    const auto before = state();
    ASSERT_TRUE(backups.store().remove(inc1.id));  // lost behind the manager's back
    try {
        backups.restore(inc2.id);
        FAIL() << "a broken chain was restored";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_NE(std::string(e.what()).find(inc1.id), std::string::npos) << e.what();
    }
    const auto t = backups.test_restore(inc2.id);
    EXPECT_FALSE(t.ok);
    EXPECT_NE(t.problem.find(inc1.id), std::string::npos);
    expect_state(before);
}

TEST_F(BackupTest, AStoreDyingMidBackupLeavesNoListedHalfBackup) {
    fill(300, "some-value-");
    auto o = strata::DirectoryBackupStore::backup_defaults();
    o.fsync = false;
    FailingStore failing{dir.path / "backups", o};
    auto left = failing.fail_after;
    auto fail_commit = failing.fail_commit;
    strata::BackupManager dying{mgr, std::move(failing), options(key)};
    const auto good = dying.create(BackupType::full);
    const auto want = state();
    for (const std::uint64_t at : std::vector<std::uint64_t>{0, 10, good.stored_bytes / 2}) {
        *left = at;
        now += 1s;
        EXPECT_THROW(dying.create(BackupType::full), strata::Error);
        *left = std::min<std::uint64_t>(at, 60);  // an unchanged incremental is small
        EXPECT_THROW(dying.create(BackupType::incremental), strata::Error);
        ASSERT_EQ(dying.list().size(), 1u);
    }
    // Every byte written, the commit fails.
    *left = ~0ull;
    *fail_commit = true;
    EXPECT_THROW(dying.create(BackupType::full), strata::Error);
    EXPECT_THROW(dying.create(BackupType::incremental), strata::Error);
    *fail_commit = false;
    ASSERT_EQ(dying.list().size(), 1u);
    EXPECT_EQ(dying.stats().failures, 8u);
    // No temporary file is left behind, and the earlier backup is whole.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path / "backups")) {
        ++files;
        EXPECT_FALSE(e.path().filename().string().starts_with(".")) << e.path();
    }
    EXPECT_EQ(files, 2u);  // the backup and the key ring
    *left = ~0ull;
    EXPECT_TRUE(dying.verify(good.id));
    mgr.set("k0", "live");
    dying.restore(good.id);
    expect_state(want);
}

TEST_F(BackupTest, ReadsAfterARestoreNeverSeeThePreRestoreValue) {
    for (int i = 0; i < 50; ++i) mgr.set("r" + std::to_string(i), "old");
    const auto full = backups.create(BackupType::full);
    for (int i = 0; i < 50; ++i) mgr.set("r" + std::to_string(i), "new", strata::at<1>);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(mgr.get("r" + std::to_string(i)), "new");  // cached now
    std::atomic<bool> restored{false}, stop{false};
    std::atomic<int> stale_after{0}, reads{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t)
        readers.emplace_back([&] {
            while (!stop) {
                for (int i = 0; i < 50; ++i) {
                    const bool done = restored;
                    const auto v = mgr.get("r" + std::to_string(i));
                    ++reads;
                    if (done && v != "old") ++stale_after;
                }
            }
        });
    while (reads < 100) std::this_thread::yield();
    backups.restore(full.id);
    restored = true;
    const int at_restore = reads;
    while (reads < at_restore + 200) std::this_thread::yield();
    stop = true;
    for (auto& r : readers) r.join();
    EXPECT_EQ(stale_after, 0);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(mgr.get("r" + std::to_string(i)), "old");
    EXPECT_EQ(mgr.tier<1>().fetch("r0")->value, "old");  // no newer copy left to resurface
}

TEST_F(BackupTest, RetentionKeepsWhatKeptBackupsDependOn) {
    fill(10, "v");
    const auto old_full = backups.create(BackupType::full);
    now += 1h;
    const auto old_inc = backups.create(BackupType::incremental);
    now += 1h;
    const auto snap = backups.create(BackupType::snapshot);
    now += 100 * 24h;  // everything above is past every age
    const auto full = backups.create(BackupType::full);
    now += 1h;
    mgr.set("k1", "x");
    const auto diff = backups.create(BackupType::differential);
    now += 40 * 24h;  // diff past 30 days, full (40 days) within 90
    mgr.set("k2", "y");
    const auto inc = backups.create(BackupType::incremental);  // builds on diff

    const auto removed = backups.apply_retention();
    EXPECT_EQ(removed, (std::vector<std::string>{old_full.id, old_inc.id}));
    std::vector<std::string> left;
    for (const auto& b : backups.list()) left.push_back(b.id);
    // The snapshot stays until removed; diff stays because inc needs it.
    EXPECT_EQ(left, (std::vector<std::string>{snap.id, full.id, diff.id, inc.id}));
    now += 8 * 24h;  // inc past 7 days: the chain goes, tip first
    EXPECT_EQ(backups.apply_retention(), (std::vector<std::string>{diff.id, inc.id}));
    EXPECT_EQ(backups.list().size(), 2u);
    EXPECT_EQ(backups.stats().removed, 4u);
}

TEST_F(BackupTest, TestRestoreTouchesNothingLiveAndIsKeptInStats) {
    fill(30, "v");
    backups.create(BackupType::full);
    now += 1s;
    churn("a", 10);
    const auto inc = backups.create(BackupType::incremental);
    churn("b", 20);
    const auto before = state();
    const auto r = backups.test_restore(inc.id);
    EXPECT_TRUE(r.ok) << r.problem;
    EXPECT_EQ(r.keys, inc.key_count);
    EXPECT_EQ(r.expected_keys, inc.key_count);
    expect_state(before);
    const auto st = backups.stats();
    ASSERT_TRUE(st.last_test_restore);
    EXPECT_EQ(st.last_test_restore->id, inc.id);
    EXPECT_TRUE(st.last_test_restore->ok);
    EXPECT_EQ(st.restores, 0u);
    EXPECT_EQ(st.backups, 2u);
    EXPECT_EQ(st.stored_bytes, backups.list()[0].stored_bytes + inc.stored_bytes);
}

TEST_F(BackupTest, KeyRingIsStoredOnFirstUseAndHoldsNoKeyInClear) {
    EXPECT_FALSE(backups.store().key_ring());
    fill(5, "v");
    const auto b = backups.create(BackupType::full);
    const auto ring = backups.store().key_ring();
    ASSERT_TRUE(ring);
    const auto parsed = strata::KeyRing::parse(*ring);
    EXPECT_EQ(parsed.key_ids(), std::vector<strata::KeyId>{key.id()});
    // A second user key added to the ring reads the same backups.
    auto edited = parsed;
    const auto second = strata::EncryptionKey::generate();
    edited.add(key, second);
    backups.store().store_key_ring(edited.serialize());
    Backups colleague{mgr, store(), options(second)};
    EXPECT_TRUE(colleague.verify(b.id));
}

TEST_F(BackupTest, TierBackupStoreKeepsChainsAndRefusesDamage) {
    strata::BackupManager in_tier{
        mgr, strata::TierBackupStore{strata::FileTier{dir.path / "store", strata::FileTierOptions{.fsync = false}}},
        options(key)};
    fill(40, "v");
    const auto full = in_tier.create(BackupType::full);
    now += 1s;
    churn("a", 10);
    const auto inc = in_tier.create(BackupType::incremental);
    const auto want = state();
    EXPECT_EQ(inc.parent, full.id);
    EXPECT_TRUE(in_tier.store().key_ring());
    churn("b", 20);
    in_tier.restore(inc.id);
    expect_state(want);

    // A backup begun and dropped without its manifest is not listed.
    {
        auto half = in_tier.store().begin("20200101T000000.000000Z-000001-full");
        half.write(std::string(100, 'x'));
    }
    EXPECT_EQ(in_tier.list().size(), 2u);

    // One flipped byte in a stored chunk of the full: the chain is refused.
    auto& tier = in_tier.store().tier();
    const auto chunk = "backups/" + full.id + "/data/" + std::string(8, '0');
    auto r = tier.fetch(chunk);
    ASSERT_TRUE(r) << chunk;
    r->value[r->value.size() / 2] ^= 1;
    r->checksum = strata::sha256(r->value);  // damage the tier itself would not notice
    tier.store(chunk, *r);
    mgr.set("k0", "live");
    const auto before = state();
    try {
        in_tier.restore(inc.id);
        FAIL() << "a damaged chain was restored";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::corrupt) << e.what();
    }
    expect_state(before);
    EXPECT_FALSE(in_tier.verify(full.id));
    EXPECT_FALSE(in_tier.verify_structure(full.id));
    EXPECT_TRUE(in_tier.verify(inc.id));
}

TEST_F(BackupTest, RestoringAColderTierDropsNewerHotterCopies) {
    fill(10, "v");
    const auto warm = backups.create<strata::FileTier>(BackupType::full);
    mgr.set("k2", "newer");  // the memory tier and the file tier
    ASSERT_EQ(mgr.get("k2"), "newer");
    backups.restore(warm.id);
    EXPECT_EQ(mgr.get("k2"), "v2");  // not the hot copy, not the cached value
    EXPECT_FALSE(mgr.tier<0>().fetch("k2"));
    EXPECT_EQ(mgr.tier<1>().fetch("k2")->value, "v2");
}

// An incremental reads only what changed: through the tier's changed_since,
// never a full scan of its records.
TEST(BackupReads, IncrementalReadsOnlyChangedKeys) {
    using Counted = strata::testing::Switchable<strata::MemoryTier>;
    using Small = strata::StateManager<strata::NoCache, strata::NeverPromote, Counted>;
    TempDir dir;
    Counted tier{strata::MemoryTier{}};
    std::atomic<int> peeks{0}, changed{0};
    tier.switches().before = [&](std::string_view op) {
        peeks += op == "peek_many";
        changed += op == "changed_since";
    };
    Small mgr{strata::NoCache{}, strata::NeverPromote{}, std::move(tier)};
    for (int i = 0; i < 500; ++i) mgr.set("k" + std::to_string(i), "v");
    auto store = strata::DirectoryBackupStore::backup_defaults();
    store.fsync = false;
    strata::BackupManager backups{mgr, strata::DirectoryBackupStore{dir.path, store},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate(), .batch_size = 10}};
    backups.create(BackupType::full);
    EXPECT_EQ(peeks, 50);
    EXPECT_EQ(changed, 0);
    peeks = 0;
    mgr.set("k7", "changed");
    const auto inc = backups.create(BackupType::incremental);
    EXPECT_EQ(changed, 1);
    EXPECT_EQ(peeks, 1);
    EXPECT_EQ(inc.changed_keys, 1u);
    EXPECT_EQ(inc.key_count, 500u);
}

// An incremental reads its parent's key section to count deletions; a
// store's chunks of the parent's records are passed over, not fetched.
TEST(BackupReads, IncrementalSkipsItsParentsRecords) {
    using Counted = strata::testing::Switchable<strata::MemoryTier>;
    using Small = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier>;
    Small mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    std::mt19937_64 rng(7);
    for (int i = 0; i < 400; ++i) {
        std::string incompressible(300, '\0');
        for (auto& c : incompressible) c = static_cast<char>(rng());
        mgr.set("k" + std::to_string(i), incompressible);
    }
    auto options = strata::TierBackupStore<Counted>::backup_defaults();
    options.chunk_size = 1024;
    strata::BackupManager backups{mgr, strata::TierBackupStore{Counted{strata::MemoryTier{}}, options},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
    std::atomic<int> fetches{0};
    backups.store().tier().switches().before = [&](std::string_view op) { fetches += op == "fetch"; };
    const auto full = backups.create(BackupType::full);
    const auto chunks = full.stored_bytes / options.chunk_size;
    ASSERT_GT(chunks, 100u);
    for (const char* k : {"k1", "k2", "k3"}) mgr.erase(k);
    mgr.set("k4", "changed");
    fetches = 0;
    const auto inc = backups.create(BackupType::incremental);
    EXPECT_EQ(inc.deleted_keys, 3u);
    EXPECT_EQ(inc.changed_keys, 1u);
    EXPECT_EQ(inc.key_count, 397u);
    EXPECT_LT(fetches, 20) << "of " << chunks << " chunks";
    EXPECT_TRUE(backups.verify(inc.id));
}

// A committed manifest never changes: list(), stats() and a scheduler's
// checks read each from the store once, however many backups there are.
TEST(BackupReads, ListReadsEachManifestOnce) {
    using Counted = strata::testing::Switchable<strata::MemoryTier>;
    using Small = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier>;
    Small mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    mgr.set("k", "v");
    strata::BackupManager backups{mgr, strata::TierBackupStore{Counted{strata::MemoryTier{}}},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
    std::atomic<int> fetches{0};
    backups.store().tier().switches().before = [&](std::string_view op) { fetches += op == "fetch"; };
    std::vector<std::string> made;
    for (int i = 0; i < 5; ++i) made.push_back(backups.create(BackupType::full).id);
    const auto first = backups.list();
    ASSERT_EQ(first.size(), 5u);
    fetches = 0;
    EXPECT_EQ(backups.list().size(), 5u);
    EXPECT_EQ(backups.stats().backups, 5u);
    EXPECT_EQ(fetches, 0);
    // A backup removed behind the manager's back is gone from the list.
    backups.store().remove(made[2]);
    const auto after = backups.list();
    ASSERT_EQ(after.size(), 4u);
    EXPECT_EQ(after[2].id, made[3]);
}

TEST_F(BackupTest, MirroredStoreHoldsEveryBackupInBothAndEitherRestoresAlone) {
    auto file_store = [&] {
        return strata::TierBackupStore{strata::FileTier{dir.path / "mirror", strata::FileTierOptions{.fsync = false}}};
    };
    strata::BackupManager mirrored{mgr, strata::MirroredBackupStore{store(), file_store()}, options(key)};
    fill(60, "v");
    const auto full = mirrored.create(BackupType::full);
    now += 1s;
    churn("a", 10);
    const auto inc = mirrored.create(BackupType::incremental);
    const auto want = state();
    auto& both = mirrored.store();
    const std::vector<std::string> ids{full.id, inc.id};
    EXPECT_EQ(both.primary().ids(), ids);
    EXPECT_EQ(both.secondary().ids(), ids);
    EXPECT_EQ(both.primary().key_ring(), both.secondary().key_ring());
    EXPECT_EQ(both.primary().summary(inc.id), both.secondary().summary(inc.id));
    EXPECT_EQ(both.name(), "backups+tier-backups");

    // Either store alone restores the chain onto a new machine.
    auto restore_from = [&](auto only) {
        TempDir other;
        Manager fresh{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
                      strata::FileTier{other.path / "tier", strata::FileTierOptions{.fsync = false}}};
        strata::BackupManager alone{fresh, std::move(only), options(key)};
        EXPECT_TRUE(alone.verify(full.id));
        alone.restore_into(inc.id, fresh);
        expect_same(want.hot, snapshot(fresh.tier<0>()));
        expect_same(want.warm, snapshot(fresh.tier<1>()));
    };
    restore_from(store());
    restore_from(file_store());

    EXPECT_TRUE(mirrored.remove(inc.id));
    EXPECT_EQ(both.primary().ids(), std::vector<std::string>{full.id});
    EXPECT_EQ(both.secondary().ids(), std::vector<std::string>{full.id});
}

TEST_F(BackupTest, MirroredStoreCommitsToBothOrNeither) {
    fill(60, "v");
    auto o = strata::DirectoryBackupStore::backup_defaults();
    o.fsync = false;
    FailingStore second{dir.path / "second", o};
    auto fail_commit = second.fail_commit;
    auto fail_after = second.fail_after;
    strata::BackupManager mirrored{mgr, strata::MirroredBackupStore{store(), std::move(second)}, options(key)};
    const auto full = mirrored.create(BackupType::full);
    now += 1s;
    churn("a", 10);

    *fail_commit = true;
    EXPECT_THROW(mirrored.create(BackupType::incremental), strata::Error);
    *fail_commit = false;
    *fail_after = 100;
    EXPECT_THROW(mirrored.create(BackupType::full), strata::Error);
    *fail_after = ~0ull;
    // The first store's copy of the failed backups went again: each store
    // still holds one whole chain.
    EXPECT_EQ(mirrored.store().primary().ids(), std::vector<std::string>{full.id});
    EXPECT_EQ(mirrored.store().secondary().ids(), std::vector<std::string>{full.id});
    EXPECT_EQ(mirrored.stats().failures, 2u);
    const auto inc = mirrored.create(BackupType::incremental);
    EXPECT_EQ(inc.parent, full.id);
    EXPECT_TRUE(mirrored.verify(inc.id));
}

TEST_F(BackupTest, MirroredStoreSharesOneKeyRing) {
    fill(10, "v");
    const auto first = backups.create(BackupType::full);  // the primary's repository exists
    auto o = strata::DirectoryBackupStore::backup_defaults();
    o.fsync = false;
    strata::BackupManager mirrored{
        mgr, strata::MirroredBackupStore{store(), strata::DirectoryBackupStore{dir.path / "second", o}}, options(key)};
    now += 1s;
    const auto full = mirrored.create(BackupType::full);
    EXPECT_EQ(mirrored.store().secondary().key_ring(), mirrored.store().primary().key_ring());
    EXPECT_EQ(mirrored.store().secondary().ids(), std::vector<std::string>{full.id});
    EXPECT_EQ(mirrored.list().size(), 2u);  // the earlier one is read from the primary
    EXPECT_TRUE(mirrored.verify(first.id));

    // A store of another repository cannot be mirrored into this one.
    strata::BackupManager other{mgr, strata::DirectoryBackupStore{dir.path / "other", o}, options(key)};
    other.create(BackupType::full);
    strata::MirroredBackupStore mixed{store(), strata::DirectoryBackupStore{dir.path / "other", o}};
    try {
        mixed.key_ring();
        FAIL() << "two repositories' key rings were mixed";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict) << e.what();
    }
}

// strata's own records in the tiers (a recovery probe caught mid-flight) are
// never listed, captured, or erased by a restore.
TEST_F(BackupTest, ReservedKeysAreNeitherListedCapturedNorRestored) {
    fill(10, "v");
    const std::string probe = std::string(strata::reserved_key_prefix) + "probe__/1-1/7";
    const auto probe_record = strata::make_record("probe", 1);
    mgr.tier<0>().store(probe, probe_record);
    mgr.tier<1>().store(probe, probe_record);
    for (const auto& k : mgr.keys("*")) EXPECT_FALSE(strata::is_reserved_key(k)) << k;

    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt"}};
    const auto c = ckpt.create(strata::CheckpointType::manual);
    const auto full = backups.create(BackupType::full);
    now += 1s;
    mgr.set("k1", "changed");
    const auto inc = backups.create(BackupType::incremental);
    EXPECT_EQ(c.key_count, 15u);  // 5 keys in both tiers, 5 in the warm one
    EXPECT_EQ(full.key_count, 15u);
    EXPECT_EQ(inc.key_count, 16u);

    ckpt.rollback(c.id);
    backups.restore(full.id);
    for (auto r : {mgr.tier<0>().fetch(probe), mgr.tier<1>().fetch(probe)}) {
        ASSERT_TRUE(r);
        EXPECT_EQ(r->value, "probe");
    }
}

// A write takes its version inside the manager's write gate: one stalled in
// a tier while a backup begins is waited for and lands below the cut, and
// the next incremental holds it whether writes were held or went on.
class BackupRacingWrite : public ::testing::TestWithParam<bool> {};

TEST_P(BackupRacingWrite, AWriteInFlightAtTheCutIsInTheChain) {
    using Blockable = strata::testing::Switchable<strata::FileTier>;
    using Small = strata::StateManager<strata::NoCache, strata::NeverPromote, Blockable>;
    TempDir dir;
    Small mgr{strata::NoCache{}, strata::NeverPromote{},
              Blockable{strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}}};
    strata::BackupManager backups{
        mgr, strata::DirectoryBackupStore{dir.path / "backups"},
        strata::BackupOptions{.key = strata::EncryptionKey::generate(), .hold_writes = GetParam()}};
    mgr.set("k", "old");
    backups.create(BackupType::full);
    std::mutex m;
    std::condition_variable cv;
    bool entered = false, release = false;
    mgr.tier<0>().switches().before = [&](std::string_view op) {
        if (!op.starts_with("store")) return;
        std::unique_lock lock(m);
        entered = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
    };
    std::thread writer([&] { mgr.set("k", "new"); });
    std::thread fresh([&] { mgr.set("fresh", "v"); });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return entered; });
    }
    std::thread backup([&] { backups.create(BackupType::incremental); });
    std::this_thread::sleep_for(50ms);  // lets the backup reach the write pause first, most runs
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    writer.join();
    fresh.join();
    backup.join();
    mgr.tier<0>().switches().before = nullptr;

    const auto inc = backups.create(BackupType::incremental);
    const auto t = backups.test_restore(inc.id);
    EXPECT_TRUE(t.ok) << t.problem;
    mgr.set("k", "later");
    mgr.erase("fresh");
    backups.restore(inc.id);
    EXPECT_EQ(mgr.get("k"), "new");
    EXPECT_EQ(mgr.get("fresh"), "v");
}

INSTANTIATE_TEST_SUITE_P(HeldOrNot, BackupRacingWrite, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WritesHeld" : "WritesGoOn"; });

// Writers outnumbering the cores, so one is now and then preempted between
// its version and the write gate (where a version taken too early once fell
// at or below a cut yet landed after it): each incremental's chain holds a
// record for every key at its cut.
TEST(BackupReads, IncrementalsUnderConcurrentWritersAreComplete) {
    using Small = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier>;
    TempDir dir;
    Small mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    auto o = strata::DirectoryBackupStore::backup_defaults();
    o.fsync = false;
    strata::BackupManager backups{mgr, strata::DirectoryBackupStore{dir.path / "backups", o},
                                  strata::BackupOptions{.key = strata::EncryptionKey::generate()}};
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
            // Only new keys: one an incremental misses has no record anywhere.
            const std::string prefix = "w" + std::to_string(w) + "-";
            for (long i = 0; !stop; ++i) {
                mgr.set(prefix + std::to_string(i), "v");
                if (i >= 200) mgr.erase(prefix + std::to_string(i - 200));
            }
        });
    backups.create(BackupType::full);
    for (int run = 1; run <= 40; ++run) {
        const auto inc = backups.create(BackupType::incremental);
        const auto t = backups.test_restore(inc.id);
        EXPECT_TRUE(t.ok) << inc.id << ": " << t.problem;
        if (run % 10 == 0) backups.create(BackupType::full);
    }
    stop = true;
    for (auto& t : writers) t.join();
}

// An erase that begins while a backup with writes going on asks what
// changed, and ends after the backup drained its write journal: the key was
// listed, the erase removed it before changed_since saw it, and the journal
// names it only because writes note their keys when they begin. Without
// that the key stayed at the incremental's cut with no record of its own,
// and a restore brought back the parent's value, older than the cut.
TEST(BackupReads, AnEraseRacingAnIncrementalIsNeverRestoredAsTheParentsValue) {
    using File = strata::testing::Switchable<strata::FileTier>;
    using Memory = strata::testing::Switchable<strata::MemoryTier>;
    using Stack = strata::StateManager<strata::NoCache, strata::NeverPromote, File, Memory>;
    TempDir dir;
    Stack mgr{strata::NoCache{}, strata::NeverPromote{}, File{strata::FileTier{dir.path / "tier", {.fsync = false}}},
              Memory{strata::MemoryTier{}}};
    strata::BackupManager backups{
        mgr, strata::DirectoryBackupStore{dir.path / "backups"},
        strata::BackupOptions{.key = strata::EncryptionKey::generate(), .hold_writes = false}};
    mgr.set("k", "old");
    backups.create(BackupType::full);
    mgr.set("k", "new");

    std::mutex m;
    std::condition_variable cv;
    bool erase_reached_tier1 = false, release = false;
    std::thread eraser;
    // The erase removed k from tier 0 and waits at tier 1; bounded, since a
    // capture that waits for the erase to end holds up its release.
    mgr.tier<1>().switches().before = [&](std::string_view op) {
        if (op != "erase_many") return;
        std::unique_lock lock(m);
        erase_reached_tier1 = true;
        cv.notify_all();
        cv.wait_for(lock, 1s, [&] { return release; });
    };
    // The capture has listed tier 0 (k present) and asks what changed.
    mgr.tier<0>().switches().before = [&](std::string_view op) {
        if (op != "changed_since" || eraser.joinable()) return;
        eraser = std::thread([&] { mgr.erase("k"); });
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return erase_reached_tier1; });
    };
    const auto inc = backups.create(BackupType::incremental);
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    eraser.join();
    mgr.tier<0>().switches().before = nullptr;
    mgr.tier<1>().switches().before = nullptr;

    EXPECT_TRUE(backups.test_restore(inc.id).ok);
    backups.restore(inc.id);
    EXPECT_NE(mgr.get("k"), std::optional<std::string>("old")) << "k restored as it was before the parent's cut";
}

// What recovery runs for a durable tier that came back empty: one tier, and
// only what it lacks or holds older; nothing newer overwritten, nothing
// erased, the other tiers left alone.
TEST_F(BackupTest, AScopedFillOnlyRestoreTouchesOneTierAndNothingNewer) {
    mgr.set("kept", "at-backup", strata::at<1>);
    mgr.set("newer", "at-backup", strata::at<1>);
    mgr.set("hot", "at-backup");
    const auto b = backups.create(BackupType::full);
    mgr.set("newer", "after", strata::at<1>);
    mgr.set("added", "after", strata::at<1>);
    mgr.tier<1>().erase("kept");
    mgr.tier<0>().erase("hot");
    mgr.tier<1>().erase("hot");
    const auto report = backups.restore(b.id, strata::RestoreScope{.tier = 1, .fill_only = true});
    EXPECT_EQ(report.keys_removed, 0u);
    ASSERT_EQ(report.tiers.size(), 1u);
    EXPECT_EQ(report.tiers[0].index, 1u);
    EXPECT_EQ(report.tiers[0].restored, 2u);  // kept, and hot's durable copy
    EXPECT_EQ(mgr.tier<1>().fetch("kept")->value, "at-backup");
    EXPECT_EQ(mgr.tier<1>().fetch("newer")->value, "after");
    EXPECT_EQ(mgr.tier<1>().fetch("added")->value, "after");
    EXPECT_EQ(mgr.tier<1>().fetch("hot")->value, "at-backup");
    EXPECT_FALSE(mgr.tier<0>().fetch("hot"));  // the hot tier was not in scope
}
