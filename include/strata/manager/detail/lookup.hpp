#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <type_traits>

#include "strata/cache/cache_policy.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/manager/options.hpp"
#include "strata/promotion/promotion_policy.hpp"

namespace strata::detail {

// What a read found of one key across the tiers. Bit i of a mask stands for
// tier i (a manager holds at most 64 tiers).
struct Lookup {
    std::optional<Record> record;  // the newest valid copy
    std::size_t tier = 0;          // where it was
    std::uint64_t corrupt = 0;     // tiers whose copy failed verification
    std::uint64_t stale = 0;       // tiers skipped: a failed write left them unsure
    std::uint64_t failed = 0;      // tiers whose call failed
    // Tiers, failed or corrupt, that may hold a copy newer than what was
    // found (or than "absent"): the answer cannot be trusted.
    std::uint64_t doubt = 0;
    bool settled = false;  // found, or its newest copy expired: look no further
};
// Run by the deduction guides: a StateManager built from arguments that do
// not fit gets one sentence per missing piece instead of a wall of notes.
template <class C, class P, class... Ts>
constexpr bool diagnose_manager() {
    if constexpr (std::is_same_v<C, ManagerOptions>) {
        return true;  // the options guide applies
    } else {
        static_assert(sizeof...(Ts) > 0, "strata::StateManager needs at least one tier");
        return check_cache_policy<C>() && check_promotion_policy<P>() && (check_tier<Ts>() && ... && true);
    }
}

template <class O, class C, class P, class... Ts>
constexpr bool diagnose_manager_with_options() {
    if constexpr (std::is_same_v<O, ManagerOptions>)
        return diagnose_manager<C, P, Ts...>();
    else
        return true;  // not this guide's arguments: it will not match
}

}  // namespace strata::detail
