// Checkpoints over the real MemoryTier and FileTier: capture, verify,
// rollback, stores, retention, and crash safety (a child killed mid-capture).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/checkpoint/tier_store.hpp>
#include <strata/strata.hpp>
#include <thread>
#include "common/failure.hpp"
#include "common/damage.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"
#include "common/record_snapshot.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using strata::CheckpointType;

namespace {

using strata::testing::flip_byte;

using strata::testing::TempDir;

// AlwaysPromote that counts its calls: any read through the manager's read
// path shows here.
struct CountingPromotion {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    bool should_promote(std::string_view, std::size_t tier, strata::Clock::time_point) {
        ++*calls;
        return tier > 0;
    }
};

// A real tier that runs `f` before each batch read a capture makes (to act
// mid-capture); captures read through peek_many where the tier has it.
using Hooked = strata::testing::Switchable<strata::MemoryTier>;
void on_capture_read(Hooked& tier, std::function<void()> f) {
    tier.switches().before = [f = std::move(f)](std::string_view op) {
        if (op == "fetch_many" || op == "peek_many") f();
    };
}

using Manager = strata::StateManager<strata::LruCache, CountingPromotion, strata::MemoryTier, strata::FileTier>;
using Ckpt = strata::Checkpointer<Manager, strata::DirectoryCheckpointStore>;

static_assert(strata::CheckpointStore<strata::DirectoryCheckpointStore>);
static_assert(strata::CheckpointStore<strata::TierCheckpointStore<strata::MemoryTier>>);
static_assert(!strata::CheckpointStore<int>);
static_assert(!strata::CheckpointStore<strata::MemoryTier>);  // a tier is not a store
static_assert(!std::is_polymorphic_v<Ckpt>);

using strata::testing::expect_same;
using strata::testing::snapshot;


class CheckpointTest : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{1000}, CountingPromotion{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
    Ckpt ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};

    strata::MemoryTier& hot() { return mgr.tier<0>(); }
    strata::FileTier& warm() { return mgr.tier<1>(); }
    fs::path file_of(const std::string& id) { return dir.path / "ckpt" / (id + ".ckpt"); }

    void fill(int n, std::string_view tag = "v") {
        std::vector<std::pair<std::string, std::string>> kv;
        for (int i = 0; i < n; ++i) kv.emplace_back("key:" + std::to_string(i), std::string(tag) + std::to_string(i));
        mgr.set_many(kv);
    }
};

}  // namespace

TEST_F(CheckpointTest, CtadAndSelectionByTypeIndexAndTemperature) {
    fill(50);
    strata::Checkpointer deduced{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    static_assert(std::is_same_v<decltype(deduced), Ckpt>);

    const auto warm_only = ckpt.create<strata::FileTier>(CheckpointType::manual);
    ASSERT_EQ(warm_only.tiers.size(), 1u);
    EXPECT_EQ(warm_only.tiers[0].index, 1u);
    EXPECT_EQ(warm_only.key_count, 50u);

    const auto both = ckpt.create<strata::at_t<0>, strata::temperature_t<strata::Temperature::warm>>(CheckpointType::daily);
    ASSERT_EQ(both.tiers.size(), 2u);
    EXPECT_EQ(both.key_count, 100u);
    EXPECT_EQ(both.tiers[0].name, "memory");

    const auto hot_only = ckpt.create<strata::in_t<strata::MemoryTier>>(CheckpointType::automatic);
    ASSERT_EQ(hot_only.tiers.size(), 1u);
    EXPECT_EQ(hot_only.tiers[0].index, 0u);

    const auto all = deduced.create(CheckpointType::pre_upgrade);
    EXPECT_EQ(all.tiers.size(), 2u);
    EXPECT_EQ(all.consistency_hash, both.consistency_hash);  // same tiers, same state
    EXPECT_NE(warm_only.consistency_hash, both.consistency_hash);
    EXPECT_NE(all.id.find("pre_upgrade"), std::string::npos);

    const auto listed = ckpt.list();
    ASSERT_EQ(listed.size(), 4u);
    EXPECT_EQ(listed[0].id, warm_only.id);  // ids sort by creation
    EXPECT_EQ(listed[3].id, all.id);
    const auto got = ckpt.get(both.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->type, CheckpointType::daily);
    EXPECT_EQ(got->key_count, both.key_count);
    EXPECT_EQ(got->consistency_hash, both.consistency_hash);
    EXPECT_EQ(got->stream_hash, both.stream_hash);
    EXPECT_EQ(got->created_at, both.created_at);
    EXPECT_EQ(got->format_version, 1u);
    EXPECT_TRUE(got->writes_held);
    EXPECT_FALSE(ckpt.get("20000101T000000.000000Z-000001-manual"));
}

TEST_F(CheckpointTest, CaptureLeavesCacheAndPromotionUntouched) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (int i = 0; i < 200; ++i) kv.emplace_back("cold:" + std::to_string(i), "x");
    mgr.set_many(kv, strata::warm);  // only in the file tier
    ASSERT_EQ(mgr.get("cold:7"), "x");  // one read through the manager: cached, counted, promoted
    const auto cached = mgr.cache().size();
    const int calls = *mgr.promotion().calls;
    const auto hot_keys = hot().keys("*").size();
    ASSERT_EQ(calls, 1);
    ASSERT_EQ(hot_keys, 1u);

    const auto info = ckpt.create(CheckpointType::manual);
    EXPECT_EQ(info.key_count, 201u);
    EXPECT_EQ(mgr.cache().size(), cached);
    EXPECT_EQ(*mgr.promotion().calls, calls);
    EXPECT_EQ(hot().keys("*").size(), hot_keys);
    ckpt.rollback(info.id);
    EXPECT_EQ(*mgr.promotion().calls, calls);
}

