// expect: strata::CheckpointStore: missing: Sink begin
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/strata.hpp>
struct AlmostStore {
    std::string_view name() const { return "almost"; }
};
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, strata::MemoryTier{}};
    strata::Checkpointer ckpt{mgr, AlmostStore{}};
    (void)ckpt;
}
