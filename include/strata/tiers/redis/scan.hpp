#pragma once

#include <cstddef>  // size_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/tiers/redis/connection.hpp"
#include "strata/tiers/redis/pool.hpp"
#include "strata/tiers/redis/reply.hpp"

namespace strata::detail::redis {

// One SCAN reply: fills `names` with the page's key names (views into the
// reply) and returns the next cursor.
inline std::string_view scan_page(const redisReply& reply, std::vector<std::string_view>& names,
                                  std::string_view tier, std::string_view op) {
    const redisReply& page = array(reply, tier, op);
    if (page.elements != 2 || page.element[0]->type != REDIS_REPLY_STRING ||
        page.element[1]->type != REDIS_REPLY_ARRAY)
        unexpected(page, tier, op);
    names.clear();
    const redisReply& found = *page.element[1];
    for (std::size_t i = 0; i < found.elements; ++i)
        if (found.element[i]->type == REDIS_REPLY_STRING) names.push_back(text(*found.element[i]));
    return text(*page.element[0]);
}

// Walks the keyspace with SCAN MATCH (never KEYS, which blocks the server),
// calling on_page(names) for each page. SCAN may return a key more than
// once, and pages may be empty; callers dedupe. Each page borrows a
// connection of its own and returns it before on_page runs: the cursor is
// the server's, valid on any connection to the same db, so a long scan lets
// other calls take turns with it instead of holding a connection throughout.
template <class OnPage>
void scan(Pool& pool, std::string_view match, std::size_t count, std::string_view tier, std::string_view op,
          OnPage&& on_page) {
    std::string cursor = "0";
    const std::string count_arg = std::to_string(count ? count : 1);
    std::vector<std::string_view> names;
    do {
        Command cmd("SCAN");
        cmd.arg(cursor).arg("MATCH").arg(match).arg("COUNT").arg(count_arg);
        const Reply reply = pool.borrow(op)->run(cmd, op);
        const std::string_view next = scan_page(*reply, names, tier, op);
        on_page(static_cast<const std::vector<std::string_view>&>(names));
        cursor.assign(next);
    } while (cursor != "0");
}

// OBJECT IDLETIME of each name, pipelined: seconds since the key was last
// read or written, or nullopt for a key that vanished meanwhile.
inline std::vector<std::optional<long long>> idle_seconds(Connection& conn, const std::vector<std::string_view>& names,
                                                          std::string_view tier) {
    std::vector<Command> cmds(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) cmds[i].arg("OBJECT").arg("IDLETIME").arg(names[i]);
    const auto replies = conn.pipeline(cmds, "idle_keys");
    std::vector<std::optional<long long>> out;
    out.reserve(replies.size());
    for (const auto& r : replies) {
        if (r->type == REDIS_REPLY_NIL)
            out.emplace_back();
        else
            out.emplace_back(integer(*r, tier, "idle_keys"));
    }
    return out;
}

}  // namespace strata::detail::redis
