#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <mutex>

namespace strata::detail {

// Orders the manager's writes against its tools (checkpoints, restores).
// Writes share the gate; a tool holds it alone. A tool that asks waits only
// for the writes already inside: new writes queue behind it, so a steady
// stream of writers can never starve a capture or a rollback (std::shared_mutex
// makes no such promise, and glibc's prefers the sharers).
//
// The epoch changes whenever a tool takes or releases the gate, so a reader
// can tell that a tool ran while it read (and must not cache or promote what
// it read then).
class WriteGate {
public:
    void lock_shared() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !tool_inside_ && tools_waiting_ == 0; });
        ++writers_inside_;
    }

    // For readers' best-effort follow-ups: never waits.
    bool try_lock_shared() {
        std::lock_guard lock(mutex_);
        if (tool_inside_ || tools_waiting_ != 0) return false;
        ++writers_inside_;
        return true;
    }

    void unlock_shared() {
        bool last;
        {
            std::lock_guard lock(mutex_);
            last = --writers_inside_ == 0 && tools_waiting_ != 0;
        }
        if (last) changed_.notify_all();
    }

    void lock() {
        std::unique_lock lock(mutex_);
        ++tools_waiting_;
        changed_.wait(lock, [&] { return !tool_inside_ && writers_inside_ == 0; });
        --tools_waiting_;
        tool_inside_ = true;
        epoch_.fetch_add(1, std::memory_order_acq_rel);
    }

    void unlock() {
        {
            std::lock_guard lock(mutex_);
            tool_inside_ = false;
            epoch_.fetch_add(1, std::memory_order_acq_rel);
        }
        changed_.notify_all();
    }

    std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t writers_inside_ = 0;
    std::size_t tools_waiting_ = 0;
    bool tool_inside_ = false;
    std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace strata::detail
