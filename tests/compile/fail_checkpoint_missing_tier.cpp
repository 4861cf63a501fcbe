// expect: in<T> names a tier type the manager does not hold
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/strata.hpp>
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{"/tmp/never-used"}};
    (void)ckpt.create<strata::FileTier>(strata::CheckpointType::manual);
}
