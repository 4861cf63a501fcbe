// get_or_compute and get_many_or_compute over the real MemoryTier and
// FileTier: one computation per missing key however many callers, failures
// that reach every waiter and store nothing, and writes that win over a
// computation they overtook.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <stdexcept>
#include <strata/strata.hpp>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::testing::Switchable;
using strata::testing::TempDir;

namespace {

using Hot = Switchable<strata::MemoryTier>;
using Warm = Switchable<strata::FileTier>;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, Hot, Warm>;

// A computation that blocks until released, so a test controls when it ends
// and what happens meanwhile.
struct Gate {
    std::promise<void> opened;
    std::shared_future<void> open = opened.get_future().share();
    std::atomic<int> entered{0};
    void wait() {
        ++entered;
        open.wait();
    }
    void release() { opened.set_value(); }
};

class ComputeTest : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, Hot{strata::MemoryTier{}},
                Warm{strata::FileTier{dir.path}}};

    // Waits (bounded) until the gate's computation is running.
    static void until_entered(Gate& gate, int n = 1) {
        ASSERT_TRUE(strata::testing::eventually([&] { return gate.entered.load() >= n; }, 10s));
    }
};

TEST_F(ComputeTest, AHitReturnsTheStoredValueWithoutComputing) {
    mgr.set("k", "stored");
    int calls = 0;
    EXPECT_EQ(mgr.get_or_compute("k", [&] { ++calls; return std::string("computed"); }), "stored");
    mgr.cache().clear();  // a hit in the tiers, not only in the cache
    EXPECT_EQ(mgr.get_or_compute("k", [&] { ++calls; return std::string("computed"); }), "stored");
    EXPECT_EQ(calls, 0);
}

TEST_F(ComputeTest, AMissComputesOnceAndStoresLikeASet) {
    int calls = 0;
    auto fn = [&] { ++calls; return std::string("v1"); };
    EXPECT_EQ(mgr.get_or_compute("k", fn), "v1");
    EXPECT_EQ(mgr.get_or_compute("k", fn), "v1");
    EXPECT_EQ(calls, 1);
    // Stored through every tier a set reaches: the durable copy outlives the hot one.
    EXPECT_TRUE(mgr.tier<1>().fetch("k").has_value());
    EXPECT_EQ(mgr.get("k"), "v1");
}

TEST_F(ComputeTest, TheTtlIsHonouredSoAnExpiredValueIsComputedAgain) {
    int calls = 0;
    auto fn = [&] { return "v" + std::to_string(++calls); };
    EXPECT_EQ(mgr.get_or_compute("summary", fn, strata::SetOptions{.ttl = 50ms}), "v1");
    ASSERT_TRUE(strata::testing::eventually([&] { return !mgr.get("summary"); }, 10s));
    EXPECT_EQ(mgr.get_or_compute("summary", fn, strata::SetOptions{.ttl = 50ms}), "v2");
    EXPECT_EQ(calls, 2);
}

TEST_F(ComputeTest, ManyCallersOfOneMissingKeyShareOneComputation) {
    constexpr int threads = 16;
    Gate gate;
    std::atomic<int> calls{0};
    std::latch started(threads);
    std::vector<std::future<std::string>> got;
    for (int t = 0; t < threads; ++t)
        got.push_back(std::async(std::launch::async, [&] {
            started.count_down();
            return mgr.get_or_compute("hot-key", [&] {
                ++calls;
                gate.wait();
                return std::string("the value");
            });
        }));
    started.wait();
    until_entered(gate);
    std::this_thread::sleep_for(50ms);  // lets the others join; late ones find the value stored
    gate.release();
    for (auto& f : got) EXPECT_EQ(f.get(), "the value");
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(mgr.get("hot-key"), "the value");
}

