#pragma once

#include <cstddef>  // size_t
#include <string_view>

#include "strata/core/record.hpp"
#include "strata/promotion/promotion_policy.hpp"

namespace strata {

// Every read served by a colder tier copies the record to the hottest one:
// the next read of the key is a hot hit. Costs a hot-tier write per cold read.
struct AlwaysPromote {
    bool should_promote(std::string_view, std::size_t tier_index, Clock::time_point) const noexcept {
        return tier_index > 0;
    }
};

static_assert(check_promotion_policy<AlwaysPromote>());

}  // namespace strata
