#pragma once

#include <cstddef>  // size_t
#include <type_traits>

#include "strata/core/temperature.hpp"

namespace strata {

// Where-tags name a tier of a manager at compile time: by type (in<T>), by
// index (at<I>) or by temperature (hot, warm, cold: the first tier of it).
template <class T>
struct in_t {
    using type = T;
};
template <class T>
inline constexpr in_t<T> in{};

template <std::size_t I>
struct at_t {
    static constexpr std::size_t index = I;
};
template <std::size_t I>
inline constexpr at_t<I> at{};

template <Temperature T>
struct temperature_t {
    static constexpr Temperature value = T;
};
inline constexpr temperature_t<Temperature::hot> hot{};
inline constexpr temperature_t<Temperature::warm> warm{};
inline constexpr temperature_t<Temperature::cold> cold{};

namespace detail {

template <class W>
struct is_where_tag : std::false_type {};
template <class T>
struct is_where_tag<in_t<T>> : std::true_type {};
template <std::size_t I>
struct is_where_tag<at_t<I>> : std::true_type {};
template <Temperature T>
struct is_where_tag<temperature_t<T>> : std::true_type {};

}  // namespace detail

template <class W>
concept WhereTag = detail::is_where_tag<std::remove_cvref_t<W>>::value;

namespace detail {

// Resolves a selector against a tier list. A selector is a where-tag type or
// a tier type (meaning in_t of it). Failures are static_asserts that say what
// is wrong; they return 0 so no second wave of errors follows the first.
template <class Selector, class... Ts>
consteval std::size_t resolve_tier_index() {
    using S = std::remove_cvref_t<Selector>;
    if constexpr (is_where_tag<S>::value && requires { S::index; }) {
        static_assert(S::index < sizeof...(Ts), "strata: at<I> is out of range: the manager has fewer tiers");
        return S::index < sizeof...(Ts) ? S::index : 0;
    } else if constexpr (is_where_tag<S>::value && requires { S::value; }) {
        constexpr Temperature wanted = S::value;
        constexpr bool matches[] = {(Ts::temperature == wanted)..., false};
        std::size_t i = 0;
        while (i < sizeof...(Ts) && !matches[i]) ++i;
        static_assert(((Ts::temperature == wanted) || ...),
                      "strata: the manager has no tier of the temperature this tag names (hot, warm or cold)");
        return i < sizeof...(Ts) ? i : 0;
    } else {
        using T = typename std::conditional_t<is_where_tag<S>::value, S, in_t<S>>::type;
        constexpr bool matches[] = {std::is_same_v<T, Ts>..., false};
        constexpr std::size_t count = (std::size_t{0} + ... + std::is_same_v<T, Ts>);
        static_assert(count != 0, "strata: in<T> names a tier type the manager does not hold");
        static_assert(count < 2, "strata: in<T> names a tier type the manager holds more than once; use at<I>");
        std::size_t i = 0;
        while (i < sizeof...(Ts) && !matches[i]) ++i;
        return i < sizeof...(Ts) ? i : 0;
    }
}

}  // namespace detail
}  // namespace strata
