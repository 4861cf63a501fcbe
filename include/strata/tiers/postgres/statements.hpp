#pragma once

#include <array>
#include <string>
#include <utility>  // pair

#include "strata/tiers/postgres/schema.hpp"

namespace strata::detail::postgres {

// The tier's prepared statements. Their text depends only on the validated,
// quoted table name and the options; keys, values and patterns are always
// parameters ($n), arrays of them text-encoded array literals. Every statement
// is a single one, so autocommit makes each atomic in one round trip.
// A row is live while `expires_at IS NULL OR expires_at > now`, with `now`
// the client's clock (as in every other tier) passed as a parameter.
namespace stmt {
inline constexpr const char* fetch = "strata_fetch";
inline constexpr const char* store = "strata_store";
inline constexpr const char* erase = "strata_erase";
inline constexpr const char* keys = "strata_keys";
inline constexpr const char* touch = "strata_touch";
inline constexpr const char* idle = "strata_idle";
inline constexpr const char* sweep = "strata_sweep";
inline constexpr const char* stats = "strata_stats";
inline constexpr const char* newer = "strata_newer";
inline constexpr const char* changed = "strata_changed";
}  // namespace stmt

// Rows a sweep deletes per statement, so it never holds many row locks long.
inline constexpr long long sweep_batch = 10'000;

inline std::array<std::pair<const char*, std::string>, 10> statements(const Names& n, bool newer_versions_only) {
    const std::string& t = n.table;
    const std::string live = "(expires_at IS NULL OR expires_at > $2)";
    // A batch upsert over unnest(): one statement for any number of rows.
    // bytea travels as hex text (see sql.hpp). With
    // newer_versions_only a row is not replaced by an older version, so
    // concurrent writers cannot move a key back in time; an expired row is
    // always replaceable. The command's row count (rows inserted or updated)
    // then tells the tier, in the same round trip, whether any row was left
    // alone, and stmt::newer finds which only when some were.
    std::string store =
        "INSERT INTO " + t + " AS t (key, value, version, checksum, size, created_at, updated_at, last_accessed,"
        " expires_at) SELECT k, v, ver, c, octet_length(v), $7, u, $7, e"
        " FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bigint[])"
        " AS s(k, v, ver, c, u, e)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version,"
        " checksum = EXCLUDED.checksum, size = EXCLUDED.size, updated_at = EXCLUDED.updated_at,"
        " last_accessed = EXCLUDED.last_accessed, expires_at = EXCLUDED.expires_at,"
        " created_at = CASE WHEN t.expires_at <= $7 THEN EXCLUDED.created_at ELSE t.created_at END";
    if (newer_versions_only) store += " WHERE t.version <= EXCLUDED.version OR t.expires_at <= $7";
    return {{
        {stmt::fetch, "SELECT key, value, version, checksum, updated_at, expires_at, last_accessed FROM " + t +
                          " WHERE key = ANY($1::bytea[]) AND " + live},
        {stmt::store, std::move(store)},
        // Expired rows are deleted too but not counted: they were already gone.
        {stmt::erase, "WITH gone AS (DELETE FROM " + t +
                          " WHERE key = ANY($1::bytea[]) RETURNING expires_at) SELECT count(*) FROM gone WHERE " + live},
        {stmt::keys, "SELECT key FROM " + t + " WHERE key LIKE $1::bytea ESCAPE '\\x5c'::bytea AND " + live},
        // Only rows staler than the resolution ($3) are locked and written.
        // SKIP LOCKED: a row being written gets last_accessed from the write,
        // so a touch never waits for it and can never deadlock with it.
        {stmt::touch, "UPDATE " + t + " AS t SET last_accessed = $2 FROM (SELECT key FROM " + t +
                          " WHERE key = ANY($1::bytea[]) AND last_accessed < $3 FOR UPDATE SKIP LOCKED) AS s"
                          " WHERE t.key = s.key"},
        {stmt::idle, "SELECT key FROM " + t + " WHERE last_accessed < $1 AND " + live},
        {stmt::sweep, "WITH doomed AS (SELECT key FROM " + t + " WHERE expires_at <= $1 LIMIT " +
                          std::to_string(sweep_batch) + " FOR UPDATE SKIP LOCKED) DELETE FROM " + t +
                          " AS t USING doomed WHERE t.key = doomed.key"},
        {stmt::stats, "SELECT count(*) FILTER (WHERE live), coalesce(sum(size + octet_length(key)) FILTER (WHERE live), 0),"
                      " count(*) FILTER (WHERE NOT live), pg_total_relation_size(to_regclass($2))"
                      " FROM (SELECT key, size, expires_at IS NULL OR expires_at > $1 AS live FROM " + t + ") AS s"},
        // Of keys ($1) and the versions a store carried ($2), those whose live
        // row holds a newer version: what a conflicting store left alone.
        {stmt::newer, "SELECT s.k FROM unnest($1::bytea[], $2::bigint[]) AS s(k, ver) JOIN " + t +
                          " AS t ON t.key = s.k WHERE t.version > s.ver AND (t.expires_at IS NULL OR t.expires_at > $3)"},
        // Live keys whose version is above $1, found through the version index.
        {stmt::changed, "SELECT key FROM " + t + " WHERE version > $1::bigint AND " + live},
    }};
}

}  // namespace strata::detail::postgres
