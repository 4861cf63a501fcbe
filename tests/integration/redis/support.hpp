#pragma once

// Helpers for the Redis integration tests: the shared server that the CTest
// fixture started, private servers for failure tests, a raw client for
// looking at what the tier stored, and unique key prefixes.

#include <gtest/gtest.h>
#include <signal.h>  // kill, SIGSTOP, SIGCONT, SIGKILL

#include <atomic>
#include <cstdio>  // popen
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>  // getpid

#include "common/temp_dir.hpp"
#include "strata/tiers/redis.hpp"

namespace strata_test::redis {

inline const std::string script = STRATA_SOURCE_DIR "/scripts/redis-server.sh";

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    return s;
}

// A redis-server of its own, in a temporary directory, stopped by PID when
// the object goes away: failure tests kill, stop and restart it freely.
class Server {
public:
    // `redis_args`: extra redis-server arguments, as shell words.
    explicit Server(std::string redis_args = "") : redis_args_(std::move(redis_args)) { start(); }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { stop(); }

    int port() const noexcept { return port_; }
    std::string socket() const { return (dir_.path / "redis.sock").string(); }
    pid_t pid() const { return static_cast<pid_t>(std::stol(read_file(dir_.path / "redis.pid"))); }

    // Starts it, on the port it had before if it ran already.
    void start() {
        const std::string cmd = script + " start '" + dir_.path.string() + "' " + (port_ ? std::to_string(port_) : "") +
                                (redis_args_.empty() ? "" : " -- " + redis_args_);
        FILE* out = popen(cmd.c_str(), "r");
        if (!out) throw std::runtime_error("cannot run " + script);
        char buf[32] = {};
        const bool got = std::fgets(buf, sizeof buf, out) != nullptr;
        if (pclose(out) != 0 || !got) throw std::runtime_error("redis-server did not start in " + dir_.path.string());
        port_ = std::stoi(buf);
    }

    void stop() { (void)std::system((script + " stop '" + dir_.path.string() + "'").c_str()); }

    void signal(int sig) { ::kill(pid(), sig); }

    // kill -9, then waits until it is dead (a zombie until init reaps it,
    // but with its sockets closed).
    void kill9() {
        const pid_t p = pid();
        ::kill(p, SIGKILL);
        for (int i = 0; i < 500 && running(p); ++i) usleep(10'000);
    }

private:
    static bool running(pid_t p) {
        std::ifstream in("/proc/" + std::to_string(p) + "/stat");
        std::string pid, comm, state;
        return in >> pid >> comm >> state && state != "Z";
    }

    std::string redis_args_;
    strata::testing::TempDir dir_{"strata-redis"};
    int port_ = 0;
};

// The port of the fixture's server; without the fixture (the binary run by
// hand), a server of this process's own.
inline int shared_port() {
    if (const char* port = std::getenv("STRATA_REDIS_PORT")) return std::stoi(port);
    if (const char* dir = std::getenv("STRATA_REDIS_DIR")) {
        const std::string port = read_file(std::filesystem::path(dir) / "port");
        if (port.empty()) throw std::runtime_error(std::string("no port file in ") + dir + ": fixture not started?");
        return std::stoi(port);
    }
    static Server own;
    return own.port();
}

// A fresh key prefix per call, so tests never see each other's keys.
inline std::string unique_prefix(std::string_view tag = "t") {
    static std::atomic<int> counter{0};
    return "strata-test:" + std::to_string(getpid()) + ":" + std::to_string(counter++) + ":" + std::string(tag) + ":";
}

inline strata::RedisOptions options(int port, std::string prefix = unique_prefix()) {
    strata::RedisOptions o;
    o.port = port;
    o.key_prefix = std::move(prefix);
    o.connect_timeout = std::chrono::milliseconds(1000);
    o.command_timeout = std::chrono::milliseconds(2000);
    return o;
}

inline strata::RedisOptions options(std::string prefix = unique_prefix()) {
    return options(shared_port(), std::move(prefix));
}

// A plain connection for looking at (or tampering with) what a tier stored.
class Raw {
public:
    explicit Raw(int port = shared_port()) : conn_(settings(port), "raw") {}

    strata::detail::redis::Reply operator()(std::initializer_list<std::string_view> args) {
        strata::detail::redis::Command cmd;
        for (auto a : args) cmd.arg(a);
        return conn_.run(cmd, "raw");
    }

private:
    static strata::detail::redis::Settings settings(int port) {
        strata::detail::redis::Settings s;
        s.host = "127.0.0.1";
        s.port = port;
        return s;
    }
    strata::detail::redis::Connection conn_;
};

}  // namespace strata_test::redis
