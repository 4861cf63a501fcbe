#pragma once

// Helpers for the S3 integration tests: the server the CTest fixture started
// (scripts/s3-server.sh), reached through the signature-checking front by
// default, unique key prefixes per test, the front's admin calls, and
// private servers for the failure tests.

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>  // kill
#include <unistd.h>  // getpid

#include <atomic>
#include <chrono>
#include <cstdlib>  // getenv
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "common/temp_dir.hpp"
#include "strata/tiers/s3.hpp"

namespace strata_test::s3 {

inline std::filesystem::path state_dir() {
    const char* dir = std::getenv("STRATA_S3_STATE");
    if (!dir || !*dir)
        throw std::runtime_error(
            "STRATA_S3_STATE is not set: run through ctest, or `scripts/s3-server.sh start DIR` and set it to DIR");
    return dir;
}

inline std::string read_line(const std::string& name) {
    std::ifstream in(state_dir() / name);
    std::string s;
    if (!std::getline(in, s)) throw std::runtime_error("cannot read " + (state_dir() / name).string());
    return s;
}

inline std::string unique_prefix() {
    static std::atomic<int> counter{0};
    return "t" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "/";
}

// Options for the shared server: through the verifying front unless
// `direct`, a fresh prefix, s3rver's account.
inline strata::S3Options options(bool direct = false) {
    strata::S3Options o;
    o.endpoint = read_line(direct ? "direct_endpoint" : "endpoint");
    o.bucket = read_line("bucket");
    o.access_key = "S3RVER";
    o.secret_key = "S3RVER";
    o.prefix = unique_prefix();
    // s3rver keeps each object in a file named after it, plus 22 bytes of
    // suffix: names past ~230 bytes would hit the file system's limit.
    o.max_name_size = o.prefix.size() + 200;
    return o;
}

inline std::string http(const std::string& method, const std::string& url) {
    CURL* h = curl_easy_init();
    std::string body;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, s * n);
        return s * n;
    });
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) throw std::runtime_error("front admin call failed: " + std::string(curl_easy_strerror(rc)));
    return body;
}

struct FrontStats {
    long verified = 0, rejected = 0;
};

// Requests the front has checked so far (all tests share it, so compare
// before and after with >=, never ==).
inline FrontStats front_stats() {
    const std::string json = http("GET", read_line("endpoint") + "/__front/stats");
    const auto number = [&](const std::string& name) {
        const auto at = json.find("\"" + name + "\": ");
        return at == std::string::npos ? -1L : std::stol(json.substr(at + name.size() + 4));
    };
    return {number("verified"), number("rejected")};
}

// The next `count` signed requests through the front that concern `prefix`
// (one test's own) fail with `status`.
inline void front_fail_next(const std::string& prefix, int count, int status = 503) {
    char* match = curl_easy_escape(nullptr, prefix.c_str(), static_cast<int>(prefix.size()));
    const std::string m = match;
    curl_free(match);
    http("POST", read_line("endpoint") + "/__front/fail?count=" + std::to_string(count) +
                     "&status=" + std::to_string(status) + "&match=" + m);
}

// The front's clock runs `offset` ahead of this machine's (behind if negative).
inline void front_set_clock(std::chrono::seconds offset) {
    http("POST", read_line("endpoint") + "/__front/clock?offset=" + std::to_string(offset.count()));
}

// An s3rver of its own (with a front it does not use), in a temporary
// directory, stopped by PID when the object goes away: failure tests stop,
// pause and restart it freely. A restart keeps the port and loses the data.
class Server {
public:
    Server() { start(); }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { stop(); }

    // Options that reach s3rver directly, with a fresh prefix.
    strata::S3Options options() const {
        strata::S3Options o = strata_test::s3::options();
        o.endpoint = "http://127.0.0.1:" + std::to_string(port_);
        return o;
    }

    void start() {
        const std::string cmd = "bash '" STRATA_SOURCE_DIR "/scripts/s3-server.sh' start '" + dir_.path.string() + "' " +
                                (port_ ? std::to_string(port_) : "") + " >&2";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("s3rver did not start in " + dir_.path.string());
        const std::string endpoint = read_file("direct_endpoint");
        port_ = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
    }

    void stop() {
        (void)std::system(("bash '" STRATA_SOURCE_DIR "/scripts/s3-server.sh' stop '" + dir_.path.string() + "' >&2").c_str());
    }

    void signal(int sig) const { ::kill(static_cast<pid_t>(std::stol(read_file("s3rver.pid"))), sig); }

private:
    std::string read_file(const std::string& name) const {
        std::ifstream in(dir_.path / name);
        std::string s;
        if (!std::getline(in, s)) throw std::runtime_error("cannot read " + (dir_.path / name).string());
        return s;
    }

    strata::testing::TempDir dir_{"strata-s3"};
    int port_ = 0;
};

// For the conformance suite: a fresh, empty tier per test.
struct S3TierFactory {
    static strata::S3Tier make() { return strata::S3Tier(options()); }
};

}  // namespace strata_test::s3
