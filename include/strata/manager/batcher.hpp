#pragma once

// Collects set and erase calls from any thread and applies them to a manager
// as one set_many / erase_many:
//
//   strata::Batcher batch{mgr, {.max_items = 1000, .max_delay = 5ms}};
//   auto done = batch.set("job:7", "running");   // std::future<void>
//   batch.erase("job:6");
//   done.get();  // rethrows what applying its batch threw
//
// A batch goes when it holds max_items calls, when its oldest call has waited
// max_delay, when flush() is called, or when the batcher is destroyed.
// Within a batch the last call for a key wins (a set then an erase leaves the
// key erased, an erase then a set leaves it set); batches are applied one
// after the other in the order their calls were made.
//
// Errors about the call itself are thrown by the call and nothing is queued:
// a malformed key (std::invalid_argument, as the manager's set does) and, with
// OnFull::fail, a full batcher (Error{rejected}). Errors applying a batch are
// in the futures: each call's future holds the outcome of the set_many or
// erase_many that applied its key's last call, so a failed write fails every
// call it covered, superseded ones included, and nothing is dropped silently.

#include <algorithm>  // min
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>  // size_t, ptrdiff_t
#include <cstdint>  // uint64_t
#include <exception>
#include <functional>  // equal_to
#include <future>
#include <iterator>  // make_move_iterator
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>  // move, pair
#include <vector>

#include "strata/core/detail/string_hash.hpp"
#include "strata/core/error.hpp"
#include "strata/core/key.hpp"
#include "strata/manager/options.hpp"

