#pragma once

#include <algorithm>  // max, min
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>  // move

namespace strata::detail::recovery {

// Runs `attempt` on a thread of its own until it returns true (an exception
// counts as false), waiting `backoff` between tries, doubled up to
// `max_backoff` (at least a millisecond, so a zero backoff never spins). The destructor stops the waiting at once and joins, so it
// waits only for an attempt in progress.
class RetryThread {
public:
    RetryThread(std::function<bool()> attempt, std::chrono::milliseconds backoff, std::chrono::milliseconds max_backoff)
        : thread_([this, attempt = std::move(attempt), backoff, max_backoff]() mutable {
              for (auto wait = std::max(backoff, std::chrono::milliseconds{1});; wait = std::min(wait * 2, max_backoff)) {
                  bool done = false;
                  try {
                      done = attempt();
                  } catch (...) {
                  }
                  std::unique_lock lock(mutex_);
                  if (done || cv_.wait_for(lock, wait, [&] { return stopping_; })) {
                      finished_ = done;
                      return;
                  }
              }
          }) {}

    RetryThread(const RetryThread&) = delete;
    RetryThread& operator=(const RetryThread&) = delete;

    ~RetryThread() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

    bool finished() const {
        std::lock_guard lock(mutex_);
        return finished_;
    }

private:
    mutable std::mutex mutex_;  // before the thread, which uses them from its first moment
    std::condition_variable cv_;
    bool stopping_ = false;
    bool finished_ = false;
    std::thread thread_;
};

}  // namespace strata::detail::recovery
