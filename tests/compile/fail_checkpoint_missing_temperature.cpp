// expect: the manager has no tier of the temperature this tag names
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{"/tmp/never-used"}};
    (void)ckpt.create<strata::temperature_t<strata::Temperature::cold>>();
}
