#pragma once

#include <cstddef>  // size_t
#include <string>
#include <vector>

namespace strata {

// What StateManager::reconcile found in a tier that came back.
struct ReconcileReport {
    std::size_t examined = 0;  // keys the tier listed or was marked stale for
    std::size_t erased = 0;    // copies that went: older than the newest elsewhere, or gone there
};

// A copy scrub() could not save: no valid copy elsewhere is provably as new.
// Reads of the key fail with Error{corrupt} until it is written or restored.
struct LostCopy {
    std::string tier;
    std::string key;
};

// What StateManager::scrub found, over every tier.
struct ScrubReport {
    std::size_t examined = 0;  // copies read
    std::size_t corrupt = 0;   // copies whose checksum did not match
    std::size_t repaired = 0;  // overwritten with the newest valid copy, or erased where the key is gone
    std::vector<LostCopy> lost;
};

}  // namespace strata
