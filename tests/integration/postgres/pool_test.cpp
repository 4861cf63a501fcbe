// The PostgreSQL connection pool when every connection is lent: waiting for
// one is bounded, and ends in a timeout that says the pool was exhausted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/failure.hpp"
#include "integration/postgres/pg_env.hpp"

namespace strata {
namespace {

using namespace std::chrono_literals;
using strata::testing::failure_of;

TEST(PostgresPool, WaitingForALentConnectionIsBounded) {
    detail::postgres::PoolSettings s;
    s.tier_name = "postgres";
    s.conninfo = pgtest::shared_conninfo();
    s.size = 1;
    s.acquire_timeout = 300ms;
    detail::postgres::Pool pool(s);
    std::atomic<bool> lent{false}, release{false};
    // Holds the only connection far longer than the wait may last.
    std::thread holder([&] {
        pool.run("hold", [&](detail::postgres::Connection&) {
            lent = true;
            for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(10ms);
        });
    });
    while (!lent) std::this_thread::sleep_for(1ms);
    std::string message;
    auto [kind, took] = failure_of([&] {
        try {
            pool.run("fetch", [](detail::postgres::Connection&) {});
        } catch (const Error& e) {
            message = e.what();
            throw;
        }
    });
    release = true;
    holder.join();
    EXPECT_EQ(kind, ErrorKind::timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 1500ms);
    EXPECT_NE(message.find("pool exhausted"), std::string::npos) << message;
    EXPECT_NO_THROW(pool.run("fetch", [](detail::postgres::Connection&) {}));  // free again
}

}  // namespace
}  // namespace strata
