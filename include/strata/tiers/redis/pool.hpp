#pragma once

#include <condition_variable>
#include <cstddef>  // size_t
#include <memory>   // unique_ptr
#include <mutex>
#include <string>
#include <utility>  // exchange, move
#include <vector>

#include "strata/tiers/redis/connection.hpp"

namespace strata::redis_detail {

// At most `size` connections, lent one per call. The mutex guards only the
// idle list and the count: connecting and every command run unlocked, so a
// slow or stopped server delays only the threads that use it.
class Pool {
public:
    Pool(Settings settings, std::string tier, std::size_t size)
        : settings_(std::move(settings)), tier_(std::move(tier)), size_(size ? size : 1) {}

    // A borrowed connection; returned to the pool only if still healthy.
    class Lease {
    public:
        Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
        Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (conn_) pool_->give_back(std::move(conn_));
        }
        Connection* operator->() const noexcept { return conn_.get(); }
        Connection& operator*() const noexcept { return *conn_; }

    private:
        Pool* pool_;
        std::unique_ptr<Connection> conn_;
    };

    Lease borrow() {
        std::unique_lock lock(mutex_);
        // Waiting is bounded: each holder's I/O is bounded by the timeouts.
        available_.wait(lock, [&] { return !idle_.empty() || lent_ < size_; });
        ++lent_;
        while (!idle_.empty()) {
            auto conn = std::move(idle_.back());
            idle_.pop_back();
            lock.unlock();
            if (conn->healthy()) return Lease(*this, std::move(conn));
            conn.reset();  // closed by the server while idle: replace it
            lock.lock();
        }
        lock.unlock();
        try {
            return Lease(*this, std::make_unique<Connection>(settings_, tier_));
        } catch (...) {
            give_back(nullptr);
            throw;
        }
    }

private:
    void give_back(std::unique_ptr<Connection> conn) {
        // Checked, and a broken one closed, outside the lock.
        if (conn && !conn->healthy()) conn.reset();
        {
            std::lock_guard lock(mutex_);
            --lent_;
            if (conn) idle_.push_back(std::move(conn));
        }
        available_.notify_one();
    }

    Settings settings_;
    std::string tier_;
    std::size_t size_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t lent_ = 0;
};

}  // namespace strata::redis_detail
