// The shared Tier contract, run against S3Tier on the real test server,
// through the signature-checking front.

#include "integration/s3/support.hpp"  // first: it brings strata/core/key.hpp, which the suite uses

#include "common/tier_conformance.hpp"

namespace strata::conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(S3, TierConformance, ::testing::Types<strata_test::s3::S3TierFactory>);
}  // namespace strata::conformance
