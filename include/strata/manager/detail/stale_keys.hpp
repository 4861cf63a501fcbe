#pragma once

#include <atomic>
#include <cstddef>  // size_t
#include <mutex>
#include <string>
#include <string_view>
#include <functional>  // equal_to
#include <unordered_set>
#include <vector>

#include "strata/core/detail/string_hash.hpp"

namespace strata::detail {

// Keys whose last write or erase failed in one tier, so that tier may still
// hold an older copy. Reads skip the tier for these keys (the hottest copy
// would otherwise be stale) until an erase there succeeds. The empty check is
// one atomic load, so a healthy tier costs nothing.
class StaleKeys {
public:
    bool empty() const noexcept { return count_.load(std::memory_order_acquire) == 0; }

    bool contains(std::string_view key) const {
        if (empty()) return false;
        std::lock_guard lock(mutex_);
        return keys_.find(key) != keys_.end();
    }

    // Both return whether the set changed: only a change is made durable.
    bool add(std::string_view key) {
        std::lock_guard lock(mutex_);
        if (!keys_.emplace(key).second) return false;
        count_.fetch_add(1, std::memory_order_release);
        return true;
    }

    bool remove(std::string_view key) {
        if (empty()) return false;
        std::lock_guard lock(mutex_);
        auto it = keys_.find(key);
        if (it == keys_.end()) return false;
        keys_.erase(it);
        count_.fetch_sub(1, std::memory_order_release);
        return true;
    }

    std::vector<std::string> list() const {
        std::lock_guard lock(mutex_);
        return {keys_.begin(), keys_.end()};
    }

    std::size_t size() const noexcept { return count_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mutex_;
    std::unordered_set<std::string, StringHash, std::equal_to<>> keys_;
    std::atomic<std::size_t> count_{0};
};

}  // namespace strata::detail
