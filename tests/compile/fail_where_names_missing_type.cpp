// expect: in<T> names a tier type the manager does not hold
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    mgr.set("k", "v", strata::in<strata::FileTier>);
}
