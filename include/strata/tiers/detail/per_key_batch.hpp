#pragma once

#include <cstddef>  // size_t
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strata/core/key.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// Batch calls for tiers with no round trip to save (memory, files): loops in
// input order, with every key checked before any is touched, so a bad key
// fails the batch before it half happens.
template <class T>
std::vector<std::optional<Record>> fetch_each(T& tier, std::span<const std::string> keys) {
    for (const auto& k : keys) validate_key(k);
    std::vector<std::optional<Record>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(tier.fetch(k));
    return out;
}

template <class T>
void store_each(T& tier, std::span<const Entry> entries) {
    for (const auto& e : entries) validate_key(e.key);
    for (const auto& e : entries) tier.store(e.key, e.record);
}

template <class T>
std::size_t erase_each(T& tier, std::span<const std::string> keys) {
    for (const auto& k : keys) validate_key(k);
    std::size_t n = 0;
    for (const auto& k : keys) n += tier.erase(k) ? 1 : 0;
    return n;
}

}  // namespace strata::detail