TEST_F(CheckpointTest, RollbackRestoresExactlyTheCapturedRecords) {
    fill(100);
    mgr.set("ttl:1", "short", strata::SetOptions{.ttl = 1h});
    const auto hot_before = snapshot(hot());
    const auto warm_before = snapshot(warm());
    const auto info = ckpt.create(CheckpointType::manual);
    EXPECT_EQ(info.key_count, 202u);

    for (int i = 0; i < 10; ++i) mgr.set("key:" + std::to_string(i), "changed");
    for (int i = 10; i < 15; ++i) mgr.erase("key:" + std::to_string(i));
    for (int i = 0; i < 7; ++i) mgr.set("new:" + std::to_string(i), "new");
    ASSERT_EQ(mgr.get("key:3"), "changed");  // cached now
    ASSERT_GT(mgr.cache().size(), 0u);

    const auto report = ckpt.rollback(info.id);
    ASSERT_EQ(report.tiers.size(), 2u);
    for (const auto& t : report.tiers) {
        EXPECT_EQ(t.restored, 15u) << t.name;
        EXPECT_EQ(t.removed, 7u) << t.name;
        EXPECT_EQ(t.unchanged, 86u) << t.name;
    }
    EXPECT_EQ(report.keys_restored, 30u);
    EXPECT_EQ(report.keys_removed, 14u);
    EXPECT_EQ(mgr.cache().size(), 0u);
    expect_same(snapshot(hot()), hot_before);
    expect_same(snapshot(warm()), warm_before);
    EXPECT_EQ(mgr.get("key:3"), "v3");
    EXPECT_EQ(mgr.get("new:0"), std::nullopt);

    const auto again = ckpt.rollback(info.id);  // nothing left to do
    EXPECT_EQ(again.keys_restored, 0u);
    EXPECT_EQ(again.keys_removed, 0u);
    EXPECT_EQ(again.keys_unchanged, 202u);
}

// The README's own pattern: capture the durable tier only, roll back, and
// the manager serves the captured value, not the newer hot copy.
TEST_F(CheckpointTest, RollbackOfTheDurableTierIsWhatTheManagerServes) {
    fill(20);
    const auto info = ckpt.create<strata::FileTier>();
    mgr.set("key:1", "changed");
    mgr.set("key:2", "changed");
    mgr.set("new", "created after");
    ASSERT_EQ(mgr.get("key:1"), "changed");  // cached now
    const auto report = ckpt.rollback(info.id);
    EXPECT_EQ(report.keys_restored, 2u);
    EXPECT_EQ(report.keys_removed, 1u);
    EXPECT_EQ(warm().fetch("key:1")->value, "v1");
    EXPECT_FALSE(hot().fetch("key:1"));  // the newer hot copy is gone
    EXPECT_EQ(hot().fetch("key:5")->value, "v5");  // unchanged keys keep theirs
    EXPECT_EQ(mgr.get("key:1"), "v1");
    EXPECT_EQ(mgr.get("key:2"), "v2");
    EXPECT_EQ(mgr.get("new"), std::nullopt);
}

