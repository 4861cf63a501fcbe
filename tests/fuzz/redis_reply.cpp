// What the Redis tier makes of a server's replies, without a server: the fuzz
// bytes describe a redisReply tree as hiredis would hand it over, and every
// interpretation in tiers/redis runs on it. A reply of a shape a command never
// gets must fail as strata::Error, never crash or escape as another exception.
//
// Tree encoding (redis_tree.hpp): one byte per node whose value mod 8 is its
// type (0 and 7: types this hiredis does not know); strings (STRING, STATUS,
// ERROR, unknown) then a 2-byte little-endian length and the bytes;
// INTEGER 8 bytes little-endian; ARRAY a 1-byte count and the elements.
#include <chrono>
#include <limits>

#include "fuzz_support.hpp"
#include "redis_tree.hpp"
#include "strata/tiers/redis.hpp"

using namespace strata;
using namespace strata::detail::redis;

namespace {

constexpr std::initializer_list<ErrorKind> reply_errors{ErrorKind::invalid, ErrorKind::unavailable,
                                                        ErrorKind::rejected};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::ReplyTree tree(fuzz::bytes(data, size));
    const redisReply& reply = tree.root();

    const ErrorKind kind = classify_error_reply(text(reply));
    STRATA_FUZZ_CHECK(kind == ErrorKind::invalid || kind == ErrorKind::unavailable || kind == ErrorKind::rejected);
    const auto is_error = [&] { return reply.type == REDIS_REPLY_ERROR; };
    if (fuzz::returns_or_fails_as(reply_errors, [&] { (void)integer(reply, "redis", "fuzz"); }))
        STRATA_FUZZ_CHECK(reply.type == REDIS_REPLY_INTEGER);
    if (fuzz::returns_or_fails_as(reply_errors, [&] { (void)array(reply, "redis", "fuzz"); }))
        STRATA_FUZZ_CHECK(reply.type == REDIS_REPLY_ARRAY);
    if (fuzz::returns_or_fails_as(reply_errors, [&] { status(reply, "redis", "fuzz"); }))
        STRATA_FUZZ_CHECK(reply.type == REDIS_REPLY_STATUS);
    if (!fuzz::returns_or_fails_as(reply_errors, [&] { check(reply, "redis", "fuzz"); }))
        STRATA_FUZZ_CHECK(is_error());

    // A SCAN page.
    std::vector<std::string_view> names;
    if (fuzz::returns_or_fails_as(reply_errors, [&] { (void)scan_page(reply, names, "redis", "keys"); }))
        STRATA_FUZZ_CHECK(names.size() <= reply.element[1]->elements);

    // An MGET answer for as many keys as it has elements, and for one more.
    for (const std::size_t extra : {0, 1}) {
        const std::size_t count = (reply.type == REDIS_REPLY_ARRAY ? reply.elements : 0) + extra;
        std::vector<std::optional<Record>> values;
        if (fuzz::returns_or_fails_as(reply_errors,
                                      [&] { values = decode_values(reply, count, "redis", "fetch"); }))
            STRATA_FUZZ_CHECK(extra == 0 && values.size() == count);
    }

    // OBJECT IDLETIME, as idle_keys compares it with the age asked for.
    if (reply.type == REDIS_REPLY_INTEGER)
        for (const long long ms : {0LL, 1LL, 1500LL, -1500LL, std::numeric_limits<long long>::max()})
            STRATA_FUZZ_CHECK(idle_at_least(reply.integer, std::chrono::milliseconds(ms)) ==
                              (static_cast<__int128>(reply.integer) * 1000 >= ms));

    // INFO, as stats() reads it.
    TierStats stats;
    fuzz::returns_or_fails_as(reply_errors, [&] { parse_info(text(reply), stats, "redis"); });
    return 0;
}
