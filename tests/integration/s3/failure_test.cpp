// S3Tier when a real s3rver stops, restarts or freezes (SIGSTOP), between
// calls and in the middle of a batch. Each test owns a private server,
// stopped by PID when it ends, so the shared fixture server is never
// disturbed; every wait is bounded by the tier's timeouts and retries.

#include <gtest/gtest.h>
#include <signal.h>  // SIGSTOP, SIGCONT

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/failure.hpp"
#include "integration/s3/support.hpp"
#include "strata/tiers/s3.hpp"

namespace {

using namespace std::chrono_literals;
using strata::ErrorKind;
using strata::S3Tier;
using strata_test::s3::Server;

strata::Record record(std::string value) { return strata::make_record(std::move(value), 1); }

using strata::testing::failure_of;
using Resume = strata::testing::Resume<const Server>;

// Short timeouts and few retries, so each failure is quick to reach; the
// bound below is many times what they allow.
strata::S3Options quick(const Server& server) {
    auto o = server.options();
    o.timeout = 500ms;
    o.connect_timeout = 500ms;
    o.retries = {2, 20ms, 3s};
    return o;
}
constexpr auto hang_bound = 15s;

std::vector<strata::Entry> entries(int n) {
    std::vector<strata::Entry> out;
    for (int i = 0; i < n; ++i) out.push_back({"k" + std::to_string(i), record(std::string(2048, 'a' + i % 26))});
    return out;
}

std::vector<std::string> keys_of(const std::vector<strata::Entry>& es) {
    std::vector<std::string> out;
    for (const auto& e : es) out.push_back(e.key);
    return out;
}

TEST(S3Failure, StoppedServerIsUnavailableAndARestartIsReconnected) {
    Server server;
    S3Tier tier(quick(server));
    tier.store("k", record("before"));
    ASSERT_EQ(tier.fetch("k")->value, "before");

    server.stop();
    const auto [kind, took] = failure_of([&] { (void)tier.fetch("k"); });
    EXPECT_EQ(kind, ErrorKind::unavailable);
    EXPECT_LT(took, hang_bound);
    EXPECT_FALSE(tier.ping());

    server.start();  // same port, empty bucket
    EXPECT_TRUE(tier.ping());
    EXPECT_FALSE(tier.fetch("k"));
    tier.store("k", record("after"));
    EXPECT_EQ(tier.fetch("k")->value, "after");
}

// Pooled keep-alive connections to the old process are dead after a
// restart: the next batch must notice, connect afresh and succeed whole.
TEST(S3Failure, RestartWhileConnectionsSitIdleIsInvisible) {
    Server server;
    S3Tier tier(quick(server));
    const auto es = entries(40);
    tier.store_many(es);  // leaves up to 32 pooled connections
    server.stop();
    server.start();
    tier.store_many(es);
    const auto got = tier.fetch_many(keys_of(es));
    ASSERT_EQ(got.size(), es.size());
    for (std::size_t i = 0; i < es.size(); ++i) {
        ASSERT_TRUE(got[i]) << es[i].key;
        EXPECT_EQ(got[i]->value, es[i].record.value) << es[i].key;
    }
}

// A frozen server keeps its connections open and answers nothing: the
// request timeout ends the call with kind timeout, and once it resumes the
// tier works again.
TEST(S3Failure, FrozenServerTimesOutThenRecovers) {
    Server server;
    S3Tier tier(quick(server));
    tier.store("k", record("v"));
    server.signal(SIGSTOP);
    {
        Resume resume{server};
        const auto [kind, took] = failure_of([&] { (void)tier.fetch_many(std::vector<std::string>{"k", "x", "y"}); });
        EXPECT_EQ(kind, ErrorKind::timeout);
        EXPECT_LT(took, hang_bound);
        EXPECT_FALSE(tier.ping());
    }
    EXPECT_EQ(tier.fetch("k")->value, "v");
}

// The server dies while a batch of 1,000 is in flight: the batch throws in
// bounded time with a transient error rather than hang or report success,
// and after a restart the same batch goes through.
TEST(S3Failure, ServerKilledMidBatch) {
    Server server;
    auto o = quick(server);
    o.max_parallel = 4;  // keeps the batch running long enough to be cut
    S3Tier tier(o);
    const auto es = entries(1000);
    std::thread killer([&] {
        std::this_thread::sleep_for(150ms);
        server.stop();
    });
    bool failed = false;
    const auto start = std::chrono::steady_clock::now();
    try {
        tier.store_many(es);
    } catch (const strata::Error& e) {
        failed = true;
        EXPECT_TRUE(e.transient()) << e.what();
    }
    killer.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, hang_bound);
    EXPECT_TRUE(failed) << "1,000 stores finished within 150 ms: the server was never cut mid-batch";

    server.start();
    tier.store_many(es);
    EXPECT_EQ(tier.fetch_many(keys_of(es)).back()->value, es.back().record.value);
}

}  // namespace
