#pragma once
// Where the PostgreSQL tests and benchmarks find their server: STRATA_PG_CONNINFO
// if set, else the conninfo file that scripts/postgres-server.sh wrote into
// STRATA_PG_STATE_DIR. PrivateCluster starts a cluster of its own with the same
// script, for tests that stop, restart or freeze the server.

#include <unistd.h>  // getpid

#include <atomic>
#include <chrono>
#include <cstdlib>  // getenv, system
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>  // move

#include "strata/tiers/postgres.hpp"

namespace strata::pgtest {

inline std::string read_line(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return line;
}

inline std::string shared_conninfo() {
    if (const char* c = std::getenv("STRATA_PG_CONNINFO"); c && *c) return c;
    const char* dir = std::getenv("STRATA_PG_STATE_DIR");
    if (!dir || !*dir) throw std::runtime_error("set STRATA_PG_CONNINFO or STRATA_PG_STATE_DIR (run through ctest)");
    const auto line = read_line(std::filesystem::path(dir) / "conninfo");
    if (line.empty()) throw std::runtime_error(std::string("no conninfo in ") + dir + " (is the server started?)");
    return line;
}

// A table name no other test or process uses.
inline std::string unique_table(const std::string& stem = "t") {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(now % 1'000'000'007) + "_" +
           std::to_string(counter++);
}

inline PostgresOptions options(std::string conninfo = shared_conninfo()) {
    PostgresOptions o;
    o.conninfo = std::move(conninfo);
    o.table = unique_table();
    o.pool_size = 4;
    return o;
}

// For tests that stop or freeze the server: a call fails within a second
// (statement_timeout plus the client's grace), a connect within libpq's
// minimum of 2 s.
inline PostgresOptions short_timeouts(std::string conninfo) {
    auto o = options(std::move(conninfo));
    o.statement_timeout = std::chrono::milliseconds{500};
    o.client_grace = std::chrono::milliseconds{500};
    o.connect_timeout = std::chrono::seconds{2};
    o.pool_size = 2;
    return o;
}

// Deletes a test's table and its schema record (the record table may not exist
// yet when the test never touched the table).
inline void drop_table(const PostgresOptions& o) {
    pqxx::connection c(o.conninfo);
    pqxx::nontransaction tx(c);
    tx.exec("DROP TABLE IF EXISTS \"" + o.table + "\"");
    if (tx.exec("SELECT to_regclass('strata_schema') IS NOT NULL")[0][0].as<bool>())
        tx.exec_params("DELETE FROM strata_schema WHERE table_name = $1", o.table);
}

inline std::string script() {
#ifdef STRATA_SOURCE_DIR
    return std::string(STRATA_SOURCE_DIR) + "/scripts/postgres-server.sh";
#else  // benchmarks: this file is tests/integration/postgres/pg_env.hpp
    return (std::filesystem::path(__FILE__).parent_path() / "../../../scripts/postgres-server.sh").lexically_normal();
#endif
}

// A cluster of its own (initdb + start, ~1.5 s), stopped and deleted on
// destruction, whatever state a test left it in. pid() is the postmaster,
// for signals.
class PrivateCluster {
public:
    PrivateCluster() {
        dir_ = std::filesystem::temp_directory_path() / ("strata-pg-private-" + unique_table("c"));
        run("start");
        conninfo_ = read_line(dir_ / "conninfo");
    }
    ~PrivateCluster() {
        std::system((script() + " stop '" + dir_.string() + "' >/dev/null 2>&1").c_str());
        std::filesystem::remove_all(dir_);
    }
    PrivateCluster(const PrivateCluster&) = delete;
    PrivateCluster& operator=(const PrivateCluster&) = delete;

    const std::string& conninfo() const { return conninfo_; }
    int pid() const { return std::stoi(read_line(dir_ / "pid")); }
    void restart() { run("restart"); }  // also starts it after crash()
    void crash() { run("crash"); }      // pg_ctl -m immediate: down until restart()
    void wipe() { run("wipe"); }        // up again, empty: only the postgres database

private:
    void run(const std::string& cmd) {
        const int rc = std::system((script() + " " + cmd + " '" + dir_.string() + "'").c_str());
        if (rc != 0) throw std::runtime_error("postgres-server.sh " + cmd + " failed");
    }
    std::filesystem::path dir_;
    std::string conninfo_;
};

}  // namespace strata::pgtest
