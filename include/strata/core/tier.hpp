#pragma once

#include <concepts>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>  // integral_constant
#include <utility>      // pair
#include <vector>

#include "strata/core/record.hpp"
#include "strata/core/temperature.hpp"

namespace strata {

// What a tier reports about itself. `keys` and `bytes` may be estimates where
// the backend only has estimates; `details` carries backend-specific figures.
struct TierStats {
    std::uint64_t keys = 0;
    std::uint64_t bytes = 0;
    std::vector<std::pair<std::string, std::string>> details;
};

namespace detail {

// Each requirement of Tier is its own named concept, so the compiler's note
// names the missing piece ("tier_has_fetch_many") rather than a long
// expression. check_tier() below turns them into sentences.
// `&T::member` is a plain pointer only for a static member, so a non-static
// one fails here quietly instead of erroring in the constant check after it.
template <class T>
concept tier_has_temperature = requires {
    { &T::temperature } -> std::same_as<const Temperature*>;
} && requires { typename std::integral_constant<Temperature, T::temperature>; };
template <class T>
concept tier_has_durable = requires {
    { &T::durable } -> std::same_as<const bool*>;
} && requires { typename std::bool_constant<T::durable>; };
template <class T>
concept tier_has_name = requires(const T& t) {
    { t.name() } -> std::convertible_to<std::string_view>;
};
template <class T>
concept tier_has_fetch = requires(T& t, std::string_view key) {
    { t.fetch(key) } -> std::same_as<std::optional<Record>>;
};
template <class T>
concept tier_has_store = requires(T& t, std::string_view key, const Record& r) { t.store(key, r); };
template <class T>
concept tier_has_erase = requires(T& t, std::string_view key) {
    { t.erase(key) } -> std::convertible_to<bool>;
};
template <class T>
concept tier_has_keys = requires(T& t, std::string_view glob) {
    { t.keys(glob) } -> std::same_as<std::vector<std::string>>;
};
template <class T>
concept tier_has_fetch_many = requires(T& t, std::span<const std::string> keys) {
    { t.fetch_many(keys) } -> std::same_as<std::vector<std::optional<Record>>>;
};
template <class T>
concept tier_has_store_many = requires(T& t, std::span<const Entry> entries) { t.store_many(entries); };
template <class T>
concept tier_has_erase_many = requires(T& t, std::span<const std::string> keys) {
    { t.erase_many(keys) } -> std::convertible_to<std::size_t>;
};
template <class T>
concept tier_has_stats = requires(T& t) {
    { t.stats() } -> std::same_as<TierStats>;
};
template <class T>
concept tier_has_ping = requires(T& t) {
    { t.ping() } -> std::convertible_to<bool>;
};

}  // namespace detail

// A storage tier. Contract beyond the signatures:
// - fetch returns the record exactly as stored (checksum included), nullopt
//   when absent or expired; a blob that cannot be decoded comes back as
//   unreadable_record() so the manager can repair it;
// - store keeps the record as given and honours record.expires_at;
// - keys(glob) uses Redis glob syntax and never lists expired keys;
// - batch calls are one round trip where the backend allows it, and return
//   results in the order of their input;
// - failures throw strata::Error naming the tier, operation and kind.
// Optional members (peek_many, idle_keys, sweep_expired, changed_since) are
// declared in core/capabilities.hpp.
template <class T>
concept Tier = std::move_constructible<T> && detail::tier_has_temperature<T> && detail::tier_has_durable<T> &&
               detail::tier_has_name<T> && detail::tier_has_fetch<T> && detail::tier_has_store<T> &&
               detail::tier_has_erase<T> && detail::tier_has_keys<T> && detail::tier_has_fetch_many<T> &&
               detail::tier_has_store_many<T> && detail::tier_has_erase_many<T> && detail::tier_has_stats<T> &&
               detail::tier_has_ping<T>;

// Says in words what a would-be tier lacks. Call it from your tier's header
// (`static_assert(strata::check_tier<MyTier>());`); the manager calls it too.
template <class T>
constexpr bool check_tier() {
    static_assert(std::move_constructible<T>,
                  "strata::Tier: must be move-constructible (keep mutexes and connections behind a pointer)");
    static_assert(detail::tier_has_temperature<T>,
                  "strata::Tier: missing: static constexpr strata::Temperature temperature");
    static_assert(detail::tier_has_durable<T>, "strata::Tier: missing: static constexpr bool durable");
    static_assert(detail::tier_has_name<T>, "strata::Tier: missing: std::string_view name() const");
    static_assert(detail::tier_has_fetch<T>, "strata::Tier: missing: std::optional<Record> fetch(std::string_view)");
    static_assert(detail::tier_has_store<T>, "strata::Tier: missing: void store(std::string_view, const Record&)");
    static_assert(detail::tier_has_erase<T>, "strata::Tier: missing: bool erase(std::string_view)");
    static_assert(detail::tier_has_keys<T>, "strata::Tier: missing: std::vector<std::string> keys(std::string_view glob)");
    static_assert(detail::tier_has_fetch_many<T>,
                  "strata::Tier: missing: std::vector<std::optional<Record>> fetch_many(std::span<const std::string>)");
    static_assert(detail::tier_has_store_many<T>, "strata::Tier: missing: void store_many(std::span<const Entry>)");
    static_assert(detail::tier_has_erase_many<T>,
                  "strata::Tier: missing: std::size_t erase_many(std::span<const std::string>)");
    static_assert(detail::tier_has_stats<T>, "strata::Tier: missing: TierStats stats()");
    static_assert(detail::tier_has_ping<T>, "strata::Tier: missing: bool ping()");
    return Tier<T>;
}

}  // namespace strata
