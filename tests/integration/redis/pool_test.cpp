// The Redis connection pool when every connection is lent: waiting for one is
// bounded, and a long keys() scan does not keep other calls out.

#include <gtest/gtest.h>
#include <signal.h>  // SIGSTOP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/failure.hpp"
#include "integration/redis/support.hpp"
#include "strata/tiers/redis.hpp"

namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using strata::ErrorKind;
using strata::RedisTier;
using strata::testing::failure_of;
namespace rt = strata_test::redis;

strata::Record record(std::string value) { return strata::make_record(std::move(value), 1); }

TEST(RedisPool, WaitingForALentConnectionIsBounded) {
    strata::detail::redis::Settings s;
    s.host = "127.0.0.1";
    s.port = rt::shared_port();
    strata::detail::redis::Pool pool(s, "redis", 1, 300ms);
    std::optional<strata::detail::redis::Pool::Lease> held(pool.borrow("hold"));
    // Released long after the wait should have ended, so a wait without a
    // deadline shows up as a late success instead of hanging the test.
    std::thread releaser([&] {
        std::this_thread::sleep_for(3s);
        held.reset();
    });
    std::string message;
    auto [kind, took] = failure_of([&] {
        try {
            pool.borrow("fetch");
        } catch (const strata::Error& e) {
            message = e.what();
            throw;
        }
    });
    releaser.join();
    EXPECT_EQ(kind, ErrorKind::timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 1500ms);
    EXPECT_NE(message.find("redis fetch failed (timeout): pool exhausted"), std::string::npos) << message;
    EXPECT_NO_THROW(pool.borrow("fetch"));  // free again
}

// The tier's wait follows RedisOptions::pool_wait_timeout: a call behind one
// stuck on a frozen server fails after that wait, not after the stuck one.
TEST(RedisPool, TheTierWaitsForAConnectionAtMostPoolWaitTimeout) {
    rt::Server server;
    auto o = rt::options(server.port());
    o.pool_size = 1;
    o.command_timeout = 2s;
    o.pool_wait_timeout = 200ms;
    RedisTier tier(o);
    tier.store("k", record("v"));
    server.signal(SIGSTOP);
    strata::testing::Resume<rt::Server> resume{server};
    std::thread stuck([&] { EXPECT_THROW(tier.fetch("k"), strata::Error); });
    std::this_thread::sleep_for(200ms);  // the stuck fetch holds the only connection by now
    auto [kind, took] = failure_of([&] { tier.store("k", record("w")); });
    stuck.join();
    EXPECT_EQ(kind, ErrorKind::timeout);
    EXPECT_LT(took, 1s);
}

TEST(RedisPool, OtherCallsRunDuringALongKeysScan) {
    rt::Server server;  // its own, so the scan walks only this test's keys
    auto o = rt::options(server.port());
    constexpr int n = 40'000;
    {
        RedisTier writer(o);
        std::vector<strata::Entry> entries;
        entries.reserve(n);
        for (int i = 0; i < n; ++i) entries.push_back({"scan:" + std::to_string(i), record("v")});
        writer.store_many(entries);
    }
    o.pool_size = 1;
    o.scan_count = 1;  // one round trip per key or so: a scan far longer than the timeout
    o.command_timeout = 200ms;
    RedisTier tier(o);
    tier.store("k", record("v"));

    std::atomic<bool> scanning{true};
    Steady::duration scan_took{};
    std::size_t listed = 0;
    std::thread scanner([&] {
        const auto start = Steady::now();
        listed = tier.keys("scan:*").size();
        scan_took = Steady::now() - start;
        scanning = false;
    });
    Steady::duration slowest{};
    int fetches = 0;
    while (scanning) {
        const auto start = Steady::now();
        const auto got = tier.fetch("k");
        slowest = std::max(slowest, Steady::now() - start);
        ++fetches;
        EXPECT_TRUE(got && got->value == "v");
    }
    scanner.join();
    EXPECT_EQ(listed, static_cast<std::size_t>(n));
    ASSERT_GT(scan_took, 3 * o.command_timeout) << "the scan was too quick to show anything";
    // Each fetch waits for one SCAN page at most, never for the whole scan.
    EXPECT_LT(slowest, o.command_timeout);
    EXPECT_GT(fetches, 10);
}

}  // namespace
