#pragma once

#include <pqxx/pqxx>
#include <sys/socket.h>  // shutdown
#include <unistd.h>      // dup, close

#include <chrono>
#include <condition_variable>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <map>
#include <memory>  // unique_ptr
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>  // is_void_v, invoke_result_t
#include <utility>
#include <vector>

#include "strata/core/detail/socket.hpp"
#include "strata/core/error.hpp"
#include "strata/tiers/postgres/errors.hpp"

namespace strata::detail::postgres {

using Steady = std::chrono::steady_clock;

// Bounds every call in time on the client side. The server enforces
// statement_timeout itself, but a stopped or unreachable server enforces
// nothing; when a call outlives its deadline the watchdog shuts its socket
// down, libpq's blocked read returns, and the call fails instead of hanging.
class Watchdog {
public:
    Watchdog() = default;
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    std::uint64_t arm(int fd, Steady::time_point deadline) {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        const auto id = ++next_id_;
        entries_.emplace(id, Entry{fd, deadline, false});
        wake_.notify_all();
        return id;
    }

    // Forgets an armed call; true when its deadline had already fired, in
    // which case its connection is cut and must not be reused.
    bool disarm(std::uint64_t id) {
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(id);
        if (it == entries_.end()) return false;
        const bool fired = it->second.fired;
        entries_.erase(it);
        return fired;
    }

private:
    struct Entry {
        int fd;
        Steady::time_point deadline;
        bool fired;
    };

    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            auto next = Steady::time_point::max();
            const auto now = Steady::now();
            for (auto& [id, e] : entries_) {
                if (e.fired) continue;
                if (e.deadline <= now) {
                    // The entry stays registered until disarm(), so the fd is
                    // still owned by a live connection here. The connection is
                    // dropped after this, and its statement with it.
                    abort_on_close(e.fd);
                    ::shutdown(e.fd, SHUT_RDWR);
                    e.fired = true;
                } else if (e.deadline < next) {
                    next = e.deadline;
                }
            }
            if (next == Steady::time_point::max())
                wake_.wait(lock);
            else
                wake_.wait_until(lock, next);
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::uint64_t, Entry> entries_;
    std::uint64_t next_id_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

// A pooled connection and what the tier has set up on it. The watchdog cuts
// `watch_fd`, a duplicate of libpq's socket: it keeps the socket alive until
// the connection is dropped, so even if libpq closes its own descriptor
// mid-call the watchdog can never shut down an unrelated reused one.
struct Connection {
    std::unique_ptr<pqxx::connection> pq;
    int watch_fd = -1;
    bool prepared = false;

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { drop(); }

