// expect: the manager has no tier of the temperature this tag names
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    mgr.set("k", "v", strata::cold);
}
