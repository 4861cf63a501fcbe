// Glob patterns as users and stored configuration give them: compiling
// either succeeds or throws std::invalid_argument, and what compiles agrees
// with its own literal prefix and SQL LIKE form on every subject.
#include <optional>
#include <stdexcept>
#include <vector>

#include "fuzz_support.hpp"
#include "strata/core/glob.hpp"

using namespace strata;

namespace {

// SQL LIKE ('%' any run, '_' one byte, `escape` quotes the next byte), as
// PostgreSQL reads the pattern the tier binds: the reference for to_sql_like.
bool like_matches(std::string_view pattern, std::string_view s, char escape) {
    struct Token {
        bool percent, underscore;
        char c;
    };
    std::vector<Token> tokens;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == escape && i + 1 < pattern.size())
            tokens.push_back({false, false, pattern[++i]});
        else
            tokens.push_back({pattern[i] == '%', pattern[i] == '_', pattern[i]});
    }
    // reach[j]: the first i subject bytes can be matched by the first j tokens.
    std::vector<char> reach(tokens.size() + 1, 0), next(tokens.size() + 1);
    reach[0] = 1;
    for (std::size_t j = 0; j < tokens.size() && tokens[j].percent; ++j) reach[j + 1] = 1;
    for (const char c : s) {
        std::fill(next.begin(), next.end(), 0);
        for (std::size_t j = 0; j < tokens.size(); ++j) {
            const Token& t = tokens[j];
            if (t.percent)
                next[j + 1] = next[j + 1] || reach[j + 1] || next[j];
            else if (reach[j] && (t.underscore || t.c == c))
                next[j + 1] = 1;
            if (t.percent && next[j]) next[j + 1] = 1;
        }
        reach.swap(next);
    }
    return reach[tokens.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::bytes(data, size);
    const std::string_view pattern = fuzz::take_until(in, '\0');
    const std::string_view subject = in;

    std::optional<Glob> compiled;
    try {
        compiled.emplace(pattern);
    } catch (const std::invalid_argument&) {
    }
    if (compiled) {
        const bool matched = compiled->matches(subject);
        if (matched) STRATA_FUZZ_CHECK(subject.starts_with(compiled->literal_prefix()));
        if (compiled->is_literal()) STRATA_FUZZ_CHECK(matched == (subject == compiled->literal_prefix()));
        const Glob::Like like = compiled->to_sql_like();
        const bool like_matched = like_matches(like.pattern, subject, '\\');
        if (matched) STRATA_FUZZ_CHECK(like_matched);
        if (like.exact) STRATA_FUZZ_CHECK(matched == like_matched);
    }

    // A literal escaped as a glob matches itself and nothing longer.
    const std::string escaped = glob_escape(subject);
    if (escaped.size() <= Glob::max_size && subject.find('\0') == std::string_view::npos) {
        const Glob exact(escaped);
        STRATA_FUZZ_CHECK(exact.is_literal() && exact.literal_prefix() == subject && exact.matches(subject));
        STRATA_FUZZ_CHECK(!exact.matches(std::string(subject) + "x"));
    }
    return 0;
}
