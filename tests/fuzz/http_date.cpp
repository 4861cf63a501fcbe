// The Date header of an S3 server's refusal, which sets the signing clock:
// what parses is a real IMF-fixdate, and its value is that date's.
#include <chrono>

#include "fuzz_support.hpp"
#include "strata/tiers/s3/signing_clock.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = fuzz::bytes(data, size);
    const auto seconds = detail::s3::parse_http_date(in);
    detail::s3::SigningClock clock;
    // The clock signs by whatever date it adopts.
    if (clock.adopt(in)) {
        STRATA_FUZZ_CHECK(seconds.has_value());
        (void)clock.now();
    } else {
        STRATA_FUZZ_CHECK(clock.offset().count() == 0);
    }
    if (!seconds) return 0;
    // Printed again from the value (leap seconds aside), the date gives back
    // the fields it was read from.
    STRATA_FUZZ_CHECK(in.size() == 29 && in.ends_with(" GMT"));
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const bool leap = in.substr(23, 2) == "60";
    const std::chrono::sys_seconds t{std::chrono::seconds{*seconds - (leap ? 1 : 0)}};
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss hms{t - day};
    char printed[64];
    std::snprintf(printed, sizeof printed, "%02u %s %04d %02d:%02d:%02d", static_cast<unsigned>(ymd.day()),
                  months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  leap ? 60 : static_cast<int>(hms.seconds().count()));
    STRATA_FUZZ_CHECK(in.substr(5, 20) == printed);
    return 0;
}
