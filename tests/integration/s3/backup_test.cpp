// Encrypted backups kept in S3 (a TierBackupStore over an S3Tier of its own)
// on the real test server, every request through the signature-checking
// front: a full / incremental / differential chain restored onto a new
// machine at each cut, the storage class on every object a backup writes,
// requests failed mid-backup (retried through, or the create refused with
// nothing listed), damaged chunk objects, a backup mirrored to a local
// directory and S3 (the directory lost, S3 alone restores; S3 failing at the
// manifest leaves the backup in neither store), and a wrong key.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint32_t
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>  // pair
#include <vector>

#include "common/record_snapshot.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"
#include "integration/s3/support.hpp"
#include "strata/backup/mirrored_store.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/s3.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using strata::BackupType;
using strata::ErrorKind;
using strata::testing::expect_same;
using strata::testing::snapshot;
using strata::testing::Snapshot;
using strata::testing::TempDir;

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
using S3Store = strata::TierBackupStore<strata::S3Tier>;
// An S3Tier whose calls the test sees (Switchable's hooks): the failure
// tests arm the front just before the store of a chosen object, whose name
// holds the backup's id and so is not known before the create runs.
using WatchedS3 = strata::testing::Switchable<strata::S3Tier>;

struct Tiers {
    Snapshot hot, warm;
};

// A manager over MemoryTier + FileTier in a directory of its own: the
// service whose state is backed up, or a new machine to restore onto.
struct Machine {
    TempDir dir{"strata-s3-backup"};
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};

    Tiers state() { return {snapshot(mgr.tier<0>()), snapshot(mgr.tier<1>())}; }
    void expect_state(const Tiers& want) {
        const auto got = state();
        expect_same(want.hot, got.hot);
        expect_same(want.warm, got.warm);
    }
};