TEST_F(CheckpointTest, ExpiredCapturedRecordsAreNotRestored) {
    mgr.set("soon", "gone", strata::SetOptions{.ttl = 1s});
    mgr.set("stays", "here");
    const auto expires = *warm().fetch("soon")->expires_at;
    const auto info = ckpt.create();
    ASSERT_EQ(info.key_count, 4u);  // captured before it expired
    std::this_thread::sleep_until(expires + 20ms);
    mgr.set("soon", "back again");  // a new copy of an expired key
    const auto report = ckpt.rollback(info.id);
    EXPECT_EQ(report.expired_skipped, 2u);  // one per tier
    EXPECT_EQ(report.keys_removed, 2u);
    EXPECT_EQ(mgr.get("soon"), std::nullopt);
    EXPECT_EQ(mgr.get("stays"), "here");
}

TEST_F(CheckpointTest, FlippedByteMakesVerifyFalseAndRollbackRefuse) {
    fill(300);
    const auto good = ckpt.create();
    const auto info = ckpt.create();
    EXPECT_TRUE(ckpt.verify(info.id));
    mgr.set("key:1", "after");
    const auto path = file_of(info.id);
    const auto size = fs::file_size(path);
    // Positions in the stream (start, middle, end), the summary and the footer.
    for (const std::uintmax_t at : {std::uintmax_t{0}, std::uintmax_t{10}, info.stored_bytes / 2,
                                    info.stored_bytes - 1, info.stored_bytes + 40, size - 30, size - 1}) {
        SCOPED_TRACE(at);
        flip_byte(path, at, 0x20);
        EXPECT_FALSE(ckpt.verify(info.id));
        try {
            ckpt.rollback(info.id);
            ADD_FAILURE() << "rollback accepted a damaged checkpoint";
        } catch (const strata::Error& e) {
            EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
            EXPECT_NE(std::string(e.what()).find(info.id), std::string::npos) << e.what();
        }
        EXPECT_EQ(mgr.get("key:1"), "after");  // nothing changed
        flip_byte(path, at, 0x20);  // back
    }
    EXPECT_TRUE(ckpt.verify(info.id));
    EXPECT_TRUE(ckpt.verify(good.id));
    EXPECT_GE(ckpt.stats().verify_failures, 7u);
    EXPECT_GE(ckpt.stats().refused_rollbacks, 7u);
}

// A rewritten stream that still inflates to the same records and carries a
// freshly sealed summary: only the SHA-256 of the stored bytes catches it.
TEST_F(CheckpointTest, ReencodedStreamFailsTheStreamHash) {
    fill(50);
    const auto info = ckpt.create();
    const auto path = file_of(info.id);
    std::string file;
    {
        std::ifstream in(path, std::ios::binary);
        file.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string plain;
    strata::codec::Inflater inflater;
    inflater.write(std::string_view(file).substr(0, info.stored_bytes), plain);
    std::string stream;
    strata::codec::Deflater deflater(9);
    deflater.write(plain, [&](std::string_view c) { stream += c; });
    deflater.finish([&](std::string_view c) { stream += c; });
    ASSERT_NE(stream, file.substr(0, info.stored_bytes));
    auto forged = info;
    forged.stored_bytes = stream.size();  // stream_hash kept: the forger cannot match it
    const auto summary = strata::detail::checkpoint::encode_summary(forged);
    std::string footer;
    strata::detail::checkpoint::put_u64(footer, summary.size());
    strata::detail::checkpoint::put_u64(footer, stream.size());
    footer += "STRCKEND";
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << stream << summary << footer;
    }
    ASSERT_TRUE(ckpt.get(info.id));  // the summary itself reads fine
    try {
        ckpt.check(info.id);
        ADD_FAILURE() << "a re-encoded stream passed verification";
    } catch (const strata::Error& e) {
        EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << e.what();
    }
}

