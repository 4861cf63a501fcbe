#pragma once

// Typed values stored as JSON text: component strata::json (nlohmann-json).
//
//   struct Position { std::string symbol; int qty; double price; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Position, symbol, qty, price)
//
//   strata::set_json(mgr, "position:AAPL", Position{"AAPL", 60, 189.5});
//   std::optional<Position> p = strata::get_json<Position>(mgr, "position:AAPL");
//
// Values go through the user's to_json / from_json (or adl_serializer) and
// are stored compact (dump()). A missing key reads as nullopt; a stored value
// that is not JSON, or whose JSON does not convert to T, throws
// Error{invalid} naming the key and nlohmann's reason (a missing field is
// named; for a field of the wrong type nlohmann names the type, and the field
// only when built with JSON_DIAGNOSTICS), never a default value. invalid, not
// corrupt: the manager verified the bytes, so they are what a writer stored,
// and that writer broke the contract. A value that cannot be written as JSON
// text (a string that is not UTF-8) throws Error{invalid} too, and nothing is
// stored.

#include <concepts>
#include <cstddef>  // size_t
#include <exception>
#include <optional>
#include <ranges>  // input_range
#include <span>
#include <string>
#include <string_view>
#include <tuple>  // get
#include <type_traits>  // remove_cvref_t
#include <utility>  // pair
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/core/error.hpp"
#include "strata/manager/options.hpp"

namespace strata {

// What the JSON functions need of a manager: StateManager has all of it.
template <class M>
concept JsonStore = requires(M& mgr, std::string_view key, std::string_view value, SetOptions opts,
                             std::span<const std::string> keys,
                             const std::vector<std::pair<std::string, std::string>>& pairs) {
    mgr.set(key, value, opts);
    mgr.set_many(pairs, opts);
    { mgr.get(key) } -> std::same_as<std::optional<std::string>>;
    { mgr.get_many(keys) } -> std::same_as<std::vector<std::optional<std::string>>>;
};

// T converts to JSON: nlohmann finds a to_json(nlohmann::json&, const T&).
template <class T>
concept JsonWritable = requires(nlohmann::json& j, const T& value) { nlohmann::to_json(j, value); };

// T converts from JSON: nlohmann finds a from_json(const nlohmann::json&, T&).
template <class T>
concept JsonReadable = requires(const nlohmann::json& j) { j.template get<T>(); };

namespace detail {

inline Error json_error(std::string_view operation, std::string_view key, std::string_view what,
                        const std::exception& reason) {
    std::string detail = "key '";
    detail += key;
    detail += "': ";
    detail += what;
    detail += ": ";
    detail += reason.what();
    return Error(ErrorKind::invalid, "json", std::string(operation), detail);
}

template <class T>
std::string to_json_text(std::string_view operation, std::string_view key, const T& value) {
    try {
        return nlohmann::json(value).dump();  // strict: a string that is not UTF-8 throws type_error 316
    } catch (const nlohmann::json::exception& e) {
        throw json_error(operation, key, "value cannot be written as JSON text", e);
    }
}

template <class T>
T from_json_text(std::string_view operation, std::string_view key, const std::string& text) {
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw json_error(operation, key, "stored value is not JSON", e);
    }
    try {
        return parsed.template get<T>();
    } catch (const nlohmann::json::exception& e) {
        throw json_error(operation, key, "stored JSON does not convert to the type asked for", e);
    }
}

}  // namespace detail

template <class T, JsonStore M>
void set_json(M& mgr, std::string_view key, const T& value, SetOptions opts = {}) {
    static_assert(JsonWritable<T>,
                  "strata::set_json: T needs a to_json(nlohmann::json&, const T&) found by ADL, an "
                  "nlohmann::adl_serializer<T>, or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(T, ...)");
    mgr.set(key, detail::to_json_text("set_json", key, value), opts);
}

template <class T, JsonStore M>
std::optional<T> get_json(M& mgr, std::string_view key) {
    static_assert(JsonReadable<T>,
                  "strata::get_json<T>: T needs a from_json(const nlohmann::json&, T&) found by ADL, an "
                  "nlohmann::adl_serializer<T>, or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(T, ...)");
    auto text = mgr.get(key);
    if (!text) return std::nullopt;
    return detail::from_json_text<T>("get_json", key, *text);
}

// Any range of (key, value) pairs, written as one set_many. Every value is
// converted first: one that cannot be fails the call, naming its key, before
// anything is stored.
template <JsonStore M, std::ranges::input_range R>
void set_json_many(M& mgr, const R& items, SetOptions opts = {}) {
    using Value = std::remove_cvref_t<decltype(std::get<1>(*std::ranges::begin(items)))>;
    static_assert(JsonWritable<Value>,
                  "strata::set_json_many: the values need a to_json(nlohmann::json&, const T&) found by ADL, an "
                  "nlohmann::adl_serializer<T>, or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(T, ...)");
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto& [key, value] : items)
        texts.emplace_back(std::string(key), detail::to_json_text("set_json_many", key, value));
    mgr.set_many(texts, opts);
}

// One get_many; nullopt where a key is missing. A stored value that does
// not read as T fails the whole call, naming the first such key.
template <class T, JsonStore M>
std::vector<std::optional<T>> get_json_many(M& mgr, std::span<const std::string> keys) {
    static_assert(JsonReadable<T>,
                  "strata::get_json_many<T>: T needs a from_json(const nlohmann::json&, T&) found by ADL, an "
                  "nlohmann::adl_serializer<T>, or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(T, ...)");
    const auto texts = mgr.get_many(keys);
    std::vector<std::optional<T>> out;
    out.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        if (texts[i])
            out.push_back(detail::from_json_text<T>("get_json_many", keys[i], *texts[i]));
        else
            out.emplace_back();
    }
    return out;
}

}  // namespace strata
