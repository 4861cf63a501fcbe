#pragma once

#include <algorithm>  // min
#include <chrono>
#include <random>

#include "strata/tiers/s3/options.hpp"

namespace strata::detail::s3 {

// The wait before retry number `attempt` (0 for the first retry): the base
// doubled each time, capped at 10 s, then "equal jitter" (half fixed, half
// random) so that clients failing together do not retry together.
inline std::chrono::milliseconds backoff(const S3RetryOptions& r, std::size_t attempt) {
    using ms = std::chrono::milliseconds;
    const ms cap{10'000};
    ms d = r.base_backoff;
    for (std::size_t i = 0; i < attempt && d < cap; ++i) d *= 2;
    d = std::min(d, cap);
    if (d.count() <= 1) return d;
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<long long> half(0, d.count() / 2);
    return ms{d.count() - d.count() / 2 + half(rng)};
}

}  // namespace strata::detail::s3
