#pragma once
// The server the PostgreSQL benchmarks use: STRATA_PG_CONNINFO if set, else a
// private cluster from scripts/postgres-server.sh, stopped and deleted when
// this goes.

#include <cstdlib>  // getenv
#include <optional>
#include <string>

#include "integration/postgres/pg_env.hpp"

namespace strata::bench {

class PostgresServer {
public:
    PostgresServer() {
        if (const char* c = std::getenv("STRATA_PG_CONNINFO"); c && *c) {
            conninfo_ = c;
        } else {
            cluster_.emplace();
            conninfo_ = cluster_->conninfo();
        }
    }

    const std::string& conninfo() const noexcept { return conninfo_; }

private:
    std::optional<pgtest::PrivateCluster> cluster_;
    std::string conninfo_;
};

}  // namespace strata::bench
