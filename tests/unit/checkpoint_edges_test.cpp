// Checkpoints whose files, summaries or stores go wrong, over the real
// MemoryTier, FileTier and DirectoryCheckpointStore: the refusals coverage
// found untested. Every refusal must leave the manager's state as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/checkpoint/tier_store.hpp>
#include <strata/strata.hpp>
#include <vector>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

namespace fs = std::filesystem;
using strata::testing::TempDir;
using ::testing::HasSubstr;

namespace {

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
using Ckpt = strata::Checkpointer<Manager, strata::DirectoryCheckpointStore>;

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A checkpoint file is stream | summary | footer (summary size, stream size,
// "STRCKEND"): splits one, and writes it back with `footer` made by `make`.
struct CheckpointFile {
    std::string stream, summary;

    explicit CheckpointFile(const fs::path& p) {
        const auto bytes = read_all(p);
        const std::string_view footer = std::string_view(bytes).substr(bytes.size() - 24);
        const auto summary_size = strata::detail::checkpoint::get_u64(footer, 0);
        const auto stream_size = strata::detail::checkpoint::get_u64(footer, 8);
        stream = bytes.substr(0, stream_size);
        summary = bytes.substr(stream_size, summary_size);
    }

    void save(const fs::path& p, std::uint64_t summary_size_delta = 0) const {
        std::string footer;
        strata::detail::checkpoint::put_u64(footer, summary.size() + summary_size_delta);
        strata::detail::checkpoint::put_u64(footer, stream.size());
        write_all(p, stream + summary + footer + "STRCKEND");
    }
};

class CheckpointEdges : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{100}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
    Ckpt ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};

    fs::path file_of(const std::string& id) { return dir.path / "ckpt" / (id + ".ckpt"); }

    // A checkpoint of two keys, then the manager moved on from it.
    std::string captured() {
        mgr.set("a", "1");
        mgr.set("b", "2", strata::warm);
        const auto id = ckpt.create().id;
        mgr.set("a", "after");
        return id;
    }

    void expect_state_unchanged() {
        mgr.invalidate_cache();
        EXPECT_EQ(mgr.get("a"), "after");
        EXPECT_EQ(mgr.get("b"), "2");
    }
};

struct SummaryDamage {
    const char* name;
    std::function<void(strata::CheckpointInfo&)> change;
    const char* reason;
};

class SummaryAgainstStream : public CheckpointEdges, public ::testing::WithParamInterface<SummaryDamage> {};

}  // namespace

