#pragma once

#include <pqxx/pqxx>

#include <algorithm>  // sort
#include <cstddef>    // size_t
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/detail/hex.hpp"
#include "strata/core/error.hpp"

namespace strata::detail::postgres {

// Values of `password` in a conninfo (keyword=value or URI form), so they can
// be blanked out of any server or libpq message that might echo them.
inline std::vector<std::string> conninfo_secrets(std::string_view conninfo) {
    std::vector<std::string> out;
    if (conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://")) {
        const auto scheme = conninfo.find("://") + 3;
        const auto at = conninfo.find('@', scheme);
        const auto colon = conninfo.find(':', scheme);
        if (at != std::string_view::npos && colon != std::string_view::npos && colon < at)
            out.emplace_back(conninfo.substr(colon + 1, at - colon - 1));
        for (auto q = conninfo.find("password=", scheme); q != std::string_view::npos;
             q = conninfo.find("password=", q + 1)) {
            const auto start = q + 9;
            out.emplace_back(conninfo.substr(start, conninfo.find('&', start) - start));
        }
    } else {
        // keyword = value pairs; values may be single-quoted with \ escapes.
        std::size_t i = 0;
        while (i < conninfo.size()) {
            while (i < conninfo.size() && conninfo[i] == ' ') ++i;
            const auto eq = conninfo.find('=', i);
            if (eq == std::string_view::npos) break;
            std::string keyword(conninfo.substr(i, eq - i));
            while (!keyword.empty() && keyword.back() == ' ') keyword.pop_back();
            i = eq + 1;
            while (i < conninfo.size() && conninfo[i] == ' ') ++i;
            std::string value;
            if (i < conninfo.size() && conninfo[i] == '\'') {
                for (++i; i < conninfo.size() && conninfo[i] != '\''; ++i) {
                    if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
                    value += conninfo[i];
                }
                ++i;
            } else {
                for (; i < conninfo.size() && conninfo[i] != ' '; ++i) {
                    if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
                    value += conninfo[i];
                }
            }
            if (keyword.ends_with("password") && !value.empty()) out.push_back(std::move(value));
        }
    }
    std::erase_if(out, [](const std::string& s) { return s.empty(); });
    return out;
}

// One line of text for an Error: libpq messages span lines with tabs.
inline std::string clean_message(std::string_view raw, const std::vector<std::string>& secrets) {
    std::string s;
    bool space = false;
    for (char c : raw) {
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
            space = !s.empty();
            continue;
        }
        if (space) s += ' ';
        space = false;
        s += c;
    }
    for (const auto& secret : secrets)
        for (auto at = s.find(secret); at != std::string::npos; at = s.find(secret, at + 3)) s.replace(at, secret.size(), "***");
    return s;
}

