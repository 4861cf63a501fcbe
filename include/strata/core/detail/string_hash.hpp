#pragma once

#include <cstddef>     // size_t
#include <functional>  // hash
#include <string_view>

namespace strata::detail {

// Hashes std::string and std::string_view alike, so lookups by view never
// allocate a key (use with std::equal_to<> in unordered containers).
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace strata::detail
