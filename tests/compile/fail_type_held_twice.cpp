// expect: holds more than once; use at<I>
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}, strata::MemoryTier{}};
    mgr.tier<strata::MemoryTier>();
}
