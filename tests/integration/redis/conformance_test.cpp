// RedisTier through the same contract suite as every other tier.

#include "common/tier_conformance.hpp"
#include "integration/redis/support.hpp"
#include "strata/tiers/redis.hpp"

namespace {

struct RedisTierFactory {
    // A unique key prefix per test keeps each tier empty on the shared server.
    static strata::RedisTier make() { return strata::RedisTier(strata_test::redis::options()); }
    static void dispose(strata::RedisTier& tier) { tier.erase_many(tier.keys("*")); }
};

}  // namespace

namespace strata::conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, TierConformance, ::testing::Types<RedisTierFactory>);
}