// A summary that is intact (its own seal matches) but says something other
// than the stream holds is refused: verify says false, check says why, and
// rollback changes nothing.
TEST_P(SummaryAgainstStream, IsRefusedAsCorruptBeforeAnythingChanges) {
    const auto id = captured();
    CheckpointFile file(file_of(id));
    auto info = strata::detail::checkpoint::decode_summary(file.summary);
    ASSERT_TRUE(info);
    GetParam().change(*info);
    file.summary = strata::detail::checkpoint::encode_summary(*info);
    file.save(file_of(id));

    EXPECT_FALSE(ckpt.verify(id));
    try {
        ckpt.check(id);
        FAIL() << "a summary that disagrees with its stream was accepted";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
        EXPECT_THAT(e.what(), HasSubstr(GetParam().reason));
        EXPECT_THAT(e.what(), HasSubstr(id));
    }
    EXPECT_THROW(ckpt.rollback(id), strata::Error);
    expect_state_unchanged();
    const auto stats = ckpt.stats();
    EXPECT_EQ(stats.verify_failures, 1u);
    EXPECT_EQ(stats.refused_rollbacks, 1u);
    EXPECT_EQ(stats.rollbacks, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Damage, SummaryAgainstStream,
    ::testing::Values(
        SummaryDamage{"TierName", [](auto& i) { i.tiers.at(0).name = "another"; },
                      "holds a tier that does not match its summary"},
        SummaryDamage{"TierKeys", [](auto& i) { ++i.tiers.at(0).keys; }, "has wrong counts for tier"},
        SummaryDamage{"TotalKeys", [](auto& i) { ++i.key_count; }, "has wrong totals"},
        SummaryDamage{"ConsistencyHash", [](auto& i) { i.consistency_hash[0] ^= 1; },
                      "does not match its consistency hash"},
        SummaryDamage{"FormatVersion", [](auto& i) { i.format_version = 99; }, "has unknown format version 99"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(CheckpointEdges, FilesTooShortOrWithAFooterThatDoesNotAddUpAreCorruptAndNotListed) {
    const auto id = captured();
    const auto whole = read_all(file_of(id));

    write_all(file_of(id), whole.substr(0, 20));
    try {
        ckpt.get(id);
        FAIL() << "a 20-byte checkpoint file was read";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
        EXPECT_EQ(e.tier(), "checkpoints");
        EXPECT_THAT(e.what(), HasSubstr("is too short for its footer"));
    }
    EXPECT_TRUE(ckpt.list().empty());
    EXPECT_EQ(ckpt.stats().unreadable, 1u);

    write_all(file_of(id), whole);
    CheckpointFile(file_of(id)).save(file_of(id), 1);
    try {
        ckpt.get(id);
        FAIL() << "a footer claiming one summary byte too many was taken";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
        EXPECT_THAT(e.what(), HasSubstr("has a footer that does not match its size"));
    }
    EXPECT_FALSE(ckpt.verify(id));
    EXPECT_THROW(ckpt.rollback(id), strata::Error);
    expect_state_unchanged();

    write_all(file_of(id), whole);  // the undamaged file still rolls back ("a" in both tiers)
    EXPECT_EQ(ckpt.rollback(id).keys_restored, 2u);
    EXPECT_EQ(mgr.get("a"), "1");
}

TEST_F(CheckpointEdges, UnknownIdsAndForeignFilesAreNotCheckpoints) {
    EXPECT_EQ(ckpt.get("20260101T000000.000000Z-000001-manual"), std::nullopt);
    EXPECT_FALSE(ckpt.remove("20260101T000000.000000Z-000001-manual"));
    const auto id = captured();
    write_all(dir.path / "ckpt" / "not an id.ckpt", "x");
    write_all(dir.path / "ckpt" / "notes.txt", "x");
    ASSERT_EQ(ckpt.list().size(), 1u);
    EXPECT_EQ(ckpt.list()[0].id, id);
    EXPECT_EQ(ckpt.stats().unreadable, 0u);
    EXPECT_EQ(strata::parse_checkpoint_type("weekly"), std::nullopt);
    EXPECT_EQ(strata::to_string(static_cast<strata::CheckpointType>(200)), "unknown");
}

// What sits at a checkpoint's path is not a file this store can read or
// remove: an Error naming the store, the operation and the path.
TEST_F(CheckpointEdges, APathThatIsNotAFileFailsNamingTheStoreAndPath) {
    const std::string id = "20260101T000000.000000Z-000001-manual";
    fs::create_directory(file_of(id));
    try {
        ckpt.remove(id);
        FAIL() << "a directory was removed as a checkpoint";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.tier(), "checkpoints");
        EXPECT_EQ(e.operation(), "remove");
        EXPECT_THAT(e.what(), HasSubstr(file_of(id).string()));
    }
    EXPECT_TRUE(fs::is_directory(file_of(id)));
    fs::remove(file_of(id));

    fs::create_symlink(dir.path / "elsewhere", file_of(id));
    try {
        ckpt.get(id);
        FAIL() << "a symlink was followed";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.operation(), "summary");
        EXPECT_THAT(e.what(), HasSubstr(file_of(id).string()));
    }
}

// The directory gone under a live store: a checkpoint begun before it went
// cannot be committed, and a capture fails before it reads any tier.
TEST_F(CheckpointEdges, AStoreWhoseDirectoryWentFailsCaptureAndCommit) {
    mgr.set("a", "1");
    auto sink = ckpt.store().begin("20260101T000000.000000Z-000001-manual");
    sink.write("stream bytes");
    fs::remove_all(dir.path / "ckpt");
    try {
        sink.commit("summary");
        FAIL() << "a commit into a removed directory succeeded";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.operation(), "commit");
    }
    try {
        ckpt.create();
        FAIL() << "a capture into a removed directory succeeded";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.tier(), "checkpoints");
        EXPECT_THAT(e.what(), HasSubstr((dir.path / "ckpt").string()));
    }
    fs::create_directory(dir.path / "ckpt");  // stats() lists the directory too
    EXPECT_EQ(ckpt.stats().failed_captures, 1u);
    EXPECT_EQ(ckpt.stats().created, 0u);
    EXPECT_EQ(mgr.get("a"), "1");
}

namespace {

// A real MemoryTier that silently drops the writes of `dropped` keys, as a
// tier keeping newer versions only would: a rollback must notice.
struct Forgetful : strata::testing::Switchable<strata::MemoryTier> {
    using Switchable::Switchable;
    std::set<std::string> dropped;

    void store_many(std::span<const strata::Entry> entries) {
        std::vector<strata::Entry> kept;
        for (const auto& e : entries)
            if (!dropped.contains(e.key)) kept.push_back(e);
        Switchable::store_many(kept);
    }
};

}  // namespace

TEST(CheckpointRollback, ATierThatDoesNotTakeARecordBackFailsTheRollbackNamingIt) {
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{},
                             Forgetful{strata::MemoryTier{strata::MemoryTierOptions{.name = "forgetful"}}}};
    strata::Checkpointer ckpt{mgr, strata::TierCheckpointStore{strata::MemoryTier{}}};
    mgr.set("k", "captured");
    const auto id = ckpt.create().id;
    mgr.set("k", "newer");
    mgr.tier<0>().dropped.insert("k");
    try {
        ckpt.rollback(id);
        FAIL() << "a rollback the tier did not take was reported done";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
        EXPECT_EQ(e.tier(), "forgetful");
        EXPECT_THAT(e.what(), HasSubstr("did not take back key 'k' as captured"));
    }
    mgr.tier<0>().dropped.clear();
    EXPECT_EQ(ckpt.rollback(id).keys_restored, 1u);  // run again once the tier takes it
    EXPECT_EQ(mgr.get("k"), "captured");
}

TEST(TierCheckpointStoreEdges, KeysUnderThePrefixThatAreNotCheckpointsAreNotListed) {
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, strata::MemoryTier{}};
    strata::Checkpointer ckpt{mgr, strata::TierCheckpointStore{strata::MemoryTier{}}};
    mgr.set("k", "v");
    const auto id = ckpt.create().id;
    ckpt.store().tier().store("checkpoints/not an id/summary", strata::make_record("x", 1));
    EXPECT_EQ(ckpt.store().ids(), std::vector<std::string>{id});
    ASSERT_EQ(ckpt.list().size(), 1u);
    EXPECT_TRUE(ckpt.verify(id));
}
