// Replies that scripts/fuzz.sh found the Redis tier mishandling, kept as
// tests on constructed replies (no server involved).
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>
#include <string_view>

#include "strata/tiers/redis.hpp"

namespace {

using strata::ErrorKind;
using namespace std::string_view_literals;

ErrorKind parse_info_error(std::string_view info) {
    strata::TierStats s;
    try {
        strata::detail::redis::parse_info(info, s, "redis");
    } catch (const strata::Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "parse_info accepted: " << info;
    return ErrorKind::corrupt;
}

// std::stoull threw std::invalid_argument out of stats() for this INFO reply.
TEST(RedisFuzzRegressions, InfoWithGarbageUsedMemoryIsAnInvalidReply) {
    const std::string_view fuzzed =
        "# Server\r\nredis_version:7.2.4\r"
        "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
        "\n# Memory\r\nused_memory:\x00\x00"
        "1\xc6\xcb"
        "85716\r\nmaxmemory_policy:noevictio"sv;
    ASSERT_EQ(fuzzed.size(), 118u);
    EXPECT_EQ(parse_info_error(fuzzed), ErrorKind::invalid);
    // stoull also took these, the first as 2^64 - 1.
    EXPECT_EQ(parse_info_error("used_memory:-1\r\n"), ErrorKind::invalid);
    EXPECT_EQ(parse_info_error("used_memory: 12\r\n"), ErrorKind::invalid);
    EXPECT_EQ(parse_info_error("used_memory:99999999999999999999999\r\n"), ErrorKind::invalid);
}

TEST(RedisFuzzRegressions, InfoUsedMemoryIsReadAsBytes) {
    strata::TierStats s;
    strata::detail::redis::parse_info("# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n", s, "redis");
    EXPECT_EQ(s.bytes, 1048576u);
}

// idle_keys multiplied OBJECT IDLETIME's figure by 1000: signed overflow for
// a server's figure over 2^63 / 1000 (UndefinedBehaviorSanitizer stops there).
TEST(RedisFuzzRegressions, IdleTimeComparisonCannotOverflow) {
    using strata::detail::redis::idle_at_least;
    using std::chrono::milliseconds;
    constexpr long long most = std::numeric_limits<long long>::max(), least = std::numeric_limits<long long>::min();
    EXPECT_TRUE(idle_at_least(most, milliseconds(1000)));
    EXPECT_TRUE(idle_at_least(most, milliseconds(most)));
    EXPECT_FALSE(idle_at_least(least, milliseconds(0)));
    EXPECT_FALSE(idle_at_least(most / 1000, milliseconds(most)));
    // Rounded up: a key idle 1 s is not idle 1.001 s, one idle 2 s is.
    EXPECT_FALSE(idle_at_least(1, milliseconds(1001)));
    EXPECT_TRUE(idle_at_least(2, milliseconds(1001)));
    EXPECT_TRUE(idle_at_least(0, milliseconds(0)));
}

}  // namespace
