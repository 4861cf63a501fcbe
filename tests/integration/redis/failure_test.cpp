// RedisTier when its server restarts, stops answering or is unreachable.
// Each test owns a private redis-server (stopped by PID when it ends), so the
// shared fixture server is never disturbed.

#include <arpa/inet.h>  // htonl
#include <gtest/gtest.h>
#include <netinet/in.h>  // sockaddr_in
#include <signal.h>      // SIGSTOP, SIGCONT
#include <sys/socket.h>
#include <unistd.h>  // close

#include <chrono>
#include <string>
#include <vector>

#include "common/failure.hpp"
#include "integration/redis/support.hpp"
#include "strata/tiers/redis.hpp"

namespace {

using namespace std::chrono_literals;
using strata::Clock;
using strata::ErrorKind;
using strata::RedisTier;
namespace rt = strata_test::redis;

strata::Record record(std::string value) { return strata::make_record(std::move(value), 1); }

using strata::testing::failure_of;
using Resume = strata::testing::Resume<rt::Server>;

// Generous bound for "does not hang": many times the configured timeout.
constexpr auto hang_bound = 10s;

TEST(RedisFailure, RestartBetweenCallsReconnects) {
    rt::Server server;
    auto o = rt::options(server.port());
    o.pool_size = 2;
    RedisTier tier(o);
    tier.store("k", record("before"));
    ASSERT_EQ(tier.fetch("k")->value, "before");

    server.stop();
    auto [kind, took] = failure_of([&] { tier.fetch("k"); });
    EXPECT_EQ(kind, ErrorKind::unavailable);
    EXPECT_LT(took, hang_bound);
    EXPECT_FALSE(tier.ping());

    server.start();  // same port, empty (no persistence)
    EXPECT_FALSE(tier.fetch("k"));
    tier.store("k", record("after"));
    EXPECT_EQ(tier.fetch("k")->value, "after");
}

TEST(RedisFailure, RestartWhileConnectionsSitIdleIsInvisible) {
    rt::Server server;
    RedisTier tier(rt::options(server.port()));
    tier.store("k", record("v"));  // leaves a pooled connection to the old process
    server.stop();
    server.start();
    // The pooled connection was closed by the old server: the first call
    // after the restart notices that, connects afresh and succeeds.
    EXPECT_NO_THROW(tier.store("k", record("new")));
    EXPECT_EQ(tier.fetch("k")->value, "new");
}

TEST(RedisFailure, StoppedServerTimesOutThenRecovers) {
    rt::Server server;
    auto o = rt::options(server.port());
    o.command_timeout = 300ms;
    o.connect_timeout = 300ms;
    RedisTier tier(o);
    tier.store("k", record("v"));

    server.signal(SIGSTOP);
    {
        Resume resume{server};
        auto [fetch_kind, fetch_took] = failure_of([&] { tier.fetch("k"); });
        EXPECT_EQ(fetch_kind, ErrorKind::timeout);
        EXPECT_LT(fetch_took, hang_bound);
        const std::vector<strata::Entry> batch{{"a", record("1")}, {"b", record("2")}};
        auto [store_kind, store_took] = failure_of([&] { tier.store_many(batch); });
        EXPECT_EQ(store_kind, ErrorKind::timeout);
        EXPECT_LT(store_took, hang_bound);
        auto [keys_kind, keys_took] = failure_of([&] { tier.keys("*"); });
        EXPECT_EQ(keys_kind, ErrorKind::timeout);
        EXPECT_LT(keys_took, hang_bound);
        // A fresh connection is accepted by the kernel but never answered.
        RedisTier fresh(o);
        auto [fresh_kind, fresh_took] = failure_of([&] { fresh.fetch("k"); });
        EXPECT_EQ(fresh_kind, ErrorKind::timeout);
        EXPECT_LT(fresh_took, hang_bound);
        EXPECT_FALSE(tier.ping());
    }

    // After SIGCONT the broken connections are gone and new ones work.
    EXPECT_TRUE(tier.ping());
    EXPECT_EQ(tier.fetch("k")->value, "v");
    // The pipeline reached the stopped server's socket, but the tier gave up
    // on it and aborted the connection, so the server may never read it: a
    // timed-out write may or may not have applied, and MSET applies whole.
    const auto a = tier.fetch("a"), b = tier.fetch("b");
    EXPECT_EQ(a.has_value(), b.has_value());
    if (a && b) {
        EXPECT_EQ(a->value, "1");
        EXPECT_EQ(b->value, "2");
    }
}

TEST(RedisFailure, KilledServerIsUnavailableUntilRestarted) {
    rt::Server server;
    RedisTier tier(rt::options(server.port()));
    tier.store("k", record("v"));
    server.kill9();
    auto [kind, took] = failure_of([&] { tier.store("k", record("w")); });
    EXPECT_EQ(kind, ErrorKind::unavailable);
    EXPECT_LT(took, hang_bound);
    server.start();
    tier.store("k", record("w"));
    EXPECT_EQ(tier.fetch("k")->value, "w");
}

// A listener whose accept queue is full: the kernel drops further SYNs, so a
// connect neither succeeds nor fails. Only a socket shows this; no server
// state does.
class FullListener {
public:
    FullListener() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listener_, 0) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("cannot set up a listener");
        port_ = ntohs(addr.sin_port);
        // Fill the queue (backlog 0 holds one) with connections never accepted.
        for (int i = 0; i < 2; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
            fillers_.push_back(fd);
        }
        usleep(100'000);
    }
    FullListener(const FullListener&) = delete;
    FullListener& operator=(const FullListener&) = delete;
    ~FullListener() {
        for (int fd : fillers_) ::close(fd);
        ::close(listener_);
    }
    int port() const noexcept { return port_; }

private:
    int listener_ = -1;
    int port_ = 0;
    std::vector<int> fillers_;
};