TEST_F(ComputeTest, DistinctKeysComputeIndependently) {
    constexpr int keys = 8, rounds = 50;
    std::array<std::atomic<int>, keys> calls{};
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t)
        pool.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                const int k = (t + r) % keys;
                const auto v = mgr.get_or_compute("k" + std::to_string(k), [&] {
                    ++calls[k];
                    return "value-" + std::to_string(k);
                });
                EXPECT_EQ(v, "value-" + std::to_string(k));
            }
        });
    for (auto& th : pool) th.join();
    for (int k = 0; k < keys; ++k) EXPECT_EQ(calls[k].load(), 1) << "key k" << k;
}

TEST_F(ComputeTest, AnExceptionReachesEveryWaiterAndNothingIsStored) {
    Gate gate;
    std::atomic<int> calls{0};
    auto failing = [&] {
        ++calls;
        gate.wait();
        throw std::runtime_error("summary source down");
        return std::string();
    };
    auto leader = std::async(std::launch::async, [&] { return mgr.get_or_compute("k", failing); });
    until_entered(gate);
    std::vector<std::future<std::string>> waiters;
    for (int t = 0; t < 4; ++t)
        waiters.push_back(std::async(std::launch::async, [&] { return mgr.get_or_compute("k", failing); }));
    std::this_thread::sleep_for(50ms);
    gate.release();
    EXPECT_THROW(
        {
            try {
                leader.get();
            } catch (const std::runtime_error& e) {
                EXPECT_STREQ(e.what(), "summary source down");
                throw;
            }
        },
        std::runtime_error);
    for (auto& w : waiters) EXPECT_THROW(w.get(), std::runtime_error);
    EXPECT_FALSE(mgr.get("k").has_value());
    EXPECT_LE(calls.load(), 5);
    // Not cached as a failure either: the next caller computes.
    EXPECT_EQ(mgr.get_or_compute("k", [] { return std::string("recovered"); }), "recovered");
}

TEST_F(ComputeTest, AWaiterGivesUpAtItsDeadlineWithoutBreakingTheOthers) {
    Gate gate;
    auto slow = [&] {
        gate.wait();
        return std::string("slow value");
    };
    auto leader = std::async(std::launch::async, [&] { return mgr.get_or_compute("k", slow); });
    until_entered(gate);
    int impatient_calls = 0;
    try {
        mgr.get_or_compute("k", [&] { ++impatient_calls; return std::string("mine"); }, {},
                           strata::ComputeOptions{.wait = 20ms});
        ADD_FAILURE() << "the leader is blocked: the waiter must time out";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::timeout);
        EXPECT_NE(std::string(e.what()).find("'k'"), std::string::npos) << e.what();
    }
    EXPECT_EQ(impatient_calls, 0);
    auto patient = std::async(std::launch::async, [&] { return mgr.get_or_compute("k", slow); });
    gate.release();
    EXPECT_EQ(leader.get(), "slow value");
    EXPECT_EQ(patient.get(), "slow value");
    EXPECT_EQ(mgr.get("k"), "slow value");
}

TEST_F(ComputeTest, AWriteDuringTheComputationWinsOverItsOlderResult) {
    Gate gate;
    auto leader = std::async(std::launch::async, [&] {
        return mgr.get_or_compute("k", [&] {
            gate.wait();
            return std::string("computed from old data");
        });
    });
    until_entered(gate);
    mgr.set("k", "written meanwhile");
    gate.release();
    EXPECT_EQ(leader.get(), "written meanwhile");
    EXPECT_EQ(mgr.get("k"), "written meanwhile");
    mgr.cache().clear();
    EXPECT_EQ(mgr.get("k"), "written meanwhile");
}

TEST_F(ComputeTest, AnEraseDuringTheComputationKeepsTheKeyAbsent) {
    Gate gate;
    auto leader = std::async(std::launch::async, [&] {
        return mgr.get_or_compute("k", [&] {
            gate.wait();
            return std::string("computed");
        });
    });
    until_entered(gate);
    mgr.erase("k");
    gate.release();
    EXPECT_EQ(leader.get(), "computed");  // the caller still gets its answer
    EXPECT_FALSE(mgr.get("k").has_value());
}

