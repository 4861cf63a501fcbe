// expect: strata::StateManager needs at least one tier
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}};
}
