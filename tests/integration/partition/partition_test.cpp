// Network partitions between a manager and its servers (issue #12): while
// nftables rules drop the traffic of Redis, PostgreSQL or S3 on loopback,
// every call returns within its configured timeouts, reads are served from the
// other tiers where the manager can prove them as new, writes that cannot
// reach their durable tier throw, and once the rules go everything recovers
// with nothing acknowledged lost and no older copy served. The servers are the
// Redis, PostgreSQL and S3 suites' own (CTest fixtures).
//
// The first call into a cut-off tier runs on a pooled connection that was
// open before the cut, so its request sits in the kernel's send queue; the
// checks after the heal watch long enough for TCP to retransmit it, so a
// request the client gave up on must not reach the server late.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>  // pair
#include <vector>

#include "common/failure.hpp"
#include "integration/partition/partition.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "integration/s3/support.hpp"
#include "strata/tiers/stacks/redis_postgres_s3.hpp"

namespace {

namespace net = strata_test::partition;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// Short timeouts, so a partition costs each call little.
constexpr ms redis_connect{200}, redis_command{200};
constexpr ms pg_statement{500}, pg_grace{500}, pg_connect{1000};
constexpr ms s3_timeout{300}, s3_connect{300}, s3_retry_total{1000};

// The longest one call of each tier may take when its server is cut off,
// from its options: Redis connects then runs one command; PostgreSQL connects
// (libpq counts whole seconds, at least 2), sets the session up and runs one
// statement, each under statement_timeout + client_grace; S3 retries until
// max_total, and the last attempt may have begun just before it.
constexpr ms redis_call = redis_connect + redis_command;
constexpr ms pg_call = 2s + 2 * (pg_statement + pg_grace);
constexpr ms s3_call = s3_retry_total + s3_timeout;

// A manager call reaches a tier a few times at most (a read, then the
// follow-up that cleans or promotes; an S3 erase is a HEAD and a DELETE).
// The slack covers the tiers that answer: this bounds a promise, it does
// not measure speed.
constexpr int calls_per_tier = 3;
constexpr ms slack{2000};

enum Cut : unsigned { redis_cut = 1, pg_cut = 2, s3_cut = 4 };

constexpr ms bound(unsigned cut) {
    return slack + calls_per_tier * ((cut & redis_cut ? redis_call : 0ms) + (cut & pg_cut ? pg_call : 0ms) +
                                     (cut & s3_cut ? s3_call : 0ms));
}

int port_of(const std::string& text, const std::string& after) {
    return std::stoi(text.substr(text.rfind(after) + after.size()));
}

strata::RedisOptions redis_options() {
    auto o = strata_test::redis::options();
    o.connect_timeout = redis_connect;
    o.command_timeout = redis_command;
    return o;
}

strata::PostgresOptions pg_options() {
    auto o = strata::pgtest::options();
    o.statement_timeout = pg_statement;
    o.client_grace = pg_grace;
    o.connect_timeout = pg_connect;
    return o;
}

strata::S3Options s3_options() {
    auto o = strata_test::s3::options();
    o.timeout = s3_timeout;
    o.connect_timeout = s3_connect;
    o.retries = {.count = 1, .base_backoff = 50ms, .max_total = s3_retry_total};
    return o;
}

class Partitioned : public ::testing::Test {
protected:
    static constexpr std::size_t pg = 1, s3 = 2;  // tier indices, hottest first

    void SetUp() override {
        if (const auto why = net::unsupported(); !why.empty()) GTEST_SKIP() << "no partitions on this machine: " << why;
    }
    ~Partitioned() override { strata::pgtest::drop_table(pg_opts); }

    std::vector<int> ports(unsigned cut) const {
        std::vector<int> p;
        if (cut & redis_cut) p.push_back(redis_opts.port);
        if (cut & pg_cut) p.push_back(port_of(pg_opts.conninfo, "port="));
        if (cut & s3_cut) p.push_back(port_of(s3_opts.endpoint, ":"));
        return p;
    }

    // An acknowledged write, remembered with the durable tier it committed
    // in: PostgreSQL for writes into the hot tier, S3 for writes into S3.
    void put(const std::string& key, const std::string& value) {
        mgr.set(key, value);
        acked[key] = {value, pg};
    }
    void put_cold(const std::string& key, const std::string& value) {
        mgr.set(key, value, strata::cold);
        acked[key] = {value, s3};
    }

    // Runs `call` (a manager call during the partition) and checks it came
    // back within the bound its cut tiers' timeouts give.
    template <class F>
    auto timed(unsigned cut, F&& call) {
        const auto start = Steady::now();
        struct Check {
            Steady::time_point start;
            ms limit;
            ~Check() { EXPECT_LE(Steady::now() - start, limit) << "a call outlived the configured timeouts"; }
        } check{start, bound(cut)};
        return call();
    }

    // `call` must fail with a transient kind, within the bound.
    template <class F>
    void unreachable(unsigned cut, F&& call) {
        const auto [kind, took] = strata::testing::failure_of(call);
        EXPECT_TRUE(kind == strata::ErrorKind::unavailable || kind == strata::ErrorKind::timeout)
            << "kind " << static_cast<int>(kind);
        EXPECT_LE(took, bound(cut)) << "a failing call outlived the configured timeouts";
    }

