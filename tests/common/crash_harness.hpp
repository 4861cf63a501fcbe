#pragma once
// kill -9 crash tests. A worker process writes through a manager (set,
// set_many, erase), creates checkpoints, rolls back and removes them, and
// reports each step to the parent through a pipe: a line when a call begins,
// "ack" once it returned. The parent kills it at random moments, then a
// verify process opens the tiers afresh and reports what each tier holds,
// what the manager serves and which checkpoints are listed and verify. The
// parent checks that against what was acknowledged: every acknowledged step
// is there; the one call in flight at the kill left each key at a state its
// steps pass through (a write goes to the durable tier first, then hotter
// ones; an erase hottest first; a rollback, which is not atomic across a
// crash but can be run again, tier by tier, a tier refusing older versions
// erasing a newer copy before it stores the captured one:
// detail/restore.hpp); no record is torn; a
// checkpoint is listed only whole, and every listed one verifies. Then the
// next worker carries on from the state found.
//
// Both children are this test binary again, fork + exec of /proc/self/exe
// with --gtest_filter=<child test>; the environment tells the child test its
// role (it skips without one), the pipe's fd and its seed.
//
// A World (one per configuration) is default-constructible from the
// environment and has: `mgr`, `ckpt`, `CheckpointInfo checkpoint(CaptureOptions)`,
// `each_tier(f)` calling f(tier, index) for every tier that outlives the
// process, hottest first, and `problems()`: what else a fresh open found wrong.

#include <fcntl.h>  // O_CLOEXEC
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>  // getenv
#include <functional>
#include <cstring>  // strerror
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/checkpoint/checkpointer.hpp"
#include "strata/core/key.hpp"  // erase_reserved_keys

extern char** environ;

namespace strata::testing::crash {

inline constexpr std::string_view role_var = "STRATA_CRASH_ROLE";
inline constexpr std::string_view fd_var = "STRATA_CRASH_FD";
inline constexpr std::string_view seed_var = "STRATA_CRASH_SEED";
inline constexpr std::string_view round_var = "STRATA_CRASH_ROUND";
inline constexpr int child_fd = 100;  // where the pipe's write end lands in a child

inline constexpr int key_count = 40;
// Keys 0..large_keys-1 carry values big enough to take several write calls
// (files, sockets), so a torn record would show.
inline constexpr int large_keys = 4;
inline constexpr std::size_t large_size = 160 * 1024;

inline std::string key_name(int k) { return "crash:" + std::to_string(k); }

inline std::optional<int> key_index(std::string_view key) {
    if (!key.starts_with("crash:")) return std::nullopt;
    key.remove_prefix(6);
    int k = -1;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), k);
    if (ec != std::errc{} || end != key.data() + key.size() || k < 0 || k >= key_count) return std::nullopt;
    return k;
}

// "<counter>|" then bytes that follow from (key, counter) alone, so a reader
// can tell a whole value from a torn or mixed one.
inline std::string make_value(int k, std::int64_t counter) {
    std::string v = std::to_string(counter) + '|';
    const std::size_t size = k < large_keys ? large_size : 16 + static_cast<std::size_t>(k) * 8;
    std::uint64_t x = (static_cast<std::uint64_t>(k) << 40) ^ static_cast<std::uint64_t>(counter);
    while (v.size() < size) {
        x += 0x9e3779b97f4a7c15ULL;  // splitmix64
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (int b = 0; b < 8 && v.size() < size; ++b) v.push_back(static_cast<char>(z >> (8 * b)));
    }
    return v;
}

// The counter a value of key k holds, or nullopt if it is not whole.
inline std::optional<std::int64_t> parse_value(int k, std::string_view v) {
    const auto bar = v.find('|');
    std::int64_t counter = 0;
    if (bar == std::string_view::npos) return std::nullopt;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + bar, counter);
    if (ec != std::errc{} || end != v.data() + bar || make_value(k, counter) != v) return std::nullopt;
    return counter;
}

inline std::string env_or_empty(std::string_view name) {
    const char* v = std::getenv(std::string(name).c_str());
    return v ? v : "";
}

// True in a child process; child tests skip otherwise.
inline bool in_child() { return !env_or_empty(role_var).empty(); }

