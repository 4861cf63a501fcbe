// expect: strata::CachePolicy: missing: std::optional<std::string> lookup
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::MemoryTier{}, strata::NeverPromote{}, strata::MemoryTier{}};
}