    void drop() noexcept {
        pq.reset();
        if (watch_fd >= 0) ::close(watch_fd);
        watch_fd = -1;
    }
};

// Run once on every new connection. plan_cache_mode (PostgreSQL 12+; older
// servers skip it): a prepared `key = ANY($1)` would otherwise switch, after
// five runs, to a generic plan costed on the table as it was then; planned
// on an emptied table it scans the whole table for every batch once the
// table refills (a restore into a truncated table ran 9x slower).
inline std::string session_setup(std::chrono::milliseconds statement_timeout) {
    return "SET statement_timeout = " + std::to_string(statement_timeout.count()) +
           "; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; SET standard_conforming_strings = on;"
           " SELECT set_config('plan_cache_mode', 'force_custom_plan', false)"
           " WHERE current_setting('server_version_num')::int >= 120000";
}

struct PoolSettings {
    std::string tier_name;
    std::string conninfo;       // with connect_timeout added
    std::string session_setup;  // run once on every new connection
    std::vector<std::string> secrets;
    std::size_t size = 4;
    std::chrono::milliseconds call_deadline{10'000};
    std::chrono::milliseconds acquire_timeout{10'000};
};

// A small pool. Its mutex guards only the idle list and the count: it is never
// held while connecting or talking to the server.
class Pool {
public:
    explicit Pool(PoolSettings settings) : settings_(std::move(settings)) {
        if (settings_.size == 0) settings_.size = 1;
    }

    const PoolSettings& settings() const noexcept { return settings_; }

    // Runs f(Connection&) on a pooled connection under the client deadline
    // and turns libpqxx failures into strata::Error. A reused connection that
    // turns out to be dead (a server restart) is replaced and the call retried
    // once, so a restart costs callers nothing once the server is back.
    template <class F>
    std::invoke_result_t<F&, Connection&> run(const std::string& op, F&& f) {
        for (int attempt = 0;; ++attempt) {
            Lease lease = acquire(op);
            const auto ticket = watchdog_.arm(lease.conn->watch_fd, Steady::now() + settings_.call_deadline);
            try {
                if constexpr (std::is_void_v<std::invoke_result_t<F&, Connection&>>) {
                    f(*lease.conn);
                    if (watchdog_.disarm(ticket)) lease.discard();
                    return;
                } else {
                    auto result = f(*lease.conn);
                    if (watchdog_.disarm(ticket)) lease.discard();
                    return result;
                }
            } catch (const pqxx::failure&) {
                const bool fired = watchdog_.disarm(ticket);
                const bool broken = fired || !lease.conn->pq->is_open() || connection_lost();
                if (broken) lease.discard();
                if (broken && !fired && lease.reused && attempt == 0) {
                    drop_idle();
                    continue;
                }
                rethrow_as_error(settings_.tier_name, op, fired, settings_.secrets);
            } catch (...) {
                if (watchdog_.disarm(ticket)) lease.discard();
                throw;
            }
        }
    }

    // True inside a catch block whose exception says the connection is gone.
    static bool connection_lost() {
        try {
            throw;
        } catch (const pqxx::broken_connection&) {
            return true;
        } catch (...) {
            return false;
        }
    }

    // Closes idle connections (after a restart they are all dead).
    void drop_idle() {
        std::vector<std::unique_ptr<Connection>> dead;
        {
            std::lock_guard lock(mutex_);
            dead.swap(idle_);
            open_ -= dead.size();
        }
        available_.notify_all();
    }

private:
    struct Lease {
        Pool* pool;
        std::unique_ptr<Connection> conn;
        bool reused;

        Lease(Pool* p, std::unique_ptr<Connection> c, bool r) : pool(p), conn(std::move(c)), reused(r) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { pool->give_back(std::move(conn)); }
        void discard() { conn->drop(); }
    };

    void give_back(std::unique_ptr<Connection> conn) {
        std::unique_ptr<Connection> dead;
        {
            std::lock_guard lock(mutex_);
            if (conn->pq) {
                idle_.push_back(std::move(conn));
            } else {
                dead = std::move(conn);
                --open_;
            }
        }
        available_.notify_one();
    }

    Lease acquire(const std::string& op) {
        {
            std::unique_lock lock(mutex_);
            const auto deadline = Steady::now() + settings_.acquire_timeout;
            while (idle_.empty() && open_ >= settings_.size) {
                if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
                    open_ >= settings_.size)
                    throw Error(ErrorKind::timeout, settings_.tier_name, op,
                                "pool exhausted: all " + std::to_string(settings_.size) +
                                    " pooled connections stayed busy for " +
                                    std::to_string(settings_.acquire_timeout.count()) + " ms");
            }
            if (!idle_.empty()) {
                auto conn = std::move(idle_.back());
                idle_.pop_back();
                return Lease(this, std::move(conn), true);
            }
            ++open_;
        }
        auto conn = std::make_unique<Connection>();
        try {
            connect(*conn, op);
        } catch (...) {
            conn->drop();
            give_back(std::move(conn));
            throw;
        }
        return Lease(this, std::move(conn), false);
    }

    void connect(Connection& conn, const std::string& op) {
        try {
            // libpq's connect_timeout (in the conninfo) bounds this call.
            conn.pq = std::make_unique<pqxx::connection>(settings_.conninfo);
        } catch (const pqxx::failure&) {
            rethrow_as_error(settings_.tier_name, op + " (connect)", false, settings_.secrets);
        }
        conn.watch_fd = ::dup(conn.pq->sock());
        if (conn.watch_fd < 0)
            throw Error(ErrorKind::unavailable, settings_.tier_name, op + " (connect)", "out of file descriptors");
        const auto ticket = watchdog_.arm(conn.watch_fd, Steady::now() + settings_.call_deadline);
        try {
            pqxx::nontransaction tx(*conn.pq);
            tx.exec(settings_.session_setup);
        } catch (const pqxx::failure&) {
            const bool fired = watchdog_.disarm(ticket);
            rethrow_as_error(settings_.tier_name, op + " (session setup)", fired, settings_.secrets);
        }
        if (watchdog_.disarm(ticket))
            throw Error(ErrorKind::timeout, settings_.tier_name, op + " (session setup)",
                        "no reply before the client deadline");
    }

    PoolSettings settings_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;
    Watchdog watchdog_;
};

}  // namespace strata::detail::postgres