// The write end of the pipe, in a child. Each line goes in one write() of
// less than PIPE_BUF bytes, so a kill never leaves half a line; threads
// take turns, so the lines' order is the order they were said in.
class Channel {
public:
    explicit Channel(int fd) : fd_(fd) {}
    void say(std::string line) {
        std::replace(line.begin(), line.end(), '\n', ' ');
        line.resize(std::min<std::size_t>(line.size(), 4000));
        line += '\n';
        std::lock_guard lock(mutex_);
        std::string_view rest(line);
        while (!rest.empty()) {
            const ssize_t n = ::write(fd_, rest.data(), rest.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) ::_exit(3);  // the parent is gone
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    std::mutex mutex_;
};

namespace detail {

// The worker: random calls through the manager until it is killed, each
// announced before it starts and acknowledged after it returned. Single
// threaded, so the order of the lines is the order of the effects.
template <class World>
void work(World& w, Channel& out, std::uint64_t seed, std::int64_t round) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> ids;
    for (const auto& info : w.ckpt.list()) ids.push_back(info.id);
    out.say("ready");
    std::int64_t counter = round * 1'000'000;
    const auto pick = [&] { return static_cast<int>(rng() % key_count); };
    // Bounded even if the parent never kills it.
    for (const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds{30};
         std::chrono::steady_clock::now() < stop;) {
        const auto dice = rng() % 100;
        if (dice < 40) {
            const int k = pick();
            ++counter;
            out.say("set " + std::to_string(k) + ' ' + std::to_string(counter));
            w.mgr.set(key_name(k), make_value(k, counter));
            out.say("ack");
        } else if (dice < 60) {
            std::set<int> keys;
            const auto n = 2 + rng() % 4;
            while (keys.size() < n) keys.insert(pick());
            std::vector<std::pair<std::string, std::string>> pairs;
            std::string line = "many";
            for (const int k : keys) {
                ++counter;
                pairs.emplace_back(key_name(k), make_value(k, counter));
                line += ' ' + std::to_string(k) + ' ' + std::to_string(counter);
            }
            out.say(line);
            w.mgr.set_many(pairs);
            out.say("ack");
        } else if (dice < 75) {
            const int k = pick();
            out.say("erase " + std::to_string(k));
            w.mgr.erase(key_name(k));
            out.say("ack");
        } else if (dice < 85) {
            out.say("checkpoint");
            const auto info = w.checkpoint(CaptureOptions{.hold_writes = rng() % 2 == 0});
            ids.push_back(info.id);
            out.say("ack " + info.id);
        } else if (dice < 92) {
            if (ids.empty()) continue;
            const auto id = ids[rng() % ids.size()];
            out.say("rollback " + id);
            w.ckpt.rollback(id);
            out.say("ack");
        } else {
            if (ids.size() < 3) continue;  // keeps a handful, so the store stays small
            const auto id = ids.front();
            out.say("remove " + id);
            if (!w.ckpt.remove(id)) throw std::runtime_error("remove found no checkpoint " + id);
            ids.erase(ids.begin());
            out.say("ack");
        }
    }
}

// The verify process: what every tier holds, record by record, what the
// manager serves, and every listed checkpoint verified.
template <class World>
void verify(World& w, Channel& out) {
    w.each_tier([&](auto& tier, std::size_t t) {
        auto keys = tier.keys("*");
        strata::erase_reserved_keys(keys);  // strata's own: stale marks, probe records
        const auto got = tier.fetch_many(keys);
        for (std::size_t j = 0; j < keys.size(); ++j) {
            const auto k = key_index(keys[j]);
            if (!k) {
                out.say("bad tier " + std::to_string(t) + " lists a key no worker wrote: " + keys[j]);
            } else if (!got[j]) {
                out.say("bad tier " + std::to_string(t) + " lists " + keys[j] + " but has no record of it");
            } else if (!got[j]->intact()) {
                out.say("bad tier " + std::to_string(t) + " holds a torn or unreadable record of " + keys[j]);
            } else if (const auto c = parse_value(*k, got[j]->value)) {
                out.say("tier " + std::to_string(t) + ' ' + std::to_string(*k) + ' ' + std::to_string(*c));
            } else {
                out.say("bad tier " + std::to_string(t) + " holds a value of " + keys[j] + " no worker wrote");
            }
        }
    });
    for (int k = 0; k < key_count; ++k) {
        try {
            const auto v = w.mgr.get(key_name(k));
            const auto c = v ? parse_value(k, *v) : std::nullopt;
            if (v && !c) out.say("bad the manager serves a value of " + key_name(k) + " no worker wrote");
            out.say("get " + std::to_string(k) + ' ' + (c ? std::to_string(*c) : "-"));
        } catch (const std::exception& e) {
            out.say("bad get " + key_name(k) + " throws: " + e.what());
        }
    }
    // The store lists committed checkpoints only (checkpoint_store.hpp), so
    // list(), which passes over unreadable ones, must drop none of them.
    std::set<std::string> listed;
    for (const auto& info : w.ckpt.list()) listed.insert(info.id);
    for (const auto& id : w.ckpt.store().ids()) {
        if (!listed.count(id)) out.say("bad the store lists checkpoint " + id + ", which does not load");
        out.say("ckpt " + id + (w.ckpt.verify(id) ? " ok" : " damaged"));
    }
    for (const auto& p : w.problems()) out.say("bad " + p);
    out.say("done");
}

// A child process of this binary, killed and reaped however the test ends.
class Child {
public:
    Child(const std::string& test, const std::vector<std::string>& extra_env) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
        read_fd_ = fds[0];
        // Everything exec needs is built before fork: the child of a
        // threaded process may only make async-signal-safe calls.
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) {
            const std::string_view entry(*e);
            const auto name = entry.substr(0, entry.find('='));
            const bool ours = std::any_of(extra_env.begin(), extra_env.end(), [&](const std::string& x) {
                return x.substr(0, x.find('=')) == name;
            });
            if (!ours) env.emplace_back(entry);
        }
        env.insert(env.end(), extra_env.begin(), extra_env.end());
        env.push_back(std::string(fd_var) + '=' + std::to_string(child_fd));
        const std::string filter = "--gtest_filter=" + test;
        std::vector<char*> envp, argv{const_cast<char*>("/proc/self/exe"), const_cast<char*>(filter.c_str()), nullptr};
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        // Its gtest report would only repeat, once per child, what the pipe
        // says; stderr stays, for a child that dies of something else.
        const int quiet = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        pid_ = ::fork();
        if (pid_ == 0) {
            if (::dup2(fds[1], child_fd) < 0 || ::dup2(quiet, STDOUT_FILENO) < 0) ::_exit(126);  // dup2 clears close-on-exec
            ::execve("/proc/self/exe", argv.data(), envp.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        ::close(quiet);
        if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid_ > 0) kill_and_reap();
        ::close(read_fd_);
    }

    // The next whole line, or nullopt at end of file or when `until` passed.
    std::optional<std::string> line(std::chrono::steady_clock::time_point until) {
        for (;;) {
            if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string l = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return l;
            }
            if (eof_) return std::nullopt;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{read_fd_, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) continue;  // the deadline is checked above
            char buf[65536];
            const ssize_t n = ::read(read_fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                eof_ = true;
                continue;
            }
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

    // SIGKILL, then waits for it; returns the wait status.
    int kill_and_reap() {
        ::kill(pid_, SIGKILL);
        return reap();
    }

    // Waits for the child to end by itself, killing it at `until`.
    int wait(std::chrono::steady_clock::time_point until) {
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return status;
            }
            ::usleep(2000);
        }
        return kill_and_reap();
    }

private:
    int reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return status;
    }

    pid_t pid_ = -1;
    int read_fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
};