    // After the heal: every tier answers again within a bounded number of tries.
    void recover() {
        for (int attempt = 0;; ++attempt) {
            if (mgr.tier<0>().ping() && mgr.tier<1>().ping() && mgr.tier<2>().ping()) return;
            ASSERT_LT(attempt, 50) << "a tier did not answer within 50 tries after the partition healed";
            std::this_thread::sleep_for(100ms);
        }
    }

    // Every acknowledged write is what the manager serves and what its
    // durable tier holds, again and again over `window`, long enough for TCP
    // to retransmit a request sent during the partition.
    void expect_settled(Steady::duration window) {
        const auto until = Steady::now() + window;
        do {
            mgr.invalidate_cache();
            for (const auto& [key, at] : acked) {
                ASSERT_EQ(mgr.get(key), at.first) << "key " << key;
                const auto durable = at.second == pg ? mgr.tier<pg>().fetch(key) : mgr.tier<s3>().fetch(key);
                ASSERT_TRUE(durable) << "key " << key << ": acknowledged, gone from its durable tier";
                ASSERT_EQ(durable->value, at.first) << "key " << key << " in its durable tier";
            }
            for (const auto& key : erased) ASSERT_FALSE(mgr.get(key)) << "erased key " << key;
            std::this_thread::sleep_for(250ms);
        } while (Steady::now() < until);
    }

    // The partition lasted `cut_for`: TCP's next retransmission of a request
    // sent at its start comes at most that long after the heal (its backoff
    // doubles), plus the smallest retransmission timeout.
    static Steady::duration retransmit_window(Steady::duration cut_for) { return cut_for + 1500ms; }

