// Cron expressions as schedules in configuration give them: parsing either
// succeeds or throws std::invalid_argument; what parses prints a canonical
// form that parses back equal, and next_after, from instants the input
// picks, never goes backwards, lands on a matching minute, and skips none.
#include <chrono>
#include <cstring>  // memcpy
#include <optional>
#include <stdexcept>
#include <string>

#include "fuzz_support.hpp"
#include "strata/core/cron.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::bytes(data, size);
    const std::string_view text = fuzz::take_until(in, '\0');

    std::optional<CronExpression> e;
    try {
        e.emplace(CronExpression::parse(text));
    } catch (const std::invalid_argument&) {
        return 0;
    }
    const std::string canonical = e->to_string();
    STRATA_FUZZ_CHECK(CronExpression::parse(canonical) == *e);
    STRATA_FUZZ_CHECK(CronExpression::parse(canonical).to_string() == canonical);

    // The bytes after the expression choose where to start: any instant the
    // clock holds, the extremes included.
    std::int64_t ticks = 1'780'000'000'000'000'000;
    if (in.size() >= sizeof ticks) std::memcpy(&ticks, in.data(), sizeof ticks);
    auto t = Clock::time_point(Clock::duration(ticks));
    for (int i = 0; i < 4; ++i) {
        const auto n = e->next_after(t);
        if (!n) break;
        STRATA_FUZZ_CHECK(*n > t);
        STRATA_FUZZ_CHECK(e->matches(*n));
        STRATA_FUZZ_CHECK(*n == std::chrono::floor<std::chrono::minutes>(*n));
        // No match between t and n: the minute before n, if after t, does not match.
        const auto before = *n - std::chrono::minutes{1};
        STRATA_FUZZ_CHECK(before <= t || !e->matches(before));
        t = *n;
    }
    return 0;
}