inline std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(std::move(w));
    return out;
}

// The parent's model: for each key, the content of every tier that outlives
// the process (hottest first; nullopt: absent), exact between runs.
using Val = std::optional<std::int64_t>;
using State = std::vector<Val>;
using Keys = std::map<int, State>;  // a key not held anywhere is left out

inline std::string show(const State& s) {
    std::string out = "(";
    for (std::size_t t = 0; t < s.size(); ++t) out += (t ? "," : "") + (s[t] ? std::to_string(*s[t]) : "-");
    return out + ")";
}

inline Val visible(const State& s) {
    for (const auto& v : s)
        if (v) return v;
    return std::nullopt;
}

// A call the worker announced; what it does to each tier, step by step.
struct Call {
    std::vector<std::string> words;
    Keys at_begin;  // the model when it began (a checkpoint holds that)

    // The steps (tier, new content) the call takes on key k, in order.
    std::vector<std::pair<std::size_t, Val>> steps(int k, const State& from, std::size_t tiers,
                                                   std::uint64_t refuses_older,
                                                   const std::map<std::string, Keys>& checkpoints) const {
        std::vector<std::pair<std::size_t, Val>> out;
        const auto& op = words[0];
        if (op == "set" || op == "many") {
            for (std::size_t i = 1; i + 1 < words.size(); i += 2)
                if (std::stoi(words[i]) == k)  // durable tier first, then hotter ones
                    for (std::size_t t = tiers; t-- > 0;) out.emplace_back(t, std::stoll(words[i + 1]));
        } else if (op == "erase") {
            if (std::stoi(words[1]) == k)
                for (std::size_t t = 0; t < tiers; ++t) out.emplace_back(t, std::nullopt);
        } else if (op == "rollback") {
            const auto& held = checkpoints.at(words[1]);
            const auto it = held.find(k);
            const State to = it == held.end() ? State(tiers) : it->second;
            for (std::size_t t = 0; t < tiers; ++t) {
                if (from[t] == to[t]) continue;
                // A tier that refuses older versions has a newer copy erased
                // before the captured one is stored back (allowed whichever
                // copy is newer); any other tier replaces it in one step.
                if ((refuses_older >> t & 1) && from[t] && to[t]) out.emplace_back(t, std::nullopt);
                out.emplace_back(t, to[t]);
            }
        }
        return out;
    }
};

}  // namespace detail