    strata::RedisOptions redis_opts = redis_options();
    strata::PostgresOptions pg_opts = pg_options();
    strata::S3Options s3_opts = s3_options();
    strata::RedisPostgresS3Manager mgr =
        strata::make_redis_postgres_s3_manager(redis_opts, pg_opts, s3_opts, {.promote_after = 1});
    std::map<std::string, std::pair<std::string, std::size_t>> acked;  // key: value, commit tier
    std::vector<std::string> erased;
};

TEST_F(Partitioned, RedisCutOffReadsFromPostgresAndS3AndWritesGoOn) {
    for (int i = 0; i < 6; ++i) put("k" + std::to_string(i), "before" + std::to_string(i));
    put_cold("cold", "c");
    const auto start = Steady::now();
    {
        net::Partition cut(ports(redis_cut));
        // First: a write whose Redis command goes out on the pooled connection
        // and is never answered. PostgreSQL took it: acknowledged.
        timed(redis_cut, [&] { put("k0", "during0"); });
        mgr.invalidate_cache();
        for (int i = 0; i < 6; ++i) {
            const auto key = "k" + std::to_string(i);
            EXPECT_EQ(timed(redis_cut, [&] { return mgr.get(key); }), acked[key].first) << key;
        }
        EXPECT_EQ(timed(redis_cut, [&] { return mgr.get("cold"); }), "c");
        const std::vector<std::string> keys{"k1", "k2", "cold", "absent"};
        const auto many = timed(redis_cut, [&] { return mgr.get_many(keys); });
        ASSERT_EQ(many.size(), 4u);
        EXPECT_EQ(many[0], "before1");
        EXPECT_EQ(many[2], "c");
        EXPECT_FALSE(many[3]);
        timed(redis_cut, [&] { put("k1", "during1"); });
        timed(redis_cut, [&] { put("fresh", "new"); });
        EXPECT_TRUE(timed(redis_cut, [&] { return mgr.erase("k5"); }));
        acked.erase("k5");
        erased.push_back("k5");
        mgr.invalidate_cache();
        EXPECT_EQ(timed(redis_cut, [&] { return mgr.get("k1"); }), "during1");
        EXPECT_FALSE(timed(redis_cut, [&] { return mgr.get("k5"); }));
        EXPECT_GT(mgr.health()[0].failures, 0u);
        EXPECT_GT(mgr.health()[0].stale_keys, 0u);  // Redis missed writes PostgreSQL took
    }
    const auto cut_for = Steady::now() - start;
    ASSERT_NO_FATAL_FAILURE(recover());
    // Written again at once, before TCP could retransmit anything.
    put("k0", "after0");
    put("k1", "after1");
    ASSERT_NO_FATAL_FAILURE(expect_settled(retransmit_window(cut_for)));
    // Promotions brought what was read back into Redis, newest copy only.
    mgr.invalidate_cache();
    for (const auto& [key, at] : acked) {
        if (const auto hot = mgr.tier<0>().fetch(key)) {
            EXPECT_EQ(hot->value, at.first) << key;
        }
    }
}

TEST_F(Partitioned, PostgresCutOffServesRedisAndRefusesWritesItCannotCommit) {
    for (int i = 0; i < 6; ++i) put("k" + std::to_string(i), "before" + std::to_string(i));
    put("warm", "w");
    ASSERT_TRUE(mgr.demote("warm", strata::warm));  // PostgreSQL's copy only
    put_cold("cold", "c");
    const auto start = Steady::now();
    {
        net::Partition cut(ports(pg_cut));
        // First: an erase whose DELETE goes out on the pooled connection and
        // is never answered. PostgreSQL answers for absence, so it throws.
        unreachable(pg_cut, [&] { mgr.erase("k5"); });
        mgr.invalidate_cache();
        for (int i = 0; i < 5; ++i) {
            const auto key = "k" + std::to_string(i);
            EXPECT_EQ(timed(pg_cut, [&] { return mgr.get(key); }), acked[key].first) << key;  // from Redis
        }
        // PostgreSQL may hold a newer copy than S3, or one S3 lacks: no answer.
        unreachable(pg_cut, [&] { mgr.get("warm"); });
        unreachable(pg_cut, [&] { mgr.get("cold"); });
        // Its commit tier is PostgreSQL: not acknowledged.
        unreachable(pg_cut, [&] { mgr.set("k1", "lost"); });
        // Into S3, durable itself: acknowledged, PostgreSQL's older copy marked.
        timed(pg_cut, [&] { put_cold("k2", "cold-during"); });
        EXPECT_EQ(timed(pg_cut, [&] { return mgr.get("k2"); }), "cold-during");
        EXPECT_GT(mgr.health()[pg].failures, 0u);
    }
    const auto cut_for = Steady::now() - start;
    ASSERT_NO_FATAL_FAILURE(recover());
    // The refused write and erase are done again, before TCP could retransmit them.
    put("k5", "after5");
    put("k1", "after1");
    ASSERT_NO_FATAL_FAILURE(expect_settled(retransmit_window(cut_for)));
}

TEST_F(Partitioned, S3CutOffServesHotKeysAndRefusesColdWrites) {
    for (int i = 0; i < 4; ++i) put("k" + std::to_string(i), "before" + std::to_string(i));
    for (int i = 0; i < 3; ++i) put_cold("c" + std::to_string(i), "cold" + std::to_string(i));
    const auto start = Steady::now();
    {
        net::Partition cut(ports(s3_cut));
        // First: a PUT on the pooled connection, never answered; S3 is its commit tier.
        unreachable(s3_cut, [&] { mgr.set("c0", "lost", strata::cold); });
        mgr.invalidate_cache();
        for (int i = 0; i < 4; ++i) {
            const auto key = "k" + std::to_string(i);
            EXPECT_EQ(timed(s3_cut, [&] { return mgr.get(key); }), acked[key].first) << key;
        }
        // S3 is durable: what it holds nobody else covers.
        unreachable(s3_cut, [&] { mgr.get("c1"); });
        unreachable(s3_cut, [&] { mgr.demote("k3", strata::cold); });
        EXPECT_EQ(timed(s3_cut, [&] { return mgr.get("k3"); }), "before3");  // still hot
        // Writes into the hot tiers are acknowledged, also over a cold key.
        timed(s3_cut, [&] { put("k1", "during1"); });
        timed(s3_cut, [&] { put("c2", "hot-during"); });
        EXPECT_EQ(timed(s3_cut, [&] { return mgr.get("c2"); }), "hot-during");
    }
    const auto cut_for = Steady::now() - start;
    ASSERT_NO_FATAL_FAILURE(recover());
    put_cold("c0", "after0");
    ASSERT_NO_FATAL_FAILURE(expect_settled(retransmit_window(cut_for)));
}

TEST_F(Partitioned, RedisAndS3CutOffTogetherLeavePostgresServing) {
    for (int i = 0; i < 4; ++i) put("k" + std::to_string(i), "before" + std::to_string(i));
    for (int i = 0; i < 2; ++i) put_cold("c" + std::to_string(i), "cold" + std::to_string(i));
    constexpr unsigned both = redis_cut | s3_cut;
    const auto start = Steady::now();
    {
        net::Partition cut(ports(both));
        timed(both, [&] { put("k0", "during0"); });                       // Redis's request left unanswered
        unreachable(both, [&] { mgr.set("c0", "lost", strata::cold); });  // and S3's
        mgr.invalidate_cache();
        for (int i = 0; i < 4; ++i) {
            const auto key = "k" + std::to_string(i);
            EXPECT_EQ(timed(both, [&] { return mgr.get(key); }), acked[key].first) << key;  // from PostgreSQL
        }
        unreachable(both, [&] { mgr.get("c1"); });
        timed(both, [&] { put("k1", "during1"); });
        timed(both, [&] { put("c1", "hot-during"); });
        mgr.invalidate_cache();
        EXPECT_EQ(timed(both, [&] { return mgr.get("c1"); }), "hot-during");
        EXPECT_GT(mgr.health()[0].failures, 0u);
        EXPECT_GT(mgr.health()[s3].failures, 0u);
    }
    const auto cut_for = Steady::now() - start;
    ASSERT_NO_FATAL_FAILURE(recover());
    put("k0", "after0");
    put_cold("c0", "after0");
    ASSERT_NO_FATAL_FAILURE(expect_settled(retransmit_window(cut_for)));
}

}  // namespace
