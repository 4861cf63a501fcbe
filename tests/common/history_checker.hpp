#pragma once
// A history checker over a mixed concurrent workload, for any manager and
// checkpointer: writer threads set, set_many and erase, reader threads get,
// get_many, promote, demote and demote_idle, and one tool thread creates
// checkpoints and rolls back, for a bounded count. Every call is logged with
// tickets from one counter taken before it starts and after it returns;
// afterwards every read is checked against the writes of its key (each key
// has one writer, and rollbacks exclude writes, so a key's value-changing
// events form one sequence; the workload orders its own tickets around
// checkpoints and rollbacks the way the manager's write gate orders the
// calls, so that sequence is known): a read may return only a value some
// event between the last one finished before the read began and the last
// one begun before it ended put there, and one thread never reads a key's
// value older than one it read before. After the run every key must hold
// its last value, through the manager and in its two hottest tiers.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>  // size_t, ptrdiff_t
#include <cstdint>  // uint64_t
#include <cstdio>   // printf
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>  // shared_lock
#include <string>
#include <thread>
#include <vector>

#include "strata/core/where.hpp"
#include "strata/manager/detail/write_gate.hpp"

namespace strata::testing::history {

using Value = std::optional<std::string>;

// One value-changing event of a key: a write, an erase, or a rollback.
struct Change {
    std::uint64_t begun, ended;
    Value value;             // for a rollback: filled in by the checker
    std::string checkpoint;  // set for a rollback
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
    std::size_t operations = 0;     // calls into the manager and checkpointer
    std::size_t idle_demoted = 0;   // keys demote_idle moved
};

class Tickets {
public:
    std::uint64_t next() { return counter_.fetch_add(1, std::memory_order_seq_cst); }

private:
    std::atomic<std::uint64_t> counter_{1};
};

// The bounds: writers run writer_ops calls (more while the tool thread is
// still going, so its rounds overlap writes), readers up to reader_ops or
// until the writers are done.
struct Workload {
    int writers = 4, keys_per_writer = 6, writer_ops = 300, readers = 3, reader_ops = 400;
    int tool_rounds = 6;
    std::chrono::milliseconds tool_pause{5};
    std::chrono::milliseconds idle_age{1};  // demote_idle's age

    std::vector<std::string> keys() const {
        std::vector<std::string> all;
        for (int w = 0; w < writers; ++w)
            for (int k = 0; k < keys_per_writer; ++k) all.push_back(key_of(w, k));
        return all;
    }
    static std::string key_of(int writer, int k) { return "w" + std::to_string(writer) + ":k" + std::to_string(k); }
};

struct Figures {
    std::size_t operations = 0, reads_checked = 0, rollbacks = 0, captures = 0, idle_demoted = 0;
};

// Runs the workload over `mgr` and `ckpt` (which checkpoints it) and logs it.
template <class Manager, class Checkpointer>
void run(Manager& mgr, Checkpointer& ckpt, const Workload& w, Log& log) {
    Tickets tickets;
    // Writes share it and tools take it alone, as in the manager, but around
    // the tickets too, so a write's ticket interval never overlaps a tool's.
    strata::detail::WriteGate order;
    std::atomic<bool> tool_done{false};
    std::atomic<int> writers_done{0};
    std::vector<std::thread> threads;
    const auto all = w.keys();

    for (int wr = 0; wr < w.writers; ++wr)
        threads.emplace_back([&, wr] {
            std::mt19937 rng(static_cast<unsigned>(wr) + 1);
            std::map<std::string, std::vector<Change>> mine;
            auto some_key = [&] { return Workload::key_of(wr, static_cast<int>(rng() % w.keys_per_writer)); };
            int i = 1;
            for (; i <= w.writer_ops || (!tool_done && i <= 50 * w.writer_ops); ++i) {
                std::shared_lock shared(order);
                const int op = static_cast<int>(rng() % 10);
                if (op < 6) {  // one key
                    const auto key = some_key();
                    const auto value = std::to_string(i);
                    const auto t0 = tickets.next();
                    mgr.set(key, value);
                    mine[key].push_back({t0, tickets.next(), value, {}});
                } else if (op < 9) {  // a batch of three of its keys
                    std::map<std::string, std::string> kv;  // a key given twice is one write
                    for (int n = 0; n < 3; ++n) kv[some_key()] = std::to_string(i);
                    const auto t0 = tickets.next();
                    mgr.set_many(kv);
                    const auto t1 = tickets.next();
                    for (const auto& [k, v] : kv) mine[k].push_back({t0, t1, v, {}});
                } else {
                    const auto key = some_key();
                    const auto t0 = tickets.next();
                    mgr.erase(key);
                    mine[key].push_back({t0, tickets.next(), std::nullopt, {}});
                }
            }
            std::lock_guard lock(log.mutex);
            for (auto& [k, v] : mine) log.changes[k] = std::move(v);
            log.operations += static_cast<std::size_t>(i - 1);
            ++writers_done;
        });

    for (int r = 0; r < w.readers; ++r)
        threads.emplace_back([&, r] {
            std::mt19937 rng(static_cast<unsigned>(r) + 100);
            std::vector<Read> mine;
            std::size_t idle_demoted = 0;
            int i = 0;
            for (; i < w.reader_ops && writers_done < w.writers; ++i) {
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
                    idle_demoted += mgr.demote_idle(w.idle_age, strata::warm);
                }
            }
            std::lock_guard lock(log.mutex);
            log.reads.insert(log.reads.end(), mine.begin(), mine.end());
            log.operations += static_cast<std::size_t>(i);
            log.idle_demoted += idle_demoted;
        });

