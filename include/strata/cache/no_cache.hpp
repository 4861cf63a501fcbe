#pragma once

#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/cache/cache_policy.hpp"
#include "strata/core/record.hpp"

namespace strata {

// Caches nothing: every get goes to the tiers. For state that other
// processes write directly, or to measure the tiers themselves.
class NoCache {
public:
    std::optional<std::string> lookup(std::string_view) const noexcept { return std::nullopt; }
    void insert(std::string_view, std::string_view, std::optional<Clock::time_point> = std::nullopt) const noexcept {}
    void invalidate(std::string_view) const noexcept {}
    void clear() const noexcept {}
    std::size_t size() const noexcept { return 0; }
    std::size_t capacity() const noexcept { return 0; }
};

static_assert(check_cache_policy<NoCache>());

}  // namespace strata
