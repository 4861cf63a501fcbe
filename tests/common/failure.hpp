#pragma once
// Helpers for the failure tests, which stop, pause and restart real servers.

#include <gtest/gtest.h>
#include <signal.h>  // SIGCONT

#include <chrono>
#include <utility>  // pair

#include "strata/core/error.hpp"

namespace strata::testing {

// Runs `call`, which must throw strata::Error, and returns its kind and how
// long it took to fail.
template <class F>
std::pair<ErrorKind, std::chrono::milliseconds> failure_of(F&& call) {
    const auto start = std::chrono::steady_clock::now();
    try {
        call();
    } catch (const Error& e) {
        return {e.kind(),
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
    }
    ADD_FAILURE() << "the call succeeded";
    return {ErrorKind::rejected, std::chrono::milliseconds{0}};
}

// Resumes a server paused with SIGSTOP however the test ends, so nothing is
// left stopped. Server is any test server with signal(int).
template <class Server>
struct Resume {
    Server& server;
    ~Resume() { server.signal(SIGCONT); }
};

}  // namespace strata::testing
