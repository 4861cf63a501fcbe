#pragma once
// Waits for something another thread makes true, checking every `step`, and
// gives up after `bound`, so a test that would otherwise hang fails instead.

#include <chrono>
#include <optional>
#include <thread>

namespace strata::testing {

// The moment `holds()` was first seen true, or nullopt after `bound`.
template <class Predicate>
std::optional<std::chrono::steady_clock::time_point> eventually(
    Predicate&& holds, std::chrono::milliseconds bound,
    std::chrono::milliseconds step = std::chrono::milliseconds{10}) {
    const auto give_up = std::chrono::steady_clock::now() + bound;
    for (;;) {
        if (holds()) return std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() >= give_up) return std::nullopt;
        std::this_thread::sleep_for(step);
    }
}

}  // namespace strata::testing