    threads.emplace_back([&] {
        std::vector<std::string> ids;
        std::size_t calls = 0;
        for (int round = 0; round < w.tool_rounds; ++round) {
            std::unique_lock alone(order);
            const auto t0 = tickets.next();
            const auto info = ckpt.create();
            const auto t1 = tickets.next();
            ++calls;
            ids.push_back(info.id);
            {
                std::lock_guard lock(log.mutex);
                log.captures.push_back({info.id, t0, t1});
            }
            alone.unlock();
            std::this_thread::sleep_for(w.tool_pause);
            if (round % 2 == 1) {  // back to the one before
                alone.lock();
                const auto& id = ids[ids.size() - 2];
                const auto r0 = tickets.next();
                ckpt.rollback(id);
                const auto r1 = tickets.next();
                ++calls;
                alone.unlock();
                std::lock_guard lock(log.mutex);
                log.rollbacks.push_back({r0, r1, std::nullopt, id});
            }
        }
        std::lock_guard lock(log.mutex);
        log.operations += calls;
        tool_done = true;
    });
    for (auto& t : threads) t.join();
}

namespace detail {

// Checks the reads of one key against its events and the key's final state;
// counts the reads checked and the failures (only the first few reported).
template <class Manager>
void check_key(Manager& mgr, const Log& log, const std::string& key, std::size_t& checked, std::size_t& failures) {
    // Each key's events in order: a writer's own, then the rollbacks, which
    // exclude writes (they hold the write gate), so no two events overlap.
    std::vector<Change> events;
    if (const auto it = log.changes.find(key); it != log.changes.end()) events = it->second;
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
    // A failure names the read and the events around it, so the race shows.
    auto describe = [&](const Read& r, std::size_t from, std::ptrdiff_t to) {
        std::string out = " (read at tickets " + std::to_string(r.begun) + "-" + std::to_string(r.ended) + "; events:";
        for (auto i = static_cast<std::ptrdiff_t>(from); i <= to; ++i) {
            const auto& e = events[static_cast<std::size_t>(i)];
            out += " #" + std::to_string(i) + (e.checkpoint.empty() ? " " : " rollback to ") +
                   e.value.value_or("(absent)") + " at " + std::to_string(e.begun) + "-" + std::to_string(e.ended);
        }
        return out + ")";
    };
    // Per reader thread, the event its reads have reached (-1: the initial
    // absence). A read is explained by the oldest event in its range with
    // its value that is not older than that: a rollback can put back a value
    // the key held before, so one value may fit two events, and a read that
    // took long (a get_many retrying other keys) may have seen the older one.
    std::map<int, std::ptrdiff_t> reached;
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
        const auto floor = reached.try_emplace(r.thread, -1).first->second;
        bool fits = low == -1 && !r.value;  // the initial absence
        std::optional<std::ptrdiff_t> explained;
        if (fits && floor == -1) explained = -1;
        for (auto i = std::max<std::ptrdiff_t>(low, 0); i <= high && !explained; ++i) {
            if (events[static_cast<std::size_t>(i)].value != r.value) continue;
            fits = true;
            if (i >= floor) explained = i;
        }
        if (!fits) {
            if (++failures <= 5)
                ADD_FAILURE() << key << ": thread " << r.thread << " read " << r.value.value_or("(absent)")
                              << ", which no write around the read explains"
                              << describe(r, static_cast<std::size_t>(std::max<std::ptrdiff_t>(low, 0)), high);
        } else if (!explained) {
            if (++failures <= 5)
                ADD_FAILURE() << key << ": thread " << r.thread << " read " << r.value.value_or("(absent)")
                              << " after a newer value, event #" << floor
                              << describe(r, static_cast<std::size_t>(std::max<std::ptrdiff_t>(low, 0)), high);
        } else {
            reached[r.thread] = *explained;
        }
    }
    // After the run the key holds its last value, in the hottest tier holding
    // it; the second tier (durable in both stacks) holds it if it exists.
    const Value last = events.empty() ? Value{} : events.back().value;
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get(key), last) << key;
    auto hot = mgr.template tier<0>().fetch(key);
    auto warm = mgr.template tier<1>().fetch(key);
    if (hot) {
        EXPECT_EQ(hot->value, last.value_or("(absent)")) << key;
    }
    EXPECT_EQ(warm.has_value(), last.has_value()) << key;
}

}  // namespace detail

// Checks every read of the run and every key's final state (gtest failures);
// returns the figures.
template <class Manager>
Figures check(Manager& mgr, const Log& log, const Workload& w) {
    std::size_t checked = 0, failures = 0;
    for (const auto& key : w.keys()) detail::check_key(mgr, log, key, checked, failures);
    EXPECT_EQ(failures, 0u);
    return {log.operations, checked, log.rollbacks.size(), log.captures.size(), log.idle_demoted};
}

// The figures, in the test's XML report and on the output.
inline void report(const Figures& f, const char* stack) {
    ::testing::Test::RecordProperty("operations", std::to_string(f.operations));
    ::testing::Test::RecordProperty("reads_checked", std::to_string(f.reads_checked));
    ::testing::Test::RecordProperty("idle_demoted", std::to_string(f.idle_demoted));
    std::printf("stress (%s): %zu operations, %zu reads checked against %zu rollbacks and %zu checkpoints; "
                "demote_idle moved %zu keys\n",
                stack, f.operations, f.reads_checked, f.rollbacks, f.captures, f.idle_demoted);
}

}  // namespace strata::testing::history