// Bytes zlib cannot shrink, so that a backup spans several 2 KiB chunks.
std::string noise(std::size_t size, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(size, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

std::vector<std::string> ids_of(const std::vector<strata::BackupInfo>& backups) {
    std::vector<std::string> out;
    for (const auto& b : backups) out.push_back(b.id);
    return out;
}

// A call that throws strata::Error of `kind`, its message holding `words`.
auto throws_error(ErrorKind kind, const std::string& words = "") {
    return ::testing::Throws<strata::Error>(
        ::testing::AllOf(::testing::ResultOf([](const strata::Error& e) { return e.kind(); }, kind),
                         ::testing::ResultOf([](const strata::Error& e) { return std::string(e.what()); },
                                             ::testing::HasSubstr(words))));
}

class S3Backup : public ::testing::Test {
protected:
    // One prefix for the whole test: every store below, a new machine's
    // included, reads and writes the same repository.
    strata::S3Options s3 = [] {
        auto o = strata_test::s3::options();
        o.retries.base_backoff = 5ms;  // injected failures are retried quickly
        return o;
    }();
    strata::EncryptionKey key = strata::EncryptionKey::generate();
    Machine live;

    strata::BackupOptions options(strata::EncryptionKey k) const { return strata::BackupOptions{.key = std::move(k)}; }

    static strata::TierStoreOptions small_chunks() {
        auto o = S3Store::backup_defaults();
        o.chunk_size = 2048;  // each backup is several objects
        return o;
    }
    S3Store s3_store() const { return S3Store{strata::S3Tier{s3}, small_chunks()}; }

    // Odd keys in the FileTier alone, even ones in the MemoryTier and
    // (written through) the FileTier, every third of those with an expiry.
    void fill(int count) {
        for (int i = 0; i < count; ++i) {
            const std::string k = "k" + std::to_string(i);
            if (i % 2)
                live.mgr.set(k, noise(48, i), strata::at<1>);
            else
                live.mgr.set(k, noise(48, i), i % 3 == 0 ? strata::SetOptions{.ttl = 1h} : strata::SetOptions{});
        }
    }
    // Round `round` of changes after fill: three keys rewritten (one with a
    // new expiry), two erased, one added.
    void change(int round) {
        const std::string tag = "round" + std::to_string(round);
        const int base = 10 * round;
        live.mgr.set("k1", tag, strata::at<1>);
        live.mgr.set("k" + std::to_string(base), tag, strata::SetOptions{.ttl = 2h});
        live.mgr.set("k" + std::to_string(base + 2), tag);
        live.mgr.erase("k" + std::to_string(base + 4));
        live.mgr.erase("k" + std::to_string(base + 5));
        live.mgr.set("new-" + tag, noise(200, 1000 + round));
    }

    // A new machine: empty tiers, and the repository read from S3 by a store
    // and a BackupManager of its own, as after losing everything else.
    void expect_new_machine_restores(const std::string& id, const Tiers& want) {
        SCOPED_TRACE("restoring " + id + " onto a new machine");
        Machine fresh;
        strata::BackupManager recovered{fresh.mgr, s3_store(), options(key)};
        const auto report = recovered.restore_into(id, fresh.mgr);
        EXPECT_EQ(report.keys_restored, want.hot.size() + want.warm.size());
        fresh.expect_state(want);
    }

    // Every object of the repository: its name and the key it holds, from
    // one listing (S3Tier::keys would HEAD each object too).
    std::vector<std::pair<std::string, std::string>> objects() const {
        strata::detail::s3::Client client(s3);
        const auto page = client.list_page(s3.prefix, std::nullopt, "test");
        EXPECT_FALSE(page.next_token) << "more objects than one listing holds";
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& o : page.objects) {
            const auto key = strata::detail::s3::decode_name(client.strip_prefix(o.key));
            EXPECT_TRUE(key) << o.key;
            out.emplace_back(o.key, key.value_or(""));
        }
        return out;
    }

    // Keys of the repository that belong to no listed backup: what a failed
    // create must not leave behind.
    std::vector<std::string> strays(const std::vector<strata::BackupInfo>& listed) const {
        std::vector<std::string> out;
        for (auto& [name, key] : objects()) {
            bool listed_or_ring = key == "backups/keyring";
            for (const auto& b : listed) listed_or_ring = listed_or_ring || key.starts_with("backups/" + b.id + "/");
            if (!listed_or_ring) out.push_back(std::move(key));
        }
        return out;
    }
};

TEST_F(S3Backup, FullIncrementalDifferentialChainRestoresEachCutOntoANewMachine) {
    strata::BackupManager backups{live.mgr, s3_store(), options(key)};
    fill(60);
    const auto front_before = strata_test::s3::front_stats();
    std::vector<std::pair<strata::BackupInfo, Tiers>> cuts;
    cuts.emplace_back(backups.create(BackupType::full), live.state());
    change(1);
    cuts.emplace_back(backups.create(BackupType::incremental), live.state());
    change(2);
    cuts.emplace_back(backups.create(BackupType::differential), live.state());
    change(3);
    cuts.emplace_back(backups.create(BackupType::incremental), live.state());
    const auto& full = cuts[0].first;
    const auto& inc = cuts[1].first;
    const auto& diff = cuts[2].first;
    const auto& tip = cuts[3].first;

    EXPECT_EQ(inc.parent, full.id);
    EXPECT_EQ(diff.parent, full.id);  // since the last full, not the last backup
    EXPECT_EQ(tip.parent, diff.id);
    EXPECT_GT(full.stored_bytes, 3 * small_chunks().chunk_size);
    EXPECT_EQ(inc.changed_keys, 7u);  // k1 (warm), k10, k12, new-round1 (hot and warm)
    EXPECT_EQ(inc.deleted_keys, 3u);  // k14 (hot and warm), k15 (warm)
    // Every object the backups wrote went through the verifying front.
    EXPECT_GE(strata_test::s3::front_stats().verified - front_before.verified, static_cast<long>(objects().size()));

    const auto listed = backups.list();
    ASSERT_EQ(ids_of(listed), (std::vector<std::string>{full.id, inc.id, diff.id, tip.id}));
    for (std::size_t i = 0; i < cuts.size(); ++i) {
        const auto& [b, state] = cuts[i];
        SCOPED_TRACE(b.id);
        EXPECT_EQ(listed[i].type, b.type);
        EXPECT_EQ(listed[i].stored_bytes, b.stored_bytes);
        EXPECT_EQ(b.key_count, state.hot.size() + state.warm.size());
        EXPECT_TRUE(backups.verify(b.id));
        EXPECT_TRUE(backups.verify_structure(b.id));
        const auto test = backups.test_restore(b.id);
        EXPECT_TRUE(test.ok) << test.problem;
        EXPECT_EQ(test.keys, b.key_count);
        expect_new_machine_restores(b.id, state);
    }

    // And back onto the live manager, whose cache holds a newer value.
    change(4);
    ASSERT_EQ(live.mgr.get("k1"), "round4");
    backups.restore(inc.id);
    live.expect_state(cuts[1].second);
    EXPECT_EQ(live.mgr.get("k1"), "round1");
    EXPECT_FALSE(live.mgr.get("k14"));
}

TEST_F(S3Backup, EveryObjectABackupWritesCarriesTheStorageClass) {
    // Not the tier's default (STANDARD_IA), and one s3rver accepts: an object
    // stored without the header has no class, one stored with the default
    // has the other.
    s3.storage_class = "ONEZONE_IA";
    strata::BackupManager backups{live.mgr, s3_store(), options(key)};
    fill(30);
    backups.create(BackupType::full);
    change(1);
    backups.create(BackupType::incremental);

    strata::detail::s3::Client client(s3);
    const auto stored = objects();
    std::size_t chunks = 0, manifests = 0, rings = 0;
    for (const auto& [name, key] : stored) {
        chunks += key.find("/data/") != std::string::npos;
        manifests += key.ends_with("/summary");
        rings += key == "backups/keyring";
        const auto head = client.execute_one({"HEAD", name, {}, {}, {}}, "test");
        ASSERT_EQ(head.status, 200) << key;
        EXPECT_EQ(head.header("x-amz-storage-class"), "ONEZONE_IA") << key;
    }
    EXPECT_GE(chunks, 3u);
    EXPECT_EQ(manifests, 2u);
    EXPECT_EQ(rings, 1u);
    EXPECT_EQ(stored.size(), chunks + manifests + rings);
}

// The front fails the store of the third chunk, then of the manifest: as
// often as the tier retries (S3Options::retries.count), which it rides out,
// then once more, which makes the create throw Error{unavailable} with
// nothing listed and nothing of it left in S3.
TEST_F(S3Backup, RequestsFailedMidBackupAreRetriedOrLeaveNothingListed) {
    strata::BackupManager backups{live.mgr, strata::TierBackupStore{WatchedS3{strata::S3Tier{s3}}, small_chunks()},
                                  options(key)};
    int stores = 0, arm_at = 0, failures = 0;
    backups.store().tier().switches().before = [&](std::string_view op) {
        if (op == "store" && ++stores == arm_at) strata_test::s3::front_fail_next(s3.prefix, failures);
    };
    fill(60);
    const auto first = backups.create(BackupType::full);
    const auto want = live.state();
    // With the key ring stored, a create stores its chunks in order, then
    // its manifest; an unchanged state makes backups of one size.
    stores = 0;
    backups.create(BackupType::full);
    const int per_backup = stores;
    ASSERT_GE(per_backup, 4) << "the third store must be a chunk, not the manifest";

    const int retries = static_cast<int>(s3.retries.count);
    for (const auto& [what, at] : {std::pair{"third chunk", 3}, std::pair{"manifest", per_backup}}) {
        SCOPED_TRACE(what);
        arm_at = at;
        stores = 0;
        failures = retries;
        const auto recovered = backups.create(BackupType::full);
        EXPECT_EQ(stores, per_backup);
        EXPECT_TRUE(backups.verify(recovered.id));
        expect_new_machine_restores(recovered.id, want);

        const auto listed = backups.list();
        stores = 0;
        failures = retries + 1;
        EXPECT_THAT([&] { backups.create(BackupType::full); },
                    throws_error(ErrorKind::unavailable, "after " + std::to_string(retries + 1) + " attempts"));
        EXPECT_EQ(stores, at);  // nothing stored after the failed object
        EXPECT_EQ(ids_of(backups.list()), ids_of(listed));
        EXPECT_EQ(ids_of(strata::BackupManager{live.mgr, s3_store(), options(key)}.list()), ids_of(listed));
        EXPECT_THAT(strays(listed), ::testing::IsEmpty());
    }
    arm_at = 0;
    strata_test::s3::front_fail_next(s3.prefix, 0);

    EXPECT_EQ(backups.stats().failures, 2u);
    for (const auto& b : backups.list()) EXPECT_TRUE(backups.verify(b.id)) << b.id;
    change(1);
    backups.restore(first.id);
    live.expect_state(want);
}

// A chunk object of the full backup replaced through the raw tier: as a
// valid record around changed or fewer bytes (the store passes it, the
// backup's authentication does not), or with bytes changed under the
// record's checksum (the store refuses it).
TEST_F(S3Backup, ADamagedChunkObjectIsRefusedAndChangesNothing) {
    strata::BackupManager backups{live.mgr, s3_store(), options(key)};
    fill(60);
    const auto full = backups.create(BackupType::full);
    change(1);
    const auto inc = backups.create(BackupType::incremental);
    const auto at_inc = live.state();
    change(2);
    const auto before = live.state();

    auto& raw = backups.store().tier();
    const auto chunks = raw.keys("backups/" + full.id + "/data/*");
    ASSERT_GE(chunks.size(), 3u);
    const std::string victim = chunks[chunks.size() / 2];
    const strata::Record original = *raw.fetch(victim);
    const auto flipped = [](std::string bytes) {
        bytes[bytes.size() / 2] ^= 0x01;
        return bytes;
    };
    strata::Record under_checksum = original;
    under_checksum.value = flipped(original.value);
    const std::vector<std::pair<std::string, strata::Record>> damages{
        {"one bit flipped, stored as a valid record", strata::make_record(flipped(original.value), original.version)},
        {"one bit flipped under the record's checksum", under_checksum},
        {"cut short, stored as a valid record",
         strata::make_record(original.value.substr(0, original.value.size() - 16), original.version)},
    };
    for (const auto& [what, damaged] : damages) {
        SCOPED_TRACE(what);
        raw.store(victim, damaged);
        EXPECT_FALSE(backups.verify(full.id));
        EXPECT_FALSE(backups.verify_structure(full.id));
        EXPECT_TRUE(backups.verify(inc.id));  // its own objects are whole
        EXPECT_FALSE(backups.test_restore(inc.id).ok);
        EXPECT_THAT([&] { backups.restore(full.id); }, throws_error(ErrorKind::corrupt));
        EXPECT_THAT([&] { backups.restore(inc.id); }, throws_error(ErrorKind::corrupt));
        Machine fresh;
        EXPECT_THAT([&] { backups.restore_into(inc.id, fresh.mgr); }, throws_error(ErrorKind::corrupt));
        fresh.expect_state({});
        live.expect_state(before);
    }
    EXPECT_EQ(backups.stats().verify_failures, damages.size());
    EXPECT_EQ(backups.stats().refused_restores, 3 * damages.size());

    raw.store(victim, original);
    EXPECT_TRUE(backups.verify(full.id));
    EXPECT_TRUE(backups.verify_structure(full.id));
    backups.restore(inc.id);
    live.expect_state(at_inc);
}

TEST_F(S3Backup, MirroredChainRestoresFromS3AloneAfterTheMachineIsLost) {
    TempDir local{"strata-s3-mirror"};
    auto directory = strata::DirectoryBackupStore::backup_defaults();
    directory.fsync = false;
    std::vector<std::pair<std::string, Tiers>> cuts;
    {
        strata::BackupManager mirrored{
            live.mgr, strata::MirroredBackupStore{strata::DirectoryBackupStore{local.path, directory}, s3_store()},
            options(key)};
        fill(60);
        cuts.emplace_back(mirrored.create(BackupType::full).id, live.state());
        change(1);
        cuts.emplace_back(mirrored.create(BackupType::incremental).id, live.state());
        change(2);
        cuts.emplace_back(mirrored.create(BackupType::differential).id, live.state());

        auto& both = mirrored.store();
        const std::vector<std::string> ids{cuts[0].first, cuts[1].first, cuts[2].first};
        EXPECT_EQ(both.primary().ids(), ids);
        EXPECT_EQ(both.secondary().ids(), ids);
        ASSERT_TRUE(both.secondary().key_ring());
        EXPECT_EQ(both.primary().key_ring(), both.secondary().key_ring());
        for (const auto& id : ids) EXPECT_EQ(both.primary().summary(id), both.secondary().summary(id)) << id;
    }
    fs::remove_all(local.path);  // the machine is lost, its disk with it

    Machine fresh;
    strata::BackupManager from_s3{fresh.mgr, s3_store(), options(key)};
    ASSERT_EQ(from_s3.list().size(), cuts.size());
    for (const auto& [id, state] : cuts) {
        EXPECT_TRUE(from_s3.verify(id)) << id;
        expect_new_machine_restores(id, state);
    }
}

TEST_F(S3Backup, MirroredCreateFailingAtTheS3ManifestIsInNeitherStore) {
    TempDir local{"strata-s3-mirror"};
    auto directory = strata::DirectoryBackupStore::backup_defaults();
    directory.fsync = false;
    // Chunks of the default 4 MiB: a backup this small is one chunk object,
    // stored at commit, then its manifest.
    strata::BackupManager mirrored{live.mgr,
                                   strata::MirroredBackupStore{strata::DirectoryBackupStore{local.path, directory},
                                                               strata::TierBackupStore{WatchedS3{strata::S3Tier{s3}}}},
                                   options(key)};
    int stores = 0, arm_at = 0;
    mirrored.store().secondary().tier().switches().before = [&](std::string_view op) {
        if (op == "store" && ++stores == arm_at)
            strata_test::s3::front_fail_next(s3.prefix, static_cast<int>(s3.retries.count) + 1);
    };
    fill(30);
    const auto full = mirrored.create(BackupType::full);
    change(1);
    stores = 0;
    const auto inc = mirrored.create(BackupType::incremental);
    ASSERT_EQ(stores, 2) << "one chunk, then the manifest";
    const auto want = live.state();

    change(2);
    stores = 0;
    arm_at = 2;
    EXPECT_THAT([&] { mirrored.create(BackupType::incremental); }, throws_error(ErrorKind::unavailable));
    arm_at = 0;
    EXPECT_EQ(stores, 2);
    const std::vector<std::string> ids{full.id, inc.id};
    EXPECT_EQ(mirrored.store().primary().ids(), ids);
    EXPECT_EQ(mirrored.store().secondary().ids(), ids);
    EXPECT_THAT(strays(mirrored.list()), ::testing::IsEmpty());
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(local.path)) files.push_back(e.path().filename().string());
    EXPECT_THAT(files, ::testing::UnorderedElementsAre(inc.id + ".backup", full.id + ".backup", "keyring"));
    EXPECT_EQ(mirrored.stats().failures, 1u);

    // Each store still holds a whole chain that the next backup builds on.
    const auto next = mirrored.create(BackupType::incremental);
    EXPECT_EQ(next.parent, inc.id);
    EXPECT_TRUE(mirrored.verify(next.id));
    expect_new_machine_restores(inc.id, want);
    expect_new_machine_restores(next.id, live.state());
}

