// A StateManager over MemoryTier + FileTier + S3Tier: demoting to the cold
// tier and promoting back, on the real test server through the verifying
// front.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "integration/s3/support.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/s3.hpp"
#include "common/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

using strata::testing::TempDir;

TEST(S3Manager, DemotesToS3AndPromotesBack) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path}, strata::S3Tier{strata_test::s3::options()}};
    auto& memory = mgr.tier<strata::MemoryTier>();
    auto& s3 = mgr.tier<strata::S3Tier>();

    mgr.set("order:1", "filled");
    mgr.set("order:2", "open");
    ASSERT_TRUE(memory.fetch("order:1").has_value());

    ASSERT_TRUE(mgr.demote("order:1", strata::cold));
    EXPECT_FALSE(memory.fetch("order:1").has_value());
    EXPECT_FALSE(mgr.tier<strata::FileTier>().fetch("order:1").has_value());
    const auto cold = s3.fetch("order:1");
    ASSERT_TRUE(cold.has_value());
    EXPECT_EQ(cold->value, "filled");
    EXPECT_TRUE(cold->intact());

    EXPECT_EQ(mgr.get("order:1"), "filled");  // read through to S3
    EXPECT_EQ(mgr.keys("order:*"), (std::vector<std::string>{"order:1", "order:2"}));
    const std::vector<std::string> both = {"order:2", "order:1", "order:3"};
    const auto many = mgr.get_many(both);
    ASSERT_EQ(many.size(), 3u);
    EXPECT_EQ(many[0], "open");
    EXPECT_EQ(many[1], "filled");
    EXPECT_FALSE(many[2].has_value());

    ASSERT_TRUE(mgr.promote("order:1"));
    const auto hot = memory.fetch("order:1");
    ASSERT_TRUE(hot.has_value());
    EXPECT_EQ(hot->value, "filled");
    EXPECT_EQ(hot->version, cold->version);  // the same record, checksum and all
    EXPECT_EQ(strata::to_hex(hot->checksum), strata::to_hex(cold->checksum));

    EXPECT_TRUE(mgr.erase("order:1"));
    EXPECT_FALSE(s3.fetch("order:1").has_value());
    EXPECT_FALSE(mgr.get("order:1").has_value());
}

TEST(S3Manager, WritesStraightIntoTheColdTier) {
    TempDir dir;
    strata::StateManager mgr{strata::LruCache{100}, strata::NeverPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path}, strata::S3Tier{strata_test::s3::options()}};
    std::vector<std::pair<std::string, std::string>> batch;
    for (int i = 0; i < 50; ++i) batch.emplace_back("archive/" + std::to_string(i), "value " + std::to_string(i));
    mgr.set_many(batch, strata::in<strata::S3Tier>);
    EXPECT_EQ(mgr.tier<strata::S3Tier>().keys("archive/*").size(), 50u);
    EXPECT_EQ(mgr.get("archive/7"), "value 7");
    EXPECT_EQ(mgr.erase_many(std::vector<std::string>{"archive/1", "archive/2"}), 2u);
    EXPECT_EQ(mgr.keys("archive/*").size(), 48u);
}

}  // namespace