TEST_F(ComputeTest, AComputationAskingForItsOwnKeyFailsInsteadOfWaitingForever) {
    try {
        mgr.get_or_compute("k", [&] { return mgr.get_or_compute("k", [] { return std::string("inner"); }); });
        ADD_FAILURE() << "expected an error";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("'k'"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(mgr.get("k").has_value());
    EXPECT_EQ(mgr.get_or_compute("k", [] { return std::string("fine"); }), "fine");
}

TEST_F(ComputeTest, ATierFailingTheStoreFailsTheCallersAndStoresNothing) {
    std::atomic<bool> refuse{true};
    mgr.tier<1>().switches().before = [&](std::string_view op) {
        if (refuse && op.starts_with("store")) throw strata::Error(strata::ErrorKind::unavailable, "file", std::string(op), "down");
    };
    int calls = 0;
    EXPECT_THROW(mgr.get_or_compute("k", [&] { ++calls; return std::string("v"); }), strata::Error);
    EXPECT_EQ(calls, 1);
    refuse = false;
    EXPECT_FALSE(mgr.get("k").has_value());
    EXPECT_EQ(mgr.get_or_compute("k", [&] { ++calls; return std::string("v2"); }), "v2");
    EXPECT_EQ(calls, 2);
}

TEST_F(ComputeTest, BadKeysFailBeforeAnythingIsComputed) {
    int calls = 0;
    auto fn = [&] { ++calls; return std::string("v"); };
    EXPECT_THROW(mgr.get_or_compute("", fn), std::invalid_argument);
    EXPECT_THROW(mgr.get_or_compute(std::string("a\0b", 3), fn), std::invalid_argument);
    EXPECT_EQ(calls, 0);
}

TEST_F(ComputeTest, TheBatchFormComputesOnlyTheMissingKeysInOneCall) {
    mgr.set("a", "stored a");
    std::vector<std::vector<std::string>> asked;
    auto fn = [&](std::span<const std::string> keys) {
        asked.emplace_back(keys.begin(), keys.end());
        std::vector<std::string> out;
        for (const auto& k : keys) out.push_back("computed " + k);
        return out;
    };
    const std::vector<std::string> keys{"c", "a", "b", "c"};
    const auto got = mgr.get_many_or_compute(keys, fn);
    EXPECT_EQ(got, (std::vector<std::string>{"computed c", "stored a", "computed b", "computed c"}));
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0], (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(mgr.get("b"), "computed b");
    EXPECT_EQ(mgr.get_many_or_compute(keys, fn), got);
    EXPECT_EQ(asked.size(), 1u);
}

TEST_F(ComputeTest, TheBatchFormRefusesAFunctionReturningTheWrongNumberOfValues) {
    try {
        mgr.get_many_or_compute(std::vector<std::string>{"x", "y"},
                                [](std::span<const std::string>) { return std::vector<std::string>{"only one"}; });
        ADD_FAILURE() << "expected an error";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("1 values for 2 keys"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(mgr.get("x").has_value());
    EXPECT_FALSE(mgr.get("y").has_value());
}

TEST_F(ComputeTest, TheBatchFormWaitsForKeysAnotherCallerIsComputing) {
    Gate gate;
    auto single = std::async(std::launch::async, [&] {
        return mgr.get_or_compute("shared", [&] {
            gate.wait();
            return std::string("from the single caller");
        });
    });
    until_entered(gate);
    std::vector<std::string> asked;
    auto batch = std::async(std::launch::async, [&] {
        return mgr.get_many_or_compute(std::vector<std::string>{"shared", "own"}, [&](std::span<const std::string> keys) {
            asked.assign(keys.begin(), keys.end());
            return std::vector<std::string>(keys.size(), "from the batch");
        });
    });
    std::this_thread::sleep_for(50ms);
    gate.release();
    EXPECT_EQ(single.get(), "from the single caller");
    const auto got = batch.get();
    EXPECT_EQ(got[0], "from the single caller");
    EXPECT_EQ(got[1], "from the batch");
    EXPECT_EQ(asked, (std::vector<std::string>{"own"}));
}

}  // namespace