TEST_F(CheckpointTest, TruncatedCheckpointIsRefusedAndNotListed) {
    fill(300);
    const auto info = ckpt.create();
    mgr.set("key:1", "after");
    fs::resize_file(file_of(info.id), info.stored_bytes / 2);
    EXPECT_FALSE(ckpt.verify(info.id));
    try {
        ckpt.rollback(info.id);
        ADD_FAILURE() << "rollback accepted a truncated checkpoint";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
    }
    EXPECT_EQ(mgr.get("key:1"), "after");
    EXPECT_TRUE(ckpt.list().empty());
    EXPECT_EQ(ckpt.stats().unreadable, 1u);
    EXPECT_THROW(ckpt.get(info.id), strata::Error);
    EXPECT_TRUE(ckpt.remove(info.id));  // a damaged checkpoint can still be removed
}

TEST_F(CheckpointTest, CorruptRecordFailsTheCaptureOrIsSkippedAndReported) {
    fill(10);
    auto bad = *warm().fetch("key:4");
    bad.value = "tampered";  // checksum no longer matches
    warm().store("key:4", bad);
    try {
        ckpt.create();
        ADD_FAILURE() << "captured a corrupt record";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
        EXPECT_NE(std::string(e.what()).find("key:4"), std::string::npos);
    }
    EXPECT_TRUE(ckpt.list().empty());
    for (const auto& e : fs::directory_iterator(dir.path / "ckpt")) ADD_FAILURE() << "left behind: " << e.path();
    EXPECT_EQ(ckpt.stats().failed_captures, 1u);

    const auto info = ckpt.create(CheckpointType::manual, {.on_corrupt = strata::OnCorrupt::skip});
    ASSERT_EQ(info.skipped.size(), 1u);
    EXPECT_EQ(info.skipped[0].key, "key:4");
    EXPECT_EQ(info.skipped[0].tier, 1u);
    EXPECT_EQ(info.key_count, 19u);
    EXPECT_EQ(ckpt.get(info.id)->skipped.size(), 1u);
    EXPECT_TRUE(ckpt.verify(info.id));
}

TEST_F(CheckpointTest, WritesWaitForTheCaptureUnlessToldNotTo) {
    using HookedManager = strata::StateManager<strata::NoCache, strata::NeverPromote, Hooked>;
    HookedManager m{strata::NoCache{}, strata::NeverPromote{}, Hooked{strata::MemoryTier{}}};
    strata::Checkpointer c{m, strata::DirectoryCheckpointStore{dir.path / "hooked", {.fsync = false}}};
    m.set("a", "1");

    std::future<void> writer;
    bool finished_during_capture = true;
    on_capture_read(m.tier<0>(), [&] {
        if (writer.valid()) return;
        writer = std::async(std::launch::async, [&] { m.set("b", "2"); });
        // With writes held the set cannot finish while we are inside the capture.
        finished_during_capture = writer.wait_for(200ms) == std::future_status::ready;
    });
    const auto held = c.create();
    ASSERT_TRUE(writer.valid());
    EXPECT_FALSE(finished_during_capture);
    writer.get();
    EXPECT_EQ(held.key_count, 1u);  // "b" came after the cut
    EXPECT_TRUE(held.writes_held);

    writer = {};
    const auto cut_before = m.current_version();
    on_capture_read(m.tier<0>(), [&] {
        if (writer.valid()) return;
        writer = std::async(std::launch::async, [&] { m.set("c", "3"); });
        finished_during_capture = writer.wait_for(10s) == std::future_status::ready;  // does not hang
    });
    const auto free = c.create(CheckpointType::manual, {.hold_writes = false});
    EXPECT_TRUE(finished_during_capture);
    EXPECT_FALSE(free.writes_held);
    EXPECT_EQ(free.version_cut, cut_before);
    EXPECT_GT(m.current_version(), free.version_cut);
}

TEST_F(CheckpointTest, RemoveListStatsAndRetention) {
    fill(5);
    std::vector<strata::CheckpointInfo> manual;
    for (int i = 0; i < 3; ++i) manual.push_back(ckpt.create(CheckpointType::manual));
    const auto daily = ckpt.create(CheckpointType::daily);
    auto st = ckpt.stats();
    EXPECT_EQ(st.checkpoints, 4u);
    EXPECT_EQ(st.by_type[static_cast<std::size_t>(CheckpointType::manual)], 3u);
    EXPECT_EQ(st.by_type[static_cast<std::size_t>(CheckpointType::daily)], 1u);
    EXPECT_EQ(st.created, 4u);
    EXPECT_GT(st.stored_bytes, 0u);
    ASSERT_TRUE(st.last_created);
    EXPECT_EQ(st.last_created->id, daily.id);

    const auto gone = ckpt.apply_retention(strata::Retention{.keep_last = 2});
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], manual[0].id);
    EXPECT_FALSE(ckpt.get(manual[0].id));
    EXPECT_EQ(ckpt.list().size(), 3u);

    EXPECT_TRUE(ckpt.remove(daily.id));
    EXPECT_FALSE(ckpt.remove(daily.id));
    EXPECT_EQ(ckpt.stats().removed, 2u);

    // Automatic retention after each create: keep one manual.
    Ckpt keep_one{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}},
                  {.retention = strata::Retention{}.keep(CheckpointType::manual, 1)}};
    const auto newest = keep_one.create(CheckpointType::manual);
    const auto left = keep_one.list();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].id, newest.id);
}

