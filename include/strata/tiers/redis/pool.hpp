#pragma once

#include <algorithm>  // find
#include <chrono>
#include <condition_variable>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <deque>
#include <memory>  // unique_ptr
#include <mutex>
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

#include "strata/core/error.hpp"
#include "strata/tiers/redis/connection.hpp"

namespace strata::detail::redis {

// At most `size` connections, lent one per call. The mutex guards only the
// idle list, the count and the queue of waiters: connecting and every command
// run unlocked, so a slow or stopped server delays only the threads that use it.
class Pool {
public:
    Pool(Settings settings, std::string tier, std::size_t size, std::chrono::milliseconds wait)
        : settings_(std::move(settings)), tier_(std::move(tier)), size_(size ? size : 1), wait_(wait) {}

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

    // When every connection is lent, waits at most `wait` for one, first come
    // first served, so a caller borrowing again and again (a scan, page by
    // page) cannot keep a waiting one out; then fails with `timeout`.
    Lease borrow(std::string_view op) {
        std::unique_lock lock(mutex_);
        if (lent_ >= size_ || !waiting_.empty()) {
            const auto ticket = next_ticket_++;
            waiting_.push_back(ticket);
            const bool served =
                available_.wait_for(lock, wait_, [&] { return waiting_.front() == ticket && lent_ < size_; });
            waiting_.erase(std::find(waiting_.begin(), waiting_.end(), ticket));
            available_.notify_all();  // someone else may be first in line now
            if (!served)
                throw Error(ErrorKind::timeout, tier_, std::string(op),
                            "pool exhausted: all " + std::to_string(size_) + " pooled connections stayed busy for " +
                                std::to_string(wait_.count()) + " ms");
        }
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
        // All, since only the first in line may take it.
        available_.notify_all();
    }

    Settings settings_;
    std::string tier_;
    std::size_t size_;
    std::chrono::milliseconds wait_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t lent_ = 0;
    std::deque<std::uint64_t> waiting_;  // tickets of waiting borrowers, oldest first
    std::uint64_t next_ticket_ = 0;
};

}  // namespace strata::detail::redis