namespace strata {

// What a full batcher (max_pending calls not yet applied) does with one more
// call: wait until a batch is applied, or throw Error{rejected}.
enum class OnFull { block, fail };

struct BatcherOptions {
    std::size_t max_items = 1000;                  // calls per batch
    std::chrono::milliseconds max_delay{5};        // longest a call waits before its batch is due
    std::size_t max_pending = 100'000;             // calls queued or being applied; at least max_items
    OnFull on_full = OnFull::block;
};

// What a Batcher needs of a manager: StateManager has both.
template <class M>
concept BatchTarget = requires(M& mgr, const std::vector<std::pair<std::string, std::string>>& pairs,
                               std::span<const std::string> keys, SetOptions opts) {
    mgr.set_many(pairs, opts);
    mgr.erase_many(keys);
};

namespace detail {

// One set or erase waiting for its batch.
struct BatchedCall {
    std::string key;
    std::optional<std::string> value;  // nullopt: an erase
    SetOptions options;
    std::chrono::steady_clock::time_point queued;
    std::promise<void> done;
};

// Writes with equal options can share one set_many.
inline bool same_set_options(const SetOptions& a, const SetOptions& b) {
    static_assert(sizeof(SetOptions) == sizeof(std::optional<std::chrono::milliseconds>),
                  "strata::SetOptions has a new member: compare it here too, or the Batcher merges writes "
                  "that asked for different options");
    return a.ttl == b.ttl;
}

// The calls of one batch reduced to one write per key and grouped into as
// few manager calls as the options allow. Returns each call's outcome: that
// of the manager call that applied its key's last call (null: success).
template <BatchTarget M>
std::vector<std::exception_ptr> write_batch(M& mgr, std::vector<BatchedCall>& calls) {
    std::unordered_map<std::string_view, std::size_t, StringHash, std::equal_to<>> last;  // key -> its last call
    for (std::size_t i = 0; i < calls.size(); ++i) last[calls[i].key] = i;

    struct SetGroup {
        SetOptions options;
        std::vector<std::pair<std::string, std::string>> pairs;
    };
    std::vector<SetGroup> sets;
    std::vector<std::string> erased;
    constexpr std::size_t erase_group = static_cast<std::size_t>(-1);
    std::unordered_map<std::string_view, std::size_t, StringHash, std::equal_to<>> group_of;  // key -> group
    for (std::size_t i = 0; i < calls.size(); ++i) {
        auto& call = calls[i];
        if (last.find(call.key)->second != i) continue;
        if (!call.value) {
            erased.push_back(call.key);
            group_of.emplace(call.key, erase_group);
            continue;
        }
        std::size_t g = 0;
        while (g < sets.size() && !same_set_options(sets[g].options, call.options)) ++g;
        if (g == sets.size()) sets.push_back({call.options, {}});
        sets[g].pairs.emplace_back(call.key, std::move(*call.value));
        group_of.emplace(call.key, g);
    }

    std::vector<std::exception_ptr> set_failures(sets.size());
    for (std::size_t g = 0; g < sets.size(); ++g) {
        try {
            mgr.set_many(sets[g].pairs, sets[g].options);
        } catch (...) {
            set_failures[g] = std::current_exception();
        }
    }
    std::exception_ptr erase_failure;
    if (!erased.empty()) {
        try {
            mgr.erase_many(std::span<const std::string>(erased));
        } catch (...) {
            erase_failure = std::current_exception();
        }
    }

    std::vector<std::exception_ptr> outcomes;
    outcomes.reserve(calls.size());
    for (const auto& call : calls) {
        const std::size_t g = group_of.find(call.key)->second;
        outcomes.push_back(g == erase_group ? erase_failure : set_failures[g]);
    }
    return outcomes;
}

}  // namespace detail

template <BatchTarget Manager>
class Batcher {
public:
    explicit Batcher(Manager& mgr, BatcherOptions options = {}) : mgr_(mgr), options_(checked(options)) {
        flusher_ = std::thread([this] { run(); });
    }

    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Applies every call made before it, then stops the flusher.
    ~Batcher() {
        {
            const std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        flusher_.join();
    }

    std::future<void> set(std::string_view key, std::string_view value, SetOptions opts = {}) {
        return enqueue(key, std::string(value), opts);
    }

    std::future<void> erase(std::string_view key) { return enqueue(key, std::nullopt, {}); }

    // Returns once every call made before it has been applied (their futures
    // are ready); the outcomes are in the futures, not thrown here.
    void flush() {
        std::unique_lock lock(mutex_);
        const std::uint64_t target = queued_total_;
        if (applied_total_ >= target) return;
        if (flush_target_ < target) flush_target_ = target;
        wake_.notify_one();
        applied_.wait(lock, [&] { return applied_total_ >= target; });
    }

    // Calls queued or being applied.
    std::size_t pending() const {
        const std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(queued_total_ - applied_total_);
    }

private:
    static BatcherOptions checked(BatcherOptions o) {
        if (o.max_items == 0) throw std::invalid_argument("strata::Batcher: max_items must be at least 1");
        if (o.max_delay <= std::chrono::milliseconds::zero())
            throw std::invalid_argument("strata::Batcher: max_delay must be positive");
        if (o.max_pending < o.max_items)
            throw std::invalid_argument("strata::Batcher: max_pending (" + std::to_string(o.max_pending) +
                                        ") is below max_items (" + std::to_string(o.max_items) + ")");
        return o;
    }

    std::future<void> enqueue(std::string_view key, std::optional<std::string> value, SetOptions opts) {
        validate_key(key);
        detail::BatchedCall call{std::string(key), std::move(value), opts, {}, {}};
        auto future = call.done.get_future();
        std::unique_lock lock(mutex_);
        const auto has_room = [&] { return queued_total_ - applied_total_ < options_.max_pending; };
        if (!has_room()) {
            if (options_.on_full == OnFull::fail)
                throw Error(ErrorKind::rejected, "batcher", "enqueue",
                            std::to_string(options_.max_pending) + " calls pending (max_pending)");
            room_.wait(lock, has_room);
        }
        call.queued = std::chrono::steady_clock::now();
        queue_.push_back(std::move(call));
        ++queued_total_;
        // The flusher sleeps until the queue has a call, then until the
        // oldest's deadline or a full batch: only those two need waking it.
        if (queue_.size() == 1 || queue_.size() == options_.max_items) wake_.notify_one();
        return future;
    }

    bool batch_due() const {
        return stopping_ || queue_.size() >= options_.max_items || flush_target_ > applied_total_;
    }

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (queue_.empty()) {
                if (stopping_) return;
                wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                continue;
            }
            wake_.wait_until(lock, queue_.front().queued + options_.max_delay, [&] { return batch_due(); });
            const std::size_t n = std::min(queue_.size(), options_.max_items);
            std::vector<detail::BatchedCall> batch(std::make_move_iterator(queue_.begin()),
                                                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
            queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
            lock.unlock();
            const auto outcomes = detail::write_batch(mgr_, batch);
            lock.lock();
            // Under the lock, so a caller woken by its future finds the room
            // its batch freed, and flush() finds every future ready.
            for (std::size_t i = 0; i < n; ++i) {
                if (outcomes[i])
                    batch[i].done.set_exception(outcomes[i]);
                else
                    batch[i].done.set_value();
            }
            applied_total_ += n;
            room_.notify_all();
            applied_.notify_all();
        }
    }

    Manager& mgr_;
    const BatcherOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;     // the flusher: a call queued, a batch full, a flush, the end
    std::condition_variable room_;     // callers blocked on max_pending
    std::condition_variable applied_;  // flush() callers
    std::vector<detail::BatchedCall> queue_;  // in call order
    std::uint64_t queued_total_ = 0;   // calls ever queued
    std::uint64_t applied_total_ = 0;  // calls ever applied (their futures ready)
    std::uint64_t flush_target_ = 0;   // a flush waits for applied_total_ to reach this
    bool stopping_ = false;
    std::thread flusher_;  // last: started once the members it uses exist
};

}  // namespace strata
