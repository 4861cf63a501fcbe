// StateManager against tiers that break the tier contract or hold what a
// tier should never hand back: the read paths coverage found untested.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <strata/strata.hpp>
#include <vector>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::testing::Switchable;
using strata::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

namespace {

// A real MemoryTier whose fetch_many misbehaves on demand: it answers with
// too few results, or hands back the copies of `expired_keys` already
// expired (a tier must never do either).
struct Misbehaving : Switchable<strata::MemoryTier> {
    using Switchable::Switchable;
    bool short_answer = false;
    std::set<std::string> expired_keys;

    std::vector<std::optional<strata::Record>> fetch_many(std::span<const std::string> keys) {
        auto got = Switchable::fetch_many(keys);
        if (short_answer) got.pop_back();
        for (std::size_t i = 0; i < got.size(); ++i)
            if (got[i] && expired_keys.contains(keys[i])) got[i]->expires_at = strata::Clock::now() - 1s;
        return got;
    }
};
static_assert(strata::Tier<Misbehaving>);

using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Misbehaving, strata::FileTier>;

class ManagerEdges : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{100}, strata::NeverPromote{},
                Misbehaving{strata::MemoryTier{strata::MemoryTierOptions{.name = "hot-memory"}}},
                strata::FileTier{dir.path, strata::FileTierOptions{.fsync = false, .name = "warm-file"}}};
    Misbehaving& hot() { return mgr.tier<0>(); }
    strata::FileTier& warm() { return mgr.tier<1>(); }
};

}  // namespace

TEST_F(ManagerEdges, ATierAnsweringFewerResultsThanKeysFailsTheReadNamingIt) {
    mgr.set("a", "1");
    mgr.invalidate_cache();
    hot().short_answer = true;
    try {
        mgr.get("a");
        FAIL() << "a short fetch_many answer was taken";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
        EXPECT_EQ(e.tier(), "hot-memory");
        EXPECT_EQ(e.operation(), "fetch_many");
        EXPECT_THAT(e.what(), HasSubstr("returned 0 results for 1 keys"));
    }
    hot().short_answer = false;
    EXPECT_EQ(mgr.get("a"), "1");  // nothing was lost or changed by the failed read
}

// The hottest copy is the newest: an expired one there means the key is
// gone, and an older colder copy must not come back in its place.
TEST_F(ManagerEdges, AnExpiredHottestCopySettlesTheKeyAsAbsent) {
    mgr.set("k", "new");
    warm().store("k", strata::make_record("older", 1));
    mgr.invalidate_cache();
    hot().expired_keys.insert("k");
    EXPECT_EQ(mgr.get("k"), std::nullopt);
    std::vector<std::string> both{"k", "other"};
    mgr.set("other", "x");
    mgr.invalidate_cache();
    EXPECT_THAT(mgr.get_many(both), ::testing::ElementsAre(std::nullopt, std::optional<std::string>("x")));
    ASSERT_TRUE(warm().fetch("k"));
    EXPECT_EQ(warm().fetch("k")->value, "older");  // left where it was, not served
}

// A corrupt copy in the hot tier and no copy in the durable tier below it:
// the key is neither reported absent nor served, and the error names the
// tier holding the damaged copy.
TEST_F(ManagerEdges, ACorruptCopyWithNoValidOneAnywhereFailsAsCorruptNamingItsTier) {
    auto bad = strata::make_record("value", 7);
    bad.value = "tampered";
    hot().inner().store("k", bad);
    try {
        mgr.get("k");
        FAIL() << "a key whose only copy is corrupt was answered";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
        EXPECT_EQ(e.tier(), "hot-memory");
        EXPECT_THAT(e.what(), HasSubstr("every copy of key 'k' failed checksum verification"));
    }
    EXPECT_EQ(mgr.health()[0].corrupt, 1u);
    mgr.set("k", "repaired");
    EXPECT_EQ(mgr.get("k"), "repaired");
}

// Erases are journaled like writes, so a capture running beside them sees
// every key they moved, whether erased everywhere or from one tier.
TEST_F(ManagerEdges, TheWriteJournalHoldsErasedKeys) {
    mgr.set("a", "1");
    mgr.set("b", "2");
    auto journal = mgr.journal_writes();
    EXPECT_TRUE(mgr.erase("a"));
    const std::vector<std::string> b{"b"};
    EXPECT_EQ(mgr.erase_many(b, strata::hot), 1u);
    // A write notes its keys when it begins and when it ends.
    const auto noted = journal->drain();
    EXPECT_THAT(std::set<std::string>(noted.begin(), noted.end()), UnorderedElementsAre("a", "b"));
    EXPECT_EQ(mgr.get("b"), "2");  // the warm copy shows again
    journal.reset();               // a dropped journal is closed on the next write
    auto later = mgr.journal_writes();
    mgr.set("c", "3");
    const auto later_noted = later->drain();
    EXPECT_THAT(std::set<std::string>(later_noted.begin(), later_noted.end()), UnorderedElementsAre("c"));
}