TEST_F(S3Backup, AWrongKeyIsRejectedAndChangesNothing) {
    strata::BackupManager backups{live.mgr, s3_store(), options(key)};
    fill(30);
    const auto full = backups.create(BackupType::full);
    change(1);
    const auto inc = backups.create(BackupType::incremental);
    change(2);
    const auto before = live.state();
    const auto stored = objects();
    const auto ring = backups.store().key_ring();
    ASSERT_TRUE(ring);

    strata::BackupManager thief{live.mgr, s3_store(), options(strata::EncryptionKey::generate())};
    Machine fresh;
    const std::vector<std::pair<std::string, std::function<void()>>> calls{
        {"restore", [&] { thief.restore(inc.id); }},
        {"restore_into", [&] { thief.restore_into(inc.id, fresh.mgr); }},
        {"verify", [&] { thief.verify(full.id); }},
        {"create full", [&] { thief.create(BackupType::full); }},
        {"create incremental", [&] { thief.create(BackupType::incremental); }},
    };
    for (const auto& [what, call] : calls) EXPECT_THAT(call, throws_error(ErrorKind::rejected, "wrong key")) << what;
    const auto test = thief.test_restore(inc.id);
    EXPECT_FALSE(test.ok);
    EXPECT_THAT(test.problem, ::testing::HasSubstr("wrong key"));
    EXPECT_TRUE(thief.verify_structure(inc.id));  // needs no key
    EXPECT_EQ(thief.stats().refused_restores, 2u);

    live.expect_state(before);
    fresh.expect_state({});
    EXPECT_EQ(objects(), stored);
    EXPECT_EQ(backups.store().key_ring(), ring);
    EXPECT_EQ(ids_of(backups.list()), (std::vector<std::string>{full.id, inc.id}));
    EXPECT_TRUE(backups.verify(inc.id));
}

}  // namespace
