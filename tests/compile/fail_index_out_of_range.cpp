// expect: at<I> is out of range
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    mgr.demote("k", strata::at<3>);
}
