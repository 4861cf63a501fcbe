#pragma once
// The server the PostgreSQL benchmarks use: STRATA_PG_CONNINFO if set, else a
// private cluster from scripts/postgres-server.sh, stopped and deleted when
// this goes.

#include <stdlib.h>  // setenv, unsetenv

#include <cstdlib>  // getenv
#include <optional>
#include <string>

#include "integration/postgres/pg_env.hpp"

namespace strata::bench {

class PostgresServer {
public:
    // `durable`: a private cluster keeps PostgreSQL's defaults (every commit
    // flushed to disk, as production runs it) instead of the tests' settings.
    explicit PostgresServer(bool durable = false) {
        if (const char* c = std::getenv("STRATA_PG_CONNINFO"); c && *c) {
            conninfo_ = c;
        } else {
            if (durable) setenv("STRATA_PG_DURABLE", "1", 1);  // read by scripts/postgres-server.sh
            cluster_.emplace();
            unsetenv("STRATA_PG_DURABLE");
            conninfo_ = cluster_->conninfo();
        }
    }

    const std::string& conninfo() const noexcept { return conninfo_; }

private:
    std::optional<pgtest::PrivateCluster> cluster_;
    std::string conninfo_;
};

}  // namespace strata::bench
