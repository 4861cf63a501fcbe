// A history checker over a mixed concurrent workload: 8 threads set,
// set_many, erase, get, get_many, promote, demote, demote_idle, create
// checkpoints and roll back, over MemoryTier + FileTier, for a bounded count.
// Every call is logged with tickets from one counter taken before it starts
// and after it returns; afterwards every read is checked against the writes
// of its key (each key has one writer, and rollbacks exclude writes, so a
// key's value-changing events form one sequence; the test orders its own
// tickets around checkpoints and rollbacks the way the manager's write gate
// orders the calls, so that sequence is known): a read may return only a
// value some event between the last one finished before the read began and
// the last one begun before it ended put there, and one thread never reads
// a key's value older than one it read before. Built into the unit tests, so
// it also runs under the address, undefined and thread sanitizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>  // shared_lock
#include <optional>
#include <random>
#include <strata/checkpoint/checkpointer.hpp>
#include <strata/checkpoint/directory_store.hpp>
#include <strata/strata.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/temp_dir.hpp"
#include "strata/manager/detail/write_gate.hpp"

using namespace std::chrono_literals;

namespace {

using Value = std::optional<std::string>;

// One value-changing event of a key: a write, an erase, or a rollback.
struct Change {
    std::uint64_t begun, ended;
    Value value;              // for a rollback: filled in by the checker
    std::string checkpoint;   // set for a rollback
};

struct Read {
    std::string key;
    std::uint64_t begun, ended;
    Value value;
    int thread;
};

struct Capture {
    std::string id;
    std::uint64_t begun, ended;
};

struct Log {
    std::mutex mutex;
    std::map<std::string, std::vector<Change>> changes;  // per key
    std::vector<Read> reads;
    std::vector<Capture> captures;
    std::vector<Change> rollbacks;  // applied to every key
};

class Tickets {
public:
    std::uint64_t next() { return counter_.fetch_add(1, std::memory_order_seq_cst); }

private:
    std::atomic<std::uint64_t> counter_{1};
};

std::string key_of(int writer, int k) { return "w" + std::to_string(writer) + ":k" + std::to_string(k); }

}  // namespace

