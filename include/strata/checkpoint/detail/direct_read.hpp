#pragma once

#include <algorithm>  // sort, unique
#include <concepts>   // same_as
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

namespace strata::checkpoint_detail {

// Reads a batch straight from a tier for a checkpoint. A tier may offer
// peek_many(keys), a fetch_many that leaves its own access bookkeeping
// (idle times) alone; checkpoints use it when present, so capturing a tier
// never makes its keys look recently used.
template <class T>
std::vector<std::optional<Record>> read_many(T& tier, std::span<const std::string> keys, const char* op) {
    std::vector<std::optional<Record>> got;
    if constexpr (requires { { tier.peek_many(keys) } -> std::same_as<std::vector<std::optional<Record>>>; })
        got = tier.peek_many(keys);
    else
        got = tier.fetch_many(keys);
    if (got.size() != keys.size())
        throw Error(ErrorKind::rejected, std::string(tier.name()), op,
                    "fetch_many returned " + std::to_string(got.size()) + " results for " +
                        std::to_string(keys.size()) + " keys");
    return got;
}

// Every key of a tier, sorted bytewise, without duplicates (Redis SCAN may
// report a key twice).
template <class T>
std::vector<std::string> sorted_keys(T& tier) {
    auto keys = tier.keys("*");
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

}  // namespace strata::checkpoint_detail