// In the child test: runs the worker or the verify process over a World.
template <class World>
void child() {
    const int fd = std::stoi(env_or_empty(fd_var));
    Channel out(fd);
    const auto role = env_or_empty(role_var);
    try {
        World w;
        if (role == "work")
            detail::work(w, out, std::stoull(env_or_empty(seed_var)), std::stoll(env_or_empty(round_var)));
        else
            detail::verify(w, out);
    } catch (const std::exception& e) {
        out.say("bad " + role + ": " + e.what());
    }
}

struct Options {
    std::string child_test;           // e.g. "CrashTest.FileTierChild"
    std::vector<std::string> env;     // NAME=value for every child (where its tiers are)
    std::size_t tiers = 1;            // how many tiers outlive a process (World::each_tier)
    std::uint64_t refuses_older = 0;  // which of them refuse older versions (bit i: tier i)
    int kills = 55;                   // stops after this many kills...
    std::chrono::seconds budget{100}; // ...or this long, whichever first
    int min_kills = 50;               // and fails below this many
    // A worker is killed at random within longest_run of starting work, or
    // within longest_delay of beginning a checkpoint or a rollback: about
    // what such a call takes, so kills land all through it.
    std::chrono::milliseconds longest_run{100};
    std::chrono::microseconds longest_delay{3000};
    // Run after each kill, before anything is checked: waits for what the
    // killed worker left running in a server (a statement PostgreSQL still
    // executes for a client that is gone lands when it ends).
    std::function<void()> settle{};
};

struct Figures {
    int kills = 0;
    long acks = 0;               // acknowledged calls
    long acked_values = 0;       // keys checked to hold an acknowledged value
    long acked_absent = 0;       // keys checked to be absent after an acknowledged erase or rollback
    long in_flight_keys = 0;     // keys left by a killed call, checked to be at one of its steps
    long checkpoints_verified = 0;
    double seconds = 0;
};

class Parent {
public:
    explicit Parent(Options o) : o_(std::move(o)) {}