TEST(Stress, EveryReadIsExplainedByTheWritesAroundIt) {
    strata::testing::TempDir dir;
    strata::StateManager mgr{strata::LruCache{32}, strata::AlwaysPromote{}, strata::MemoryTier{},
                             strata::FileTier{dir.path / "tier", {.fsync = false}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "ckpt", {.fsync = false}}};

    constexpr int writers = 4, keys_per_writer = 6, writer_ops = 300, readers = 3, reader_ops = 400;
    constexpr int tool_rounds = 6;
    Tickets tickets;
    Log log;
    // Writes share it and tools take it alone, as in the manager, but around
    // the tickets too, so a write's ticket interval never overlaps a tool's.
    strata::detail::WriteGate order;
    std::atomic<bool> tool_done{false};
    std::atomic<int> writers_done{0};
    std::vector<std::thread> threads;

    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            std::mt19937 rng(static_cast<unsigned>(w) + 1);
            std::map<std::string, std::vector<Change>> mine;
            for (int i = 1; i <= writer_ops || (!tool_done && i <= 50 * writer_ops); ++i) {
                std::shared_lock shared(order);
                const int op = static_cast<int>(rng() % 10);
                if (op < 6) {  // one key
                    const auto key = key_of(w, static_cast<int>(rng() % keys_per_writer));
                    const auto value = std::to_string(i);
                    const auto t0 = tickets.next();
                    mgr.set(key, value);
                    mine[key].push_back({t0, tickets.next(), value, {}});
                } else if (op < 9) {  // a batch of three of its keys
                    std::map<std::string, std::string> kv;  // a key given twice is one write
                    for (int n = 0; n < 3; ++n) kv[key_of(w, static_cast<int>(rng() % keys_per_writer))] = std::to_string(i);
                    const auto t0 = tickets.next();
                    mgr.set_many(kv);
                    const auto t1 = tickets.next();
                    for (const auto& [k, v] : kv) mine[k].push_back({t0, t1, v, {}});
                } else {
                    const auto key = key_of(w, static_cast<int>(rng() % keys_per_writer));
                    const auto t0 = tickets.next();
                    mgr.erase(key);
                    mine[key].push_back({t0, tickets.next(), std::nullopt, {}});
                }
            }
            std::lock_guard lock(log.mutex);
            for (auto& [k, v] : mine) log.changes[k] = std::move(v);
            ++writers_done;
        });

    std::vector<std::string> all;
    for (int w = 0; w < writers; ++w)
        for (int k = 0; k < keys_per_writer; ++k) all.push_back(key_of(w, k));

    for (int r = 0; r < readers; ++r)
        threads.emplace_back([&, r] {
            std::mt19937 rng(static_cast<unsigned>(r) + 100);
            std::vector<Read> mine;
            for (int i = 0; i < reader_ops && writers_done < writers; ++i) {
                const int op = static_cast<int>(rng() % 10);
                const auto& key = all[rng() % all.size()];
                if (op < 4) {
                    const auto t0 = tickets.next();
                    auto v = mgr.get(key);
                    mine.push_back({key, t0, tickets.next(), std::move(v), r});
                } else if (op < 7) {
                    std::vector<std::string> some;
                    for (int n = 0; n < 5; ++n) some.push_back(all[rng() % all.size()]);
                    const auto t0 = tickets.next();
                    auto got = mgr.get_many(some);
                    const auto t1 = tickets.next();
                    for (std::size_t n = 0; n < some.size(); ++n) mine.push_back({some[n], t0, t1, std::move(got[n]), r});
                } else if (op == 7) {
                    mgr.promote(key);
                } else if (op == 8) {
                    mgr.demote(key, strata::warm);
                } else {
                    mgr.demote_idle(1ms, strata::warm);
                }
            }
            std::lock_guard lock(log.mutex);
            log.reads.insert(log.reads.end(), mine.begin(), mine.end());
        });

    threads.emplace_back([&] {
        std::vector<std::string> ids;
        for (int round = 0; round < tool_rounds; ++round) {
            std::unique_lock alone(order);
            const auto t0 = tickets.next();
            const auto info = ckpt.create();
            const auto t1 = tickets.next();
            ids.push_back(info.id);
            {
                std::lock_guard lock(log.mutex);
                log.captures.push_back({info.id, t0, t1});
            }
            alone.unlock();
            std::this_thread::sleep_for(5ms);
            if (round % 2 == 1) {  // back to the one before
                alone.lock();
                const auto& id = ids[ids.size() - 2];
                const auto r0 = tickets.next();
                ckpt.rollback(id);
                const auto r1 = tickets.next();
                alone.unlock();
                std::lock_guard lock(log.mutex);
                log.rollbacks.push_back({r0, r1, std::nullopt, id});
            }
        }
        tool_done = true;
    });
    for (auto& t : threads) t.join();

    // Each key's events in order: a writer's own, then the rollbacks, which
    // exclude writes (they hold the write gate), so no two events overlap.
    std::size_t checked = 0, failures = 0;
    for (const auto& key : all) {
        auto events = log.changes[key];
        for (const auto& rb : log.rollbacks) events.push_back(rb);
        std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.begun < b.begun; });
        for (std::size_t i = 1; i < events.size(); ++i)
            ASSERT_LT(events[i - 1].ended, events[i].begun) << key << ": two value-changing events overlap";
        // A rollback restores what the key held when its checkpoint was captured.
        auto value_before = [&](std::uint64_t ticket, std::size_t upto) -> Value {
            Value v;
            for (std::size_t i = 0; i < upto && events[i].ended < ticket; ++i) v = events[i].value;
            return v;
        };
        for (std::size_t i = 0; i < events.size(); ++i) {
            if (events[i].checkpoint.empty()) continue;
            const auto c = std::find_if(log.captures.begin(), log.captures.end(),
                                        [&](const auto& cap) { return cap.id == events[i].checkpoint; });
            ASSERT_NE(c, log.captures.end());
            events[i].value = value_before(c->begun, i);
        }
        std::map<int, std::size_t> last_seen;  // per reader thread: the newest event index it read
        for (const auto& r : log.reads) {
            if (r.key != key) continue;
            ++checked;
            // Events in [low, high]: `low` the last one finished before the
            // read began (-1: none), `high` the last one begun before it ended.
            std::ptrdiff_t low = -1, high = -1;
            for (std::size_t i = 0; i < events.size(); ++i) {
                if (events[i].ended < r.begun) low = static_cast<std::ptrdiff_t>(i);
                if (events[i].begun < r.ended) high = static_cast<std::ptrdiff_t>(i);
            }
            std::optional<std::size_t> explained;  // the newest event in range with this value
            for (auto i = std::max<std::ptrdiff_t>(low, 0); i <= high; ++i)
                if (events[static_cast<std::size_t>(i)].value == r.value) explained = static_cast<std::size_t>(i);
            const bool initial_absent = low == -1 && !r.value;
            if (!explained && !initial_absent) {
                if (++failures <= 5)
                    ADD_FAILURE() << key << ": thread " << r.thread << " read " << r.value.value_or("(absent)")
                                  << ", which no write around the read explains";
                continue;
            }
            const std::size_t index = explained.value_or(0);
            auto [it, fresh] = last_seen.emplace(r.thread, index);
            if (!fresh) {
                if (index < it->second && ++failures <= 5)
                    ADD_FAILURE() << key << ": thread " << r.thread << " read " << r.value.value_or("(absent)")
                                  << " after a newer value";
                it->second = std::max(it->second, index);
            }
        }
        // After the run the key holds its last value, in the hottest tier holding it.
        const Value last = events.empty() ? Value{} : events.back().value;
        mgr.invalidate_cache();
        EXPECT_EQ(mgr.get(key), last) << key;
        auto hot = mgr.tier<0>().fetch(key);
        auto warm = mgr.tier<1>().fetch(key);
        if (hot) {
            EXPECT_EQ(hot->value, last.value_or("(absent)")) << key;
        }
        EXPECT_EQ(warm.has_value(), last.has_value()) << key;
    }
    EXPECT_EQ(failures, 0u);
    EXPECT_GT(checked, 1000u);
    EXPECT_FALSE(log.rollbacks.empty());
    std::printf("stress: %zu reads checked against %zu rollbacks and %zu checkpoints\n", checked,
                log.rollbacks.size(), log.captures.size());
}
