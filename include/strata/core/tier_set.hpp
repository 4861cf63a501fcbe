#pragma once

#include <cstddef>  // size_t
#include <functional>  // reference_wrapper
#include <tuple>
#include <utility>  // index_sequence

#include "strata/core/tier.hpp"
#include "strata/core/where.hpp"

namespace strata {

// A bundle of references to tiers, for direct access that bypasses the cache
// and the promotion policy (checkpoints, backups, recovery, benchmarks).
// Selection happens at compile time: select<A, B>() keeps tiers A and B,
// named by type or by where-tag type (at_t<I>, temperature_t<T>, in_t<T>).
template <Tier... Ts>
class TierSet {
public:
    static constexpr std::size_t size = sizeof...(Ts);

    explicit TierSet(Ts&... tiers) : tiers_(tiers...) {}

    template <std::size_t I>
    auto& get() const {
        static_assert(I < size, "strata: at<I> is out of range: the tier set has fewer tiers");
        return std::get<I < size ? I : 0>(tiers_);
    }

    template <class Selector>
    auto& get() const {
        return std::get<detail::resolve_tier_index<Selector, Ts...>()>(tiers_);
    }

    template <class... Selectors>
    auto select() const {
        static_assert(sizeof...(Selectors) > 0, "strata: select<...>() needs at least one tier");
        return TierSet<std::remove_reference_t<decltype(get<Selectors>())>...>(get<Selectors>()...);
    }

    template <WhereTag... Tags>
    auto select(Tags...) const {
        return select<Tags...>();
    }

    // Calls f(tier) for each tier in order, or f(tier, index) where the index
    // is a std::integral_constant, so per-tier code stays compile-time.
    template <class F>
    void for_each(F&& f) const {
        for_each_impl(f, std::index_sequence_for<Ts...>{});
    }

private:
    template <class F, std::size_t... I>
    void for_each_impl(F& f, std::index_sequence<I...>) const {
        (call(f, std::get<I>(tiers_), std::integral_constant<std::size_t, I>{}), ...);
    }

    template <class F, class T, class Index>
    static void call(F& f, T& tier, Index index) {
        if constexpr (std::is_invocable_v<F&, T&, Index>)
            f(tier, index);
        else
            f(tier);
    }

    std::tuple<Ts&...> tiers_;
};

}  // namespace strata