    Figures run() {
        const auto seed = std::random_device{}();
        std::cout << "crash test seed " << seed << " (" << o_.child_test << ")\n";
        std::mt19937_64 rng(seed);
        const auto start = std::chrono::steady_clock::now();
        for (std::int64_t round = 1;
             f_.kills < o_.kills && std::chrono::steady_clock::now() - start < o_.budget && !::testing::Test::HasFailure();
             ++round) {
            SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
            auto in_flight = run_worker(rng, round);
            check(in_flight);
        }
        f_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "crash test " << o_.child_test << ": " << f_.kills << " kills, " << f_.acks << " acks, "
                  << f_.acked_values << " acknowledged values and " << f_.acked_absent
                  << " acknowledged absences checked, " << f_.in_flight_keys << " keys of killed calls, "
                  << f_.checkpoints_verified << " listed checkpoints verified, " << f_.seconds << " s\n";
        if (!::testing::Test::HasFailure()) {  // a failure ends the rounds early
            EXPECT_GE(f_.kills, o_.min_kills) << "too few kills within " << o_.budget.count() << " s";
        }
        return f_;
    }

private:
    using clock = std::chrono::steady_clock;
    using Keys = detail::Keys;
    using State = detail::State;
    using Val = detail::Val;

    std::vector<std::string> env(const std::string& role, std::uint64_t seed, std::int64_t round) const {
        auto e = o_.env;
        e.push_back(std::string(role_var) + '=' + role);
        e.push_back(std::string(seed_var) + '=' + std::to_string(seed));
        e.push_back(std::string(round_var) + '=' + std::to_string(round));
        return e;
    }

    // Runs one worker to its kill; returns the call it was in, if any.
    std::optional<detail::Call> run_worker(std::mt19937_64& rng, std::int64_t round) {
        detail::Child w(o_.child_test, env("work", rng(), round));
        const auto spawned = clock::now();
        // How to pick the moment: at random during start-up and open, at
        // random after it began work, or just as a checkpoint or rollback begins.
        const auto mode = rng() % 10;
        auto kill_at = mode == 0 ? spawned + std::chrono::milliseconds(rng() % 40) : clock::time_point::max();
        const auto run_for = std::chrono::milliseconds(5 + rng() % o_.longest_run.count());
        const auto delay = std::chrono::microseconds(rng() % o_.longest_delay.count());
        const auto limit = spawned + std::chrono::seconds{20};
        std::optional<detail::Call> in_flight;
        bool killed = false;
        while (!killed) {
            const auto l = w.line(std::min(kill_at, limit));
            if (!l) break;
            if (*l == "ready") {
                if (mode != 0) kill_at = clock::now() + (mode < 7 ? run_for : 3 * o_.longest_run);
                continue;
            }
            apply(*l, in_flight);
            if (mode >= 7 && in_flight && (in_flight->words[0] == "checkpoint" || in_flight->words[0] == "rollback"))
                kill_at = std::min(kill_at, clock::now() + delay);
        }
        const int status = w.kill_and_reap();
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the worker ended by itself (status " << status << ") before the kill; see its output above";
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++f_.kills;
        // Whatever it said before it died is in the pipe.
        while (const auto l = w.line(clock::now() + std::chrono::seconds{5})) apply(*l, in_flight);
        if (o_.settle) o_.settle();
        return in_flight;
    }

    // Takes one line of the worker into the model.
    void apply(const std::string& line, std::optional<detail::Call>& in_flight) {
        auto w = detail::words(line);
        if (w.empty()) return;
        if (w[0] == "bad") {
            ADD_FAILURE() << "worker: " << line;
            return;
        }
        if (w[0] != "ack") {
            EXPECT_FALSE(in_flight) << "a call began before the last one was acknowledged: " << line;
            in_flight = detail::Call{std::move(w), keys_};
            return;
        }
        if (!in_flight) {
            ADD_FAILURE() << "an acknowledgement of no call: " << line;
            return;
        }
        ++f_.acks;
        const auto& c = *in_flight;
        const auto& op = c.words[0];
        if (op == "set" || op == "many") {
            for (std::size_t i = 1; i + 1 < c.words.size(); i += 2)
                keys_[std::stoi(c.words[i])] = State(o_.tiers, std::stoll(c.words[i + 1]));
        } else if (op == "erase") {
            keys_.erase(std::stoi(c.words[1]));
        } else if (op == "checkpoint") {
            EXPECT_EQ(w.size(), 2u) << line;
            if (w.size() == 2) checkpoints_[w[1]] = c.at_begin;
        } else if (op == "rollback") {
            const auto it = checkpoints_.find(c.words[1]);
            if (it == checkpoints_.end())
                ADD_FAILURE() << "rolled back to a checkpoint the parent never saw: " << c.words[1];
            else
                keys_ = it->second;
        } else if (op == "remove") {
            checkpoints_.erase(c.words[1]);
        }
        in_flight.reset();
    }

