// The shared Tier contract, run against a real PostgreSQL: one fresh table per
// test, dropped afterwards.
#include "integration/postgres/pg_env.hpp"
// After pg_env.hpp: tier_conformance.hpp uses max_key_size without including key.hpp.
#include "common/tier_conformance.hpp"

namespace {

struct PostgresFactory {
    static strata::PostgresTier make() { return strata::PostgresTier(strata::pgtest::options()); }
    static void dispose(strata::PostgresTier& tier) { strata::pgtest::drop_table(tier.options()); }
};

}  // namespace

namespace strata::conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, TierConformance, ::testing::Types<PostgresFactory>);
}
