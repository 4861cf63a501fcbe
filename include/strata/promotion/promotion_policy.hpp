#pragma once

#include <concepts>
#include <cstddef>  // size_t
#include <string_view>

#include "strata/core/record.hpp"

namespace strata {

namespace detail {

template <class P>
concept promotion_has_should_promote = requires(P& p, std::string_view key, std::size_t tier_index,
                                                Clock::time_point now) {
    { p.should_promote(key, tier_index, now) } -> std::convertible_to<bool>;
};

}  // namespace detail

// Decides whether a key read from a colder tier (tier_index > 0) is copied to
// the hottest tier. Called once per such read, from many threads at once;
// it records the access and answers.
template <class P>
concept PromotionPolicy = std::move_constructible<P> && detail::promotion_has_should_promote<P>;

template <class P>
constexpr bool check_promotion_policy() {
    static_assert(std::move_constructible<P>, "strata::PromotionPolicy: must be move-constructible");
    static_assert(detail::promotion_has_should_promote<P>,
                  "strata::PromotionPolicy: missing: bool should_promote(std::string_view key, std::size_t "
                  "tier_index, Clock::time_point now)");
    return PromotionPolicy<P>;
}

}  // namespace strata
