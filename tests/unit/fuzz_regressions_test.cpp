// Inputs that scripts/fuzz.sh found strata mishandling, kept as tests so the
// fixes stay fixed without running the fuzzer. Each input is embedded as it
// was found; the tests are named by what the input does.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "strata/tiers/s3/naming.hpp"
#include "strata/tiers/s3/signing_clock.hpp"

namespace {

using strata::detail::s3::SigningClock;

// A server's Date far from now made SigningClock::now() overflow the
// nanosecond clock (undefined behaviour) when it next signed a request.
TEST(FuzzRegressions, ServerDateTheClockCannotHoldIsNotAdopted) {
    for (const std::string_view date : {"Mon, 06 Jan 7153 08:49:37 GMT", "Sun, 03 Nov 3888 08:49:37 GMT",
                                        "Sun, 06 Nov 0001 08:49:37 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"}) {
        SigningClock clock;
        EXPECT_FALSE(clock.adopt(date)) << date;
        EXPECT_EQ(clock.offset().count(), 0) << date;
        EXPECT_GT(clock.now().time_since_epoch().count(), 0) << date;
    }
}

TEST(FuzzRegressions, ServerDateWithinTheClocksRangeIsStillAdopted) {
    SigningClock clock;
    ASSERT_TRUE(clock.adopt("Fri, 01 Jan 2100 00:00:00 GMT"));
    EXPECT_GT(clock.offset().count(), 0);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count() / 86'400,
              4'102'444'800 / 86'400);  // 2100-01-01
}

// decode_name took any spelling of an escape: a stray object "%41" listed as
// key "A" (twice beside the object "A"), and "%00" as a key holding a NUL.
// The first name is the fuzzer's: a url-encoded name in a listing that did
// not say EncodingType url.
TEST(FuzzRegressions, ObjectNamesStrataDidNotWriteAreNotKeys) {
    using strata::detail::s3::decode_name;
    for (const std::string_view name : {"caf%C3%A9%2520%25FF", "%41", "a%2Db", "%00", "x%00y", "%7E", "%C3%A9"})
        EXPECT_FALSE(decode_name(name).has_value()) << name;
    for (const std::string key : {"A", "a-b", "~", "caf\xc3\xa9", "a/b c%", "\xff"})
        EXPECT_EQ(decode_name(strata::detail::s3::encode_key(key)), key);
}

}  // namespace
