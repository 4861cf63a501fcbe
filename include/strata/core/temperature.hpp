#pragma once

#include <string_view>  // to_string

namespace strata {

// Tiers are listed hottest first; a temperature names a role, not a position.
enum class Temperature { hot, warm, cold };

constexpr std::string_view to_string(Temperature t) noexcept {
    switch (t) {
        case Temperature::hot: return "hot";
        case Temperature::warm: return "warm";
        case Temperature::cold: return "cold";
    }
    return "unknown";
}

}  // namespace strata
