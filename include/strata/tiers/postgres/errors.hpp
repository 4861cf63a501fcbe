#pragma once

#include <pqxx/pqxx>

#include <algorithm>  // sort
#include <cstddef>    // size_t
#include <string>
#include <string_view>
#include <vector>

#include "strata/core/detail/hex.hpp"
#include "strata/core/error.hpp"

namespace strata::postgres_detail {

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

// The kind of a server error, from its SQLSTATE: what a caller may retry
// (unavailable, timeout) versus what it must fix (rejected).
inline ErrorKind kind_of_sqlstate(std::string_view state) {
    if (state == "57014" || state == "55P03") return ErrorKind::timeout;  // statement / lock timeout
    if (state.starts_with("08") || state.starts_with("53") || state.starts_with("40") || state == "57P01" ||
        state == "57P02" || state == "57P03" || state == "25P03")
        return ErrorKind::unavailable;  // connection, resources, serialization, shutdown
    return ErrorKind::rejected;
}

// Call inside a catch block: rethrows the libpqxx exception in flight as
// strata::Error. `deadline_fired` says the client-side deadline cut the
// connection, which makes a broken connection a timeout.
[[noreturn]] inline void rethrow_as_error(const std::string& tier, const std::string& op, bool deadline_fired,
                                          const std::vector<std::string>& secrets) {
    try {
        throw;
    } catch (const pqxx::sql_error& e) {
        const std::string state = e.sqlstate();
        throw Error(deadline_fired ? ErrorKind::timeout : kind_of_sqlstate(state), tier, op,
                    clean_message(e.what(), secrets) + (state.empty() ? "" : " [SQLSTATE " + state + "]"));
    } catch (const pqxx::broken_connection& e) {
        const std::string msg = clean_message(e.what(), secrets);
        if (deadline_fired) throw Error(ErrorKind::timeout, tier, op, "no reply before the client deadline; " + msg);
        const bool timed_out = msg.find("timeout expired") != std::string::npos;
        throw Error(timed_out ? ErrorKind::timeout : ErrorKind::unavailable, tier, op, msg);
    } catch (const pqxx::failure& e) {
        // in_doubt_error and friends: the server's state is unknown.
        throw Error(deadline_fired ? ErrorKind::timeout : ErrorKind::unavailable, tier, op,
                    clean_message(e.what(), secrets));
    }
}

}  // namespace strata::postgres_detail
