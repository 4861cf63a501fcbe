#pragma once
// The server the Redis benchmarks use: the one on $STRATA_REDIS_PORT if set,
// else a redis-server of its own from scripts/redis-server.sh, in a
// temporary directory, stopped and deleted when this goes.

#include <stdlib.h>  // mkdtemp

#include <cstdio>  // popen
#include <cstdlib>  // getenv, system
#include <filesystem>
#include <stdexcept>
#include <string>

namespace strata::bench {

class RedisServer {
public:
    RedisServer() {
        if (const char* p = std::getenv("STRATA_REDIS_PORT"); p && *p) {
            port_ = std::stoi(p);
            return;
        }
        std::string tmpl = (std::filesystem::temp_directory_path() / "strata-bench-redis-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        FILE* out = popen((script() + " start '" + dir_.string() + "'").c_str(), "r");
        char buf[32] = {};
        const bool got = out && std::fgets(buf, sizeof buf, out);
        if (!out || pclose(out) != 0 || !got) throw std::runtime_error("cannot start redis-server");
        port_ = std::stoi(buf);
    }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;
    ~RedisServer() {
        if (dir_.empty()) return;
        (void)std::system((script() + " stop '" + dir_.string() + "'").c_str());
        std::filesystem::remove_all(dir_);
    }

    int port() const noexcept { return port_; }

private:
    static std::string script() {
        return (std::filesystem::path(__FILE__).parent_path().parent_path() / "scripts/redis-server.sh").string();
    }

    std::filesystem::path dir_;
    int port_ = 0;
};

}  // namespace strata::bench
