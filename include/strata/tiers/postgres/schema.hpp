#pragma once

#include <pqxx/pqxx>

#include <cstddef>  // size_t
#include <stdexcept>
#include <string>
#include <string_view>

#include "strata/core/error.hpp"

namespace strata::detail::postgres {

// Version 1 is the row itself; version 2 adds the bookkeeping columns and the
// expiry index; version 3 the version index (changed_since). Each step is
// idempotent (IF NOT EXISTS), so a half-applied or unrecorded schema converges too.
inline constexpr int schema_version = 3;

// One advisory lock for every strata migration in a database: it also guards
// the creation of the shared strata_schema table. "strata" in ASCII.
inline constexpr long long migration_lock = 0x737472617461;

// Longest accepted table name: leaves room for the index-name suffixes within
// PostgreSQL's 63-byte identifiers.
inline constexpr std::size_t max_table_name = 48;

// The table's name and the names derived from it, each double-quoted. Only
// [A-Za-z_][A-Za-z0-9_]* is accepted, so quoting is exact and case is kept.
struct Names {
    std::string raw;
    std::string table;
    std::string expiry_index;
    std::string version_index;

    explicit Names(std::string_view name) : raw(name) {
        if (name.empty() || name.size() > max_table_name)
            throw std::invalid_argument("strata: postgres table name must be 1 to " + std::to_string(max_table_name) +
                                        " bytes");
        for (std::size_t i = 0; i < name.size(); ++i) {
            const char c = name[i];
            const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
            if (!letter && !(i > 0 && c >= '0' && c <= '9'))
                throw std::invalid_argument("strata: postgres table name '" + std::string(name) +
                                            "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
        }
        table = '"' + raw + '"';
        expiry_index = '"' + raw + "_expires_idx\"";
        version_index = '"' + raw + "_version_idx\"";
    }
};

inline std::string migration_step(int step, const Names& n) {
    const std::string& t = n.table;
    if (step == 1)
        // Keys are bytea: any bytes (invalid UTF-8 too), compared byte by
        // byte as globs match them, and bytea LIKE's `_` is one byte, as a
        // glob's `?` is; LIKE 'prefix%' still uses the primary key.
        // fillfactor leaves room for HOT updates of last_accessed.
        return "CREATE TABLE IF NOT EXISTS " + t +
               " (key bytea PRIMARY KEY, value bytea NOT NULL, version bigint NOT NULL,"
               " checksum bytea NOT NULL, updated_at bigint NOT NULL, expires_at bigint) WITH (fillfactor = 90)";
    if (step == 3)
        // changed_since: an incremental backup reads the few rows newer than
        // its base, not the table.
        return "CREATE INDEX IF NOT EXISTS " + n.version_index + " ON " + t + " (version)";
    // Times are nanoseconds since the Unix epoch, exactly as the record holds
    // them (timestamptz would round to microseconds).
    return "ALTER TABLE " + t +
           " ADD COLUMN IF NOT EXISTS size bigint, ADD COLUMN IF NOT EXISTS created_at bigint,"
           " ADD COLUMN IF NOT EXISTS last_accessed bigint;"
           "UPDATE " + t + " SET size = octet_length(value), created_at = updated_at, last_accessed = updated_at"
           " WHERE size IS NULL OR created_at IS NULL OR last_accessed IS NULL;"
           "ALTER TABLE " + t + " ALTER size SET NOT NULL, ALTER created_at SET NOT NULL,"
           " ALTER last_accessed SET NOT NULL;"
           "CREATE INDEX IF NOT EXISTS " + n.expiry_index + " ON " + t + " (expires_at) WHERE expires_at IS NOT NULL;"
           "COMMENT ON TABLE " + t + " IS 'strata warm tier; *_at columns are nanoseconds since the Unix epoch (UTC)'";
}

// Brings the table to schema_version under the advisory lock, so tiers that
// start together (threads or processes) serialise here instead of failing.
inline void migrate(pqxx::connection& conn, const Names& n, const std::string& tier) {
    pqxx::work tx(conn);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock) + ")");
    tx.exec("CREATE TABLE IF NOT EXISTS strata_schema (table_name text PRIMARY KEY, version integer NOT NULL,"
            " migrated_at timestamptz NOT NULL DEFAULT now())");
    // A recorded version counts only while the table exists (it may have been
    // dropped by hand since).
    const auto r = tx.exec_params(
        "SELECT coalesce((SELECT version FROM strata_schema WHERE table_name = $1), 0), to_regclass($2) IS NOT NULL",
        n.raw, n.table);
    const int current = r[0][1].as<bool>() ? r[0][0].as<int>() : 0;
    if (current > schema_version)  // the program and the data disagree: no retry or grant fixes it
        throw Error(ErrorKind::invalid, tier, "migrate",
                    "table " + n.raw + " has schema version " + std::to_string(current) +
                        ", newer than this strata's " + std::to_string(schema_version));
    if (current == schema_version) return;  // the transaction rolls back: nothing to do
    for (int step = current + 1; step <= schema_version; ++step) tx.exec(migration_step(step, n));
    tx.exec_params(
        "INSERT INTO strata_schema (table_name, version) VALUES ($1, $2) ON CONFLICT (table_name)"
        " DO UPDATE SET version = EXCLUDED.version, migrated_at = now()",
        n.raw, schema_version);
    tx.commit();
}

}  // namespace strata::detail::postgres