    // Opens the tiers in a new process and checks them against the model,
    // then takes what it found as the state the next worker starts from.
    void check(const std::optional<detail::Call>& in_flight) {
        detail::Child v(o_.child_test, env("verify", 0, 0));
        std::map<int, State> found;
        std::map<int, Val> served;
        std::map<std::string, bool> listed;
        bool done = false;
        const auto until = clock::now() + std::chrono::seconds{60};
        while (const auto l = v.line(until)) {
            const auto w = detail::words(*l);
            if (w.empty()) continue;
            if (w[0] == "bad") {
                ADD_FAILURE() << "after the kill: " << *l;
            } else if (w[0] == "tier" && w.size() == 4) {
                auto& s = found.try_emplace(std::stoi(w[2]), State(o_.tiers)).first->second;
                s.at(std::stoul(w[1])) = std::stoll(w[3]);
            } else if (w[0] == "get" && w.size() == 3) {
                served[std::stoi(w[1])] = w[2] == "-" ? Val{} : Val{std::stoll(w[2])};
            } else if (w[0] == "ckpt" && w.size() == 3) {
                listed[w[1]] = w[2] == "ok";
            } else if (w[0] == "done") {
                done = true;
            } else {
                ADD_FAILURE() << "verify process: " << *l;
            }
        }
        const int status = v.wait(clock::now() + std::chrono::seconds{10});
        EXPECT_TRUE(done) << "the verify process did not finish";
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "verify process status " << status;

        for (int k = 0; k < key_count; ++k) {
            const State none(o_.tiers);
            const auto it = keys_.find(k);
            const State& expected = it == keys_.end() ? none : it->second;
            const auto f = found.find(k);
            const State& got = f == found.end() ? none : f->second;
            const auto steps = in_flight ? in_flight->steps(k, expected, o_.tiers, o_.refuses_older, checkpoints_)
                                         : std::vector<std::pair<std::size_t, Val>>{};
            // Allowed: the state before the call and after each of its steps.
            std::vector<State> allowed{expected};
            for (const auto& [t, val] : steps) {
                allowed.push_back(allowed.back());
                allowed.back()[t] = val;
            }
            std::string shown;
            for (const auto& a : allowed) shown += detail::show(a) + " ";
            EXPECT_TRUE(std::find(allowed.begin(), allowed.end(), got) != allowed.end())
                << "key " << k << ": tiers hold " << detail::show(got) << ", allowed " << shown
                << (in_flight ? "(killed in: " + in_flight->words[0] + ")" : "(no call in flight)");
            EXPECT_EQ(served[k], detail::visible(got)) << "key " << k << ": the manager serves other than its hottest copy "
                                               << detail::show(got);
            if (!steps.empty())
                ++f_.in_flight_keys;
            else if (detail::visible(expected))
                ++f_.acked_values;
            else
                ++f_.acked_absent;
            if (got == none)
                keys_.erase(k);
            else
                keys_[k] = got;
        }

        const bool creating = in_flight && in_flight->words[0] == "checkpoint";
        const std::string removing = in_flight && in_flight->words[0] == "remove" ? in_flight->words[1] : "";
        for (const auto& [id, ok] : listed) {
            EXPECT_TRUE(ok) << "listed checkpoint " << id << " does not verify";
            f_.checkpoints_verified += ok;
            if (checkpoints_.count(id)) continue;
            // Only the checkpoint whose creation was cut short may appear, whole.
            EXPECT_TRUE(creating) << "checkpoint " << id << " is listed but was never begun";
            if (creating) checkpoints_[id] = in_flight->at_begin;
        }
        for (auto it = checkpoints_.begin(); it != checkpoints_.end();) {
            if (listed.count(it->first)) {
                ++it;
                continue;
            }
            EXPECT_EQ(it->first, removing) << "acknowledged checkpoint " << it->first << " is not listed";
            it = checkpoints_.erase(it);
        }
    }

    Options o_;
    Figures f_;
    Keys keys_;
    std::map<std::string, Keys> checkpoints_;
};

// In the parent test: rounds of worker, kill, verify; returns the figures.
inline Figures run(Options o) { return Parent(std::move(o)).run(); }

}  // namespace strata::testing::crash
