#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/record.hpp"

namespace strata {

namespace detail {

template <class C>
concept cache_has_lookup = requires(C& c, std::string_view key) {
    { c.lookup(key) } -> std::same_as<std::optional<std::string>>;
};
template <class C>
concept cache_has_insert = requires(C& c, std::string_view key, std::string_view value,
                                    std::optional<Clock::time_point> expires_at) { c.insert(key, value, expires_at); };
template <class C>
concept cache_has_invalidate = requires(C& c, std::string_view key) { c.invalidate(key); };
template <class C>
concept cache_has_clear = requires(C& c) { c.clear(); };
template <class C>
concept cache_has_size = requires(const C& c) {
    { c.size() } -> std::convertible_to<std::size_t>;
    { c.capacity() } -> std::convertible_to<std::size_t>;
};

}  // namespace detail

// The in-process cache in front of the tiers. It is called from many threads
// at once and must be safe for that. lookup never returns a value past the
// expiry it was inserted with. The manager decides what may be inserted
// (never a value a concurrent write has replaced), so a policy only decides
// what to keep.
template <class C>
concept CachePolicy = std::move_constructible<C> && detail::cache_has_lookup<C> && detail::cache_has_insert<C> &&
                      detail::cache_has_invalidate<C> && detail::cache_has_clear<C> && detail::cache_has_size<C>;

template <class C>
constexpr bool check_cache_policy() {
    static_assert(std::move_constructible<C>, "strata::CachePolicy: must be move-constructible");
    static_assert(detail::cache_has_lookup<C>,
                  "strata::CachePolicy: missing: std::optional<std::string> lookup(std::string_view)");
    static_assert(detail::cache_has_insert<C>,
                  "strata::CachePolicy: missing: void insert(std::string_view key, std::string_view value, "
                  "std::optional<Clock::time_point> expires_at)");
    static_assert(detail::cache_has_invalidate<C>, "strata::CachePolicy: missing: void invalidate(std::string_view)");
    static_assert(detail::cache_has_clear<C>, "strata::CachePolicy: missing: void clear()");
    static_assert(detail::cache_has_size<C>,
                  "strata::CachePolicy: missing: std::size_t size() const and std::size_t capacity() const");
    return CachePolicy<C>;
}

// Optional capability (NoCache lacks it): up to n live keys, most valuable first, to re-warm a tier with.
template <class C>
concept CacheListsKeys = requires(const C& c, std::size_t n) {
    { c.keys(n) } -> std::same_as<std::vector<std::string>>;
};

// Optional capability (NoCache lacks it): entries dropped to make room since
// the cache was made (expired ones and invalidations are not counted).
template <class C>
concept CacheCountsEvictions = requires(const C& c) {
    { c.evictions() } -> std::same_as<std::uint64_t>;
};

}  // namespace strata
