#pragma once

#include <cstddef>  // size_t
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

// A Redis-syntax glob (`*`, `?`, `[a-z]`, `[^a]`, `\` escape), compiled once
// and matched byte by byte. Every tier filters with the same matcher, so a
// pattern means the same thing in Redis, PostgreSQL, S3 and memory. Patterns
// Redis would accept silently but that are malformed (an unclosed `[`, a
// trailing `\`, an empty class) are rejected with std::invalid_argument.
class Glob {
public:
    static constexpr std::size_t max_size = 4096;

    explicit Glob(std::string_view pattern) : source_(pattern) { compile(pattern); }

    const std::string& source() const noexcept { return source_; }

    bool matches(std::string_view s) const noexcept {
        // Greedy match with one backtrack point: every non-star token consumes
        // exactly one byte, so remembering the last star is enough.
        std::size_t t = 0, i = 0, star_t = npos, star_i = 0;
        while (i < s.size()) {
            if (t < tokens_.size() && tokens_[t].kind == Kind::star) {
                star_t = t++;
                star_i = i;
            } else if (t < tokens_.size() && accepts(tokens_[t], static_cast<unsigned char>(s[i]))) {
                ++t;
                ++i;
            } else if (star_t != npos) {
                t = star_t + 1;
                i = ++star_i;
            } else {
                return false;
            }
        }
        while (t < tokens_.size() && tokens_[t].kind == Kind::star) ++t;
        return t == tokens_.size();
    }

    // The bytes every match starts with: what S3 lists by and Redis scans under.
    std::string literal_prefix() const {
        std::string p;
        for (const auto& tok : tokens_) {
            if (tok.kind != Kind::literal) break;
            p += static_cast<char>(tok.lo);
        }
        return p;
    }

    // True when the pattern has no wildcard: it matches exactly one key.
    bool is_literal() const noexcept {
        for (const auto& tok : tokens_)
            if (tok.kind != Kind::literal) return false;
        return true;
    }

    // A LIKE pattern (with `escape` as its ESCAPE character) that selects a
    // superset of the matches; `exact` says whether it selects exactly them.
    // Character classes become `_`, so callers filter with matches() unless
    // `exact` is set. The result is a bound parameter, never spliced into SQL.
    struct Like {
        std::string pattern;
        bool exact = true;
    };

    Like to_sql_like(char escape = '\\') const {
        Like like;
        for (const auto& tok : tokens_) {
            switch (tok.kind) {
                case Kind::literal: {
                    const char c = static_cast<char>(tok.lo);
                    if (c == '%' || c == '_' || c == escape) like.pattern += escape;
                    like.pattern += c;
                    break;
                }
                case Kind::any: like.pattern += '_'; break;
                case Kind::star: like.pattern += '%'; break;
                case Kind::set:
                    like.pattern += '_';
                    like.exact = false;
                    break;
            }
        }
        return like;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    enum class Kind { literal, any, star, set };
    struct Range {
        unsigned char lo, hi;
    };
    struct Token {
        Kind kind;
        unsigned char lo = 0;       // the byte, for literals
        bool negated = false;       // for sets
        std::size_t first = 0, count = 0;  // slice of ranges_, for sets
    };

    bool accepts(const Token& tok, unsigned char c) const noexcept {
        switch (tok.kind) {
            case Kind::literal: return c == tok.lo;
            case Kind::any: return true;
            case Kind::star: return false;
            case Kind::set: {
                bool in = false;
                for (std::size_t r = tok.first; r < tok.first + tok.count && !in; ++r)
                    in = ranges_[r].lo <= c && c <= ranges_[r].hi;
                return in != tok.negated;
            }
        }
        return false;
    }

    [[noreturn]] static void reject(std::string_view pattern, const std::string& why) {
        throw std::invalid_argument("strata: invalid glob '" + std::string(pattern) + "': " + why);
    }

    void compile(std::string_view p) {
        if (p.size() > max_size) reject(p.substr(0, 32), "longer than " + std::to_string(max_size) + " bytes");
        if (p.find('\0') != std::string_view::npos) reject(p, "contains a NUL byte");
        for (std::size_t i = 0; i < p.size(); ++i) {
            const char c = p[i];
            if (c == '*') {
                if (tokens_.empty() || tokens_.back().kind != Kind::star) tokens_.push_back({Kind::star});
            } else if (c == '?') {
                tokens_.push_back({Kind::any});
            } else if (c == '\\') {
                if (++i == p.size()) reject(p, "ends with a lone '\\'");
                tokens_.push_back({Kind::literal, static_cast<unsigned char>(p[i])});
            } else if (c == '[') {
                i = compile_set(p, i + 1);
            } else {
                tokens_.push_back({Kind::literal, static_cast<unsigned char>(c)});
            }
        }
    }

    // Parses a class starting after '['; returns the index of its ']'.
    std::size_t compile_set(std::string_view p, std::size_t i) {
        Token tok{Kind::set};
        tok.first = ranges_.size();
        if (i < p.size() && p[i] == '^') {
            tok.negated = true;
            ++i;
        }
        for (; i < p.size() && p[i] != ']'; ++i) {
            unsigned char lo = static_cast<unsigned char>(p[i]);
            if (p[i] == '\\') {
                if (++i == p.size()) reject(p, "ends with a lone '\\'");
                lo = static_cast<unsigned char>(p[i]);
            }
            unsigned char hi = lo;
            if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
                i += 2;
                if (p[i] == '\\') {
                    if (++i == p.size()) reject(p, "ends with a lone '\\'");
                }
                hi = static_cast<unsigned char>(p[i]);
                if (hi < lo) std::swap(lo, hi);  // Redis accepts [z-a] as [a-z]
            }
            ranges_.push_back({lo, hi});
        }
        if (i >= p.size()) reject(p, "'[' is never closed");
        tok.count = ranges_.size() - tok.first;
        if (tok.count == 0) reject(p, "empty character class");
        tokens_.push_back(tok);
        return i;
    }

    std::string source_;
    std::vector<Token> tokens_;
    std::vector<Range> ranges_;
};

// Escapes `literal` so that, as a glob, it matches only itself: for key
// prefixes put in front of a user's pattern (Redis SCAN MATCH).
inline std::string glob_escape(std::string_view literal) {
    std::string out;
    out.reserve(literal.size());
    for (char c : literal) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace strata
