#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/record.hpp"

namespace strata::detail::checkpoint {

// Reads a batch straight from a tier for a checkpoint or a rollback: through
// peek_many where the tier has it (core/capabilities.hpp), so capturing a
// tier never makes its keys look recently used.
template <class T>
std::vector<std::optional<Record>> read_many(T& tier, std::span<const std::string> keys, const char* op) {
    return detail::peek_or_fetch(tier, keys, op);
}

// Every key of a tier, sorted bytewise, without duplicates.
template <class T>
std::vector<std::string> sorted_keys(T& tier) {
    return detail::all_keys_sorted(tier);
}

}  // namespace strata::detail::checkpoint
