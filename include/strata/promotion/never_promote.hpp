#pragma once

#include <cstddef>  // size_t
#include <string_view>

#include "strata/core/record.hpp"
#include "strata/promotion/promotion_policy.hpp"

namespace strata {

// Reads never copy data to a hotter tier: each key stays where it was
// written (or demoted) until promote() is called explicitly.
struct NeverPromote {
    bool should_promote(std::string_view, std::size_t, Clock::time_point) const noexcept { return false; }
};

static_assert(check_promotion_policy<NeverPromote>());

}  // namespace strata
