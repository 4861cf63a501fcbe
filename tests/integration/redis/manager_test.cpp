// A StateManager over RedisTier (hot) and FileTier (warm, durable): what the
// manager promises when the hot tier dies, stalls or goes idle.

#include <gtest/gtest.h>
#include <signal.h>  // SIGSTOP, SIGCONT

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis/support.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/redis.hpp"
#include "common/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace rt = strata_test::redis;

// A temporary directory for the durable tier, removed afterwards.
using strata::testing::TempDir;

auto make_manager(const strata::RedisOptions& o, const fs::path& dir) {
    return strata::StateManager{strata::NoCache{}, strata::NeverPromote{}, strata::RedisTier{o}, strata::FileTier{dir}};
}

strata::RedisOptions quick(int port) {
    auto o = rt::options(port);
    o.connect_timeout = 300ms;
    o.command_timeout = 300ms;
    return o;
}

TEST(RedisManager, KillNineLosesNoAcknowledgedWrite) {
    rt::Server server;
    TempDir dir;
    auto mgr = make_manager(quick(server.port()), dir.path);
    for (int i = 0; i < 20; ++i) mgr.set("before:" + std::to_string(i), "v" + std::to_string(i));

    // A writer keeps going through the kill; every set that returned is acknowledged.
    std::mutex m;
    std::map<std::string, std::string> acknowledged;
    std::atomic<bool> stop{false};
    std::atomic<int> written{0}, refused{0};
    std::thread writer([&] {
        for (int i = 0; !stop && i < 5000; ++i) {
            const std::string key = "during:" + std::to_string(i), value = "w" + std::to_string(i);
            try {
                mgr.set(key, value);
                std::lock_guard lock(m);
                acknowledged[key] = value;
                ++written;
            } catch (const strata::Error&) {
                ++refused;
            }
        }
    });
    while (written < 50 && written + refused < 5000) std::this_thread::sleep_for(1ms);
    server.kill9();
    const int at_kill = written;
    while (written < at_kill + 50 && written + refused < 5000) std::this_thread::sleep_for(1ms);
    stop = true;
    writer.join();
    EXPECT_GE(written.load(), at_kill + 50) << "writes stopped landing once Redis died";

    // Reads fall back to the durable tier.
    for (int i = 0; i < 20; ++i) EXPECT_EQ(mgr.get("before:" + std::to_string(i)), "v" + std::to_string(i));
    std::vector<std::string> keys;
    for (const auto& [k, v] : acknowledged) keys.push_back(k);
    auto got = mgr.get_many(keys);
    for (std::size_t j = 0; j < keys.size(); ++j) EXPECT_EQ(got[j], acknowledged[keys[j]]) << keys[j];
    // Everything acknowledged is in the durable tier itself.
    auto durable = mgr.tier<1>().fetch_many(keys);
    for (std::size_t j = 0; j < keys.size(); ++j) {
        ASSERT_TRUE(durable[j]) << keys[j];
        EXPECT_EQ(durable[j]->value, acknowledged[keys[j]]);
    }
    EXPECT_GT(mgr.health()[0].failures, 0u);

    // Redis comes back empty; nothing is lost and new writes reach it again.
    server.start();
    got = mgr.get_many(keys);
    for (std::size_t j = 0; j < keys.size(); ++j) EXPECT_EQ(got[j], acknowledged[keys[j]]) << keys[j];
    mgr.set("after", "x");
    EXPECT_EQ(mgr.tier<0>().fetch("after")->value, "x");
    EXPECT_EQ(mgr.get("after"), "x");
}

TEST(RedisManager, StaleHotCopyIsNotServedAfterAStall) {
    rt::Server server;
    TempDir dir;
    auto mgr = make_manager(quick(server.port()), dir.path);
    mgr.set("k", "old");
    server.signal(SIGSTOP);
    try {
        mgr.set("k", "new");  // Redis times out; the durable tier takes it
    } catch (...) {
        server.signal(SIGCONT);
        throw;
    }
    server.signal(SIGCONT);
    // Redis still holds "old": the manager must not serve it.
    EXPECT_EQ(mgr.get("k"), "new");
    EXPECT_EQ(mgr.get_many(std::vector<std::string>{"k"})[0], "new");
}

TEST(RedisManager, DemoteIdleMovesOnlyIdleKeysToTheWarmTier) {
    TempDir dir;
    auto mgr = make_manager(rt::options(), dir.path);
    mgr.set("busy", "b");
    mgr.set("idle", "i");
    EXPECT_EQ(mgr.demote_idle(1h, strata::warm), 0u);
    std::this_thread::sleep_for(2100ms);  // OBJECT IDLETIME counts whole seconds
    ASSERT_EQ(mgr.get("busy"), "b");      // a read through Redis keeps it hot
    EXPECT_EQ(mgr.demote_idle(2s, strata::warm), 1u);
    auto& redis = mgr.tier<strata::RedisTier>();
    auto& file = mgr.tier<strata::FileTier>();
    EXPECT_FALSE(redis.fetch("idle"));
    EXPECT_EQ(file.fetch("idle")->value, "i");
    EXPECT_TRUE(redis.fetch("busy"));
    EXPECT_EQ(mgr.get("idle"), "i");
    EXPECT_EQ(mgr.keys("*"), (std::vector<std::string>{"busy", "idle"}));
}

TEST(RedisManager, GetManyIsOneRedisCallForAllKeys) {
    rt::Server server;  // private: its command counters see only this test
    TempDir dir;
    auto mgr = make_manager(rt::options(server.port()), dir.path);
    std::vector<std::pair<std::string, std::string>> pairs;
    std::vector<std::string> keys;
    for (int i = 0; i < 200; ++i) {
        keys.push_back("k" + std::to_string(i));
        pairs.emplace_back(keys.back(), "v" + std::to_string(i));
    }
    mgr.set_many(pairs);
    // Half only in the warm tier: get_many finds them through its second batch.
    std::vector<std::string> half(keys.begin(), keys.begin() + 100);
    EXPECT_EQ(mgr.tier<0>().erase_many(half), 100u);
    keys.push_back("absent");
    rt::Raw raw(server.port());
    raw({"CONFIG", "RESETSTAT"});
    const auto got = mgr.get_many(keys);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i], "v" + std::to_string(i));
    EXPECT_FALSE(got.back());
    const std::string stats(strata::detail::redis::text(*raw({"INFO", "commandstats"})));
    EXPECT_NE(stats.find("cmdstat_mget:calls=1,"), std::string::npos) << stats;
    EXPECT_EQ(stats.find("cmdstat_get:"), std::string::npos) << stats;
}

}  // namespace