TEST(RedisFailure, ConnectTimeoutFiresWithinBound) {
    FullListener listener;
    auto o = rt::options(listener.port());
    o.connect_timeout = 300ms;
    o.command_timeout = 300ms;
    RedisTier tier(o);
    auto [kind, took] = failure_of([&] { tier.fetch("k"); });
    EXPECT_EQ(kind, ErrorKind::timeout);
    EXPECT_LT(took, hang_bound);
    EXPECT_FALSE(tier.ping());
}

TEST(RedisFailure, PasswordAndAclUserAreSentAndNeverReported) {
    rt::Server server;
    rt::Raw admin(server.port());
    ASSERT_EQ(strata::detail::redis::text(*admin({"ACL", "SETUSER", "alice", "on", ">s3cret-alice", "~*", "+@all"})),
              "OK");
    ASSERT_EQ(strata::detail::redis::text(*admin({"CONFIG", "SET", "requirepass", "s3cret-default"})), "OK");

    auto o = rt::options(server.port());
    o.password = "s3cret-default";
    RedisTier by_password(o);
    by_password.store("k", record("v"));

    o.username = "alice";
    o.password = "s3cret-alice";
    EXPECT_EQ(RedisTier(o).fetch("k")->value, "v");

    o.password = "wrong-password";
    try {
        RedisTier(o).fetch("k");
        FAIL() << "a wrong password was accepted";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::rejected);
        EXPECT_EQ(std::string(e.what()).find("wrong-password"), std::string::npos);
    }
    o.username.clear();
    o.password.clear();
    auto [kind, took] = failure_of([&] { RedisTier(o).fetch("k"); });
    EXPECT_EQ(kind, ErrorKind::rejected);  // NOAUTH
    (void)took;
}

// Error replies by their code: only authentication, ACL permission and the
// memory limit are refusals; a server busy or loading passes; anything else
// is a request the server will not take.
TEST(RedisErrors, RepliesMapToWhatAProgramCanActOn) {
    using strata::detail::redis::classify_error_reply;
    for (const char* m : {"NOAUTH Authentication required.", "WRONGPASS invalid username-password pair",
                          "NOPERM this user has no permissions to run the 'mset' command",
                          "OOM command not allowed when used memory > 'maxmemory'.", "ERR invalid password"})
        EXPECT_EQ(classify_error_reply(m), ErrorKind::rejected) << m;
    for (const char* m : {"LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script",
                          "MASTERDOWN Link with MASTER is down", "READONLY You can't write against a read only replica.",
                          "MISCONF Redis is configured to save RDB snapshots", "ERR max number of clients reached"})
        EXPECT_EQ(classify_error_reply(m), ErrorKind::unavailable) << m;
    for (const char* m : {"WRONGTYPE Operation against a key holding the wrong kind of value", "ERR unknown command 'X'",
                          "ERR syntax error", "BUSYKEY Target key name already exists.", "NOSCRIPT No matching script"})
        EXPECT_EQ(classify_error_reply(m), ErrorKind::invalid) << m;
}

// The same on a live server: its memory limit and an ACL refuse the tier's
// writes (rejected); a key of another type is a broken contract (invalid).
TEST(RedisErrors, ServerRefusalsAndBrokenContracts) {
    rt::Server server;
    rt::Raw admin(server.port());
    ASSERT_EQ(strata::detail::redis::text(*admin({"ACL", "SETUSER", "reader", "on", ">pw", "~*", "+@read", "+auth"})),
              "OK");
    auto o = rt::options(server.port());
    o.username = "reader";
    o.password = "pw";
    RedisTier reader(o);
    EXPECT_FALSE(reader.fetch("k"));
    EXPECT_EQ(failure_of([&] { reader.store("k", record("v")); }).first, ErrorKind::rejected);  // NOPERM

    admin({"RPUSH", "list", "x"});
    const auto reply = admin({"GET", "list"});
    EXPECT_EQ(failure_of([&] { strata::detail::redis::check(*reply, "redis", "fetch"); }).first, ErrorKind::invalid);

    RedisTier tier(rt::options(server.port()));
    tier.store("before", record("v"));
    ASSERT_EQ(strata::detail::redis::text(*admin({"CONFIG", "SET", "maxmemory-policy", "noeviction"})), "OK");
    ASSERT_EQ(strata::detail::redis::text(*admin({"CONFIG", "SET", "maxmemory", "1"})), "OK");
    const auto [kind, took] = failure_of([&] { tier.store("k", record(std::string(4096, 'v'))); });
    EXPECT_EQ(kind, ErrorKind::rejected);  // OOM: over the configured limit
    EXPECT_FALSE(strata::Error(kind, "redis", "store", "").transient());
    (void)took;
    EXPECT_EQ(tier.fetch("before")->value, "v");  // reads still work
}

}  // namespace