// A key as an error message shows it: quoted, with `"`, `\` and every byte
// outside printable ASCII escaped, so any key reads unambiguously.
inline std::string quoted_key(std::string_view key) {
    std::string out = "\"";
    for (unsigned char c : key) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            detail::append_hex(out, c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + '"';
}

// The detail of a conflict: how many of a batch's `rows` a newer stored
// version kept, the first few of their keys (sorted, so a batch always
// reads the same) and what became of the other rows.
inline std::string conflict_detail(std::vector<std::string> names, std::size_t kept, std::size_t rows) {
    static constexpr std::size_t named = 3;
    std::sort(names.begin(), names.end());
    names.resize(std::min({names.size(), kept, named}));
    std::string s = kept == 1 ? "a newer version is stored for 1 key, left unchanged"
                              : "newer versions are stored for " + std::to_string(kept) + " keys, left unchanged";
    for (std::size_t i = 0; i < names.size(); ++i) {
        s += i == 0 ? ": " : i + 1 == names.size() && kept == names.size() ? " and " : ", ";
        s += quoted_key(names[i]);
    }
    if (!names.empty() && kept > names.size()) s += " and " + std::to_string(kept - names.size()) + " more";
    if (rows > kept)
        s += "; the other " + std::to_string(rows - kept) + " rows of the batch were stored (each row stands alone)";
    return s;
}

// The kind of a server error, from its SQLSTATE:
//   timeout      statement or lock timeout (57014, 55P03)
//   unavailable  what passes: connection (08), resources such as connections,
//                memory and disk (53, but 53400), a serialization failure or
//                deadlock whose transaction may simply run again (40), shutdown
//                and restart (57P01-57P03), a standby's read-only transaction
//                (25006), an idle session cut (25P03, 57P05), system errors (58)
//   rejected     authentication (28), permission (42501), a configured limit
//                the request exceeds (53400)
//   not_found    the database or the table is gone (3D000, 42P01)
//   conflict     an object already exists (42P04, 42P06, 42P07, 42710)
//   corrupt      the server found its data or index damaged (XX001, XX002)
//   invalid      anything else: data (22), constraints (23), syntax and
//                schema (42), unsupported features (0A)
// 40001 and 40P01 are unavailable, not conflict: nothing newer is stored,
// and the same write succeeds when tried again.
inline ErrorKind kind_of_sqlstate(std::string_view state) {
    const auto any = [&state](std::initializer_list<std::string_view> states) {
        for (const auto s : states)
            if (state == s) return true;
        return false;
    };
    if (state.empty()) return ErrorKind::unavailable;  // libpq's own failure, not the server's verdict
    if (any({"57014", "55P03"})) return ErrorKind::timeout;
    if (state == "40003") return ErrorKind::timeout;  // statement completion unknown: it may have applied
    if (state == "40002") return ErrorKind::invalid;  // a constraint checked at commit
    if (state.starts_with("28") || any({"42501", "53400"})) return ErrorKind::rejected;
    if (state.starts_with("08") || state.starts_with("53") || state.starts_with("40") || state.starts_with("58") ||
        any({"57P01", "57P02", "57P03", "57P05", "25006", "25P03"}))
        return ErrorKind::unavailable;
    if (any({"3D000", "42P01"})) return ErrorKind::not_found;
    if (any({"42P04", "42P06", "42P07", "42710"})) return ErrorKind::conflict;
    if (any({"XX001", "XX002"})) return ErrorKind::corrupt;
    return ErrorKind::invalid;
}

// The SQLSTATE of a server error. libpqxx 6 leaves it out of some exception
// types (insufficient_privilege, for one); the type then stands for its class.
inline std::string sqlstate_of(const pqxx::sql_error& e) {
    if (!e.sqlstate().empty()) return e.sqlstate();
    if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
    if (dynamic_cast<const pqxx::undefined_table*>(&e)) return "42P01";
    if (dynamic_cast<const pqxx::syntax_error*>(&e)) return "42601";
    if (dynamic_cast<const pqxx::insufficient_resources*>(&e)) return "53000";
    if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&e)) return "23000";
    if (dynamic_cast<const pqxx::data_exception*>(&e)) return "22000";
    if (dynamic_cast<const pqxx::feature_not_supported*>(&e)) return "0A000";
    return "";
}

// A connection refused before any SQLSTATE reaches libpqxx: the server's
// FATAL message is all there is (in English unless the server's lc_messages
// says otherwise; then the refusal reads as unavailable).
inline ErrorKind kind_of_connect_failure(std::string_view message) {
    const auto has = [&message](std::string_view s) { return message.find(s) != std::string_view::npos; };
    if (has("authentication failed") || has("no pg_hba.conf entry") || has("password is required") ||
        has("no password supplied") || has("permission denied") || (has("role \"") && has("does not exist")))
        return ErrorKind::rejected;
    if (has("database \"") && has("does not exist")) return ErrorKind::not_found;
    return ErrorKind::unavailable;
}

// Call inside a catch block: rethrows the libpqxx exception in flight as
// strata::Error. `deadline_fired` says the client-side deadline cut the
// connection, which makes a broken connection a timeout.
[[noreturn]] inline void rethrow_as_error(const std::string& tier, const std::string& op, bool deadline_fired,
                                          const std::vector<std::string>& secrets) {
    try {
        throw;
    } catch (const pqxx::sql_error& e) {
        const std::string state = sqlstate_of(e);
        throw Error(deadline_fired ? ErrorKind::timeout : kind_of_sqlstate(state), tier, op,
                    clean_message(e.what(), secrets) + (state.empty() ? "" : " [SQLSTATE " + state + "]"));
    } catch (const pqxx::broken_connection& e) {
        const std::string msg = clean_message(e.what(), secrets);
        if (deadline_fired) throw Error(ErrorKind::timeout, tier, op, "no reply before the client deadline; " + msg);
        const bool timed_out = msg.find("timeout expired") != std::string::npos;
        throw Error(timed_out ? ErrorKind::timeout : kind_of_connect_failure(msg), tier, op, msg);
    } catch (const pqxx::failure& e) {
        // in_doubt_error and friends: the server's state is unknown.
        throw Error(deadline_fired ? ErrorKind::timeout : ErrorKind::unavailable, tier, op,
                    clean_message(e.what(), secrets));
    }
}

}  // namespace strata::detail::postgres
