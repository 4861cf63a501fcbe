#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <cstdio>   // fprintf
#include <exception>
#include <initializer_list>
#include <string_view>

#include "strata/core/error.hpp"

// Shared by the libFuzzer targets: a property that does not hold stops the
// run like a crash does, so libFuzzer keeps the input that broke it.
namespace strata::fuzz {

[[noreturn]] inline void violated(const char* what, const char* file, int line) {
    std::fprintf(stderr, "fuzz property violated: %s (%s:%d)\n", what, file, line);
    __builtin_trap();
}

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) noexcept {
    return {reinterpret_cast<const char*>(data), size};
}

// Runs `f`; true when it returned, false when it threw strata::Error of one
// of `allowed` kinds. Any other exception breaks the parsers' promise that
// foreign bytes fail as a strata::Error of a documented kind.
template <class F>
bool returns_or_fails_as(std::initializer_list<ErrorKind> allowed, F&& f) {
    try {
        f();
        return true;
    } catch (const Error& e) {
        for (const ErrorKind k : allowed)
            if (e.kind() == k) return false;
        std::fprintf(stderr, "unexpected error kind: %s\n", e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "exception other than strata::Error: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "non-standard exception\n");
    }
    __builtin_trap();
}

// Splits off the bytes before the first `sep` of `in` (all of it when there
// is none): for targets whose input has several parts.
inline std::string_view take_until(std::string_view& in, char sep) noexcept {
    const auto at = in.find(sep);
    const std::string_view head = in.substr(0, at);
    in.remove_prefix(at == std::string_view::npos ? in.size() : at + 1);
    return head;
}

}  // namespace strata::fuzz

#define STRATA_FUZZ_CHECK(cond) \
    ((cond) ? static_cast<void>(0) : ::strata::fuzz::violated(#cond, __FILE__, __LINE__))