TEST(CheckpointRetention, AgeAndCountRules) {
    const auto now = strata::Clock::now();
    std::vector<strata::CheckpointInfo> infos;
    const auto add = [&](std::string id, CheckpointType t, std::chrono::hours age) {
        strata::CheckpointInfo i;
        i.id = std::move(id);
        i.type = t;
        i.created_at = now - age;
        infos.push_back(i);
    };
    add("a", CheckpointType::daily, 72h);
    add("b", CheckpointType::daily, 48h);
    add("c", CheckpointType::daily, 24h);
    add("d", CheckpointType::emergency, 100h);
    add("e", CheckpointType::manual, 1h);
    EXPECT_EQ(strata::retention_victims(infos, {.max_age = 50h}, now), (std::vector<std::string>{"d", "a"}));
    EXPECT_EQ(strata::retention_victims(infos, {.keep_last = 1}, now), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(strata::retention_victims(infos, {}, now).empty());
    EXPECT_EQ(strata::retention_victims(infos, strata::Retention{}.keep(CheckpointType::daily, 2), now),
              (std::vector<std::string>{"a"}));
}

TEST_F(CheckpointTest, BadIdsAreRefusedBeforeAnythingIsTouched) {
    for (const std::string& bad : std::vector<std::string>{"", "../x", "a/b", ".hidden", std::string("a\0b", 3), std::string(200, 'a')}) {
        EXPECT_THROW(ckpt.get(bad), std::invalid_argument) << bad;
        EXPECT_THROW(ckpt.verify(bad), std::invalid_argument) << bad;
        EXPECT_THROW(ckpt.rollback(bad), std::invalid_argument) << bad;
        EXPECT_THROW(ckpt.remove(bad), std::invalid_argument) << bad;
    }
    try {
        ckpt.rollback("20000101T000000.000000Z-000001-manual");
        ADD_FAILURE();
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::not_found);
    }
}

// An unknown id is not_found and an id taken is a conflict, in both stores;
// the checkpointer passes not_found on and reports no checkpoint for get().
TEST_F(CheckpointTest, UnknownIdsAreNotFoundAndTakenIdsConflict) {
    using strata::testing::failure_of;
    const std::string unknown = "20000101T000000.000000Z-000001-manual";
    EXPECT_EQ(failure_of([&] { (void)ckpt.verify(unknown); }).first, strata::ErrorKind::not_found);
    EXPECT_FALSE(ckpt.get(unknown).has_value());

    strata::DirectoryCheckpointStore files{dir.path / "kinds", {.fsync = false}};
    EXPECT_EQ(failure_of([&] { (void)files.open(unknown); }).first, strata::ErrorKind::not_found);
    files.begin("x").commit("summary");
    EXPECT_EQ(failure_of([&] { files.begin("x").commit("summary"); }).first, strata::ErrorKind::conflict);

    strata::TierCheckpointStore in_tier{strata::MemoryTier{}};
    EXPECT_EQ(failure_of([&] { (void)in_tier.open(unknown); }).first, strata::ErrorKind::not_found);
    in_tier.begin("x").commit("summary");
    EXPECT_EQ(failure_of([&] { (void)in_tier.begin("x"); }).first, strata::ErrorKind::conflict);
}

TEST_F(CheckpointTest, RollbackRefusesAManagerWithOtherTiers) {
    fill(3);
    const auto info = ckpt.create();
    using Other = strata::StateManager<strata::NoCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
    Other other{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "other", {.fsync = false, .name = "elsewhere"}}};
    other.set("mine", "1");
    strata::Checkpointer c{other, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};
    EXPECT_TRUE(c.verify(info.id));
    try {
        c.rollback(info.id);
        ADD_FAILURE();
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
    }
    EXPECT_EQ(other.get("mine"), "1");
}

TEST_F(CheckpointTest, TierStoreKeepsCheckpointsInATier) {
    fill(400);
    strata::Checkpointer c{mgr, strata::TierCheckpointStore{strata::FileTier{dir.path / "store", {.fsync = false}},
                                                            {.chunk_size = 4096}}};
    const auto info = c.create(CheckpointType::emergency);
    EXPECT_GT(info.stored_bytes, 4096u);  // several chunks
    ASSERT_EQ(c.list().size(), 1u);
    EXPECT_TRUE(c.verify(info.id));
    mgr.set("key:9", "changed");
    EXPECT_EQ(c.rollback(info.id).keys_restored, 2u);
    EXPECT_EQ(mgr.get("key:9"), "v9");

    // A damaged chunk: the tier's own checksum catches it.
    auto& store_tier = c.store().tier();
    const std::string chunk = "checkpoints/" + info.id + "/data/00000001";
    auto r = *store_tier.fetch(chunk);
    r.value[100] ^= 1;
    store_tier.store(chunk, r);
    EXPECT_FALSE(c.verify(info.id));
    mgr.set("key:9", "changed");
    EXPECT_THROW(c.rollback(info.id), strata::Error);
    EXPECT_EQ(mgr.get("key:9"), "changed");

    EXPECT_TRUE(c.remove(info.id));
    EXPECT_TRUE(c.list().empty());
    EXPECT_TRUE(store_tier.keys("*").empty());
}

TEST_F(CheckpointTest, TierStoreSinkDroppedWithoutCommitLeavesNothing) {
    strata::TierCheckpointStore store{strata::MemoryTier{}, {.chunk_size = 8}};
    {
        auto sink = store.begin("x");
        sink.write("0123456789abcdefghij");
    }
    EXPECT_TRUE(store.ids().empty());
    EXPECT_TRUE(store.tier().keys("*").empty());
}

// A child process killed with SIGKILL in the middle of a capture leaves the
// earlier checkpoint intact and no half-written one listed.
TEST_F(CheckpointTest, ChildKilledMidCaptureLeavesEarlierCheckpointsIntact) {
    using HookedManager = strata::StateManager<strata::NoCache, strata::NeverPromote, Hooked>;
    HookedManager m{strata::NoCache{}, strata::NeverPromote{}, Hooked{strata::MemoryTier{}}};
    std::mt19937_64 rng(42);
    std::vector<std::pair<std::string, std::string>> kv;
    for (int i = 0; i < 4000; ++i) {
        std::string v(512, '\0');
        for (auto& ch : v) ch = static_cast<char>(rng());
        kv.emplace_back("k" + std::to_string(i), std::move(v));
    }
    m.set_many(kv);
    const auto store_dir = dir.path / "crash";
    strata::Checkpointer c{m, strata::DirectoryCheckpointStore{store_dir}, {.batch_size = 100}};
    const auto earlier = c.create();

    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int calls = 0;
        on_capture_read(m.tier<0>(), [&] {
            if (++calls == 30) {  // ~1.5 MB streamed to the temporary file by now
                (void)!::write(ready[1], "x", 1);
                ::sleep(30);  // killed long before this ends
            }
        });
        try {
            c.create();
        } catch (...) {
        }
        ::_exit(0);
    }
    ::close(ready[1]);
    pollfd p{ready[0], POLLIN, 0};
    const bool signalled = ::poll(&p, 1, 20'000) == 1;
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(ready[0]);
    ASSERT_TRUE(signalled) << "child never reached the middle of its capture";
    ASSERT_TRUE(WIFSIGNALED(status));

    std::vector<fs::path> temps;
    for (const auto& e : fs::directory_iterator(store_dir))
        if (e.path().filename().string().starts_with(".")) temps.push_back(e.path());
    ASSERT_EQ(temps.size(), 1u);
    EXPECT_GT(fs::file_size(temps[0]), 0u);  // it was mid-write

    const auto listed = c.list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id, earlier.id);
    EXPECT_TRUE(c.verify(earlier.id));

    // A store opening the directory later removes the dead writer's file.
    strata::DirectoryCheckpointStore reopened{store_dir};
    EXPECT_FALSE(fs::exists(temps[0]));
    EXPECT_EQ(reopened.ids(), std::vector<std::string>{earlier.id});
}
