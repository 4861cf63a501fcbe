#pragma once

#include <algorithm>  // erase
#include <atomic>
#include <cstddef>  // size_t
#include <memory>   // shared_ptr
#include <mutex>
#include <new>  // bad_alloc
#include <string_view>
#include <span>
#include <string>
#include <type_traits>  // is_same_v, remove_cvref_t
#include <utility>      // swap
#include <vector>

#include "strata/core/record.hpp"

namespace strata::detail {

// The keys writes touched while a tool watched (StateManager::journal_writes).
class WriteJournal {
public:
    // Every key noted since the last drain, in no particular order, a key
    // written once noted twice (as its write began and ended). Throws
    // if a key could not be noted (out of memory): the journal is then
    // incomplete and the tool must not rely on it.
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        std::lock_guard lock(mutex_);
        if (incomplete_) throw std::bad_alloc();
        std::swap(out, keys_);
        return out;
    }

    void note(std::string_view key) noexcept {
        std::lock_guard lock(mutex_);
        try {
            keys_.emplace_back(key);
        } catch (...) {
            incomplete_ = true;  // a write that already happened must not fail for this
        }
    }

private:
    std::mutex mutex_;
    std::vector<std::string> keys_;
    bool incomplete_ = false;
};

// The open journals of one manager. Writes note their keys when they begin
// and again when they end, holding their key stripes throughout. Ending: a
// write that ended before a journal opened has left every tier as it will
// stay, so a listing begun after the opening sees it. Beginning: a write
// still going on when the tool drains is named all the same, so the tool
// reads its keys once it ends (a listing may have seen a key that an erase
// then removed before the tool asked what changed). With no journal open, a
// write pays one atomic load each time.
class WriteJournals {
public:
    std::shared_ptr<WriteJournal> open() {
        auto j = std::make_shared<WriteJournal>();
        std::lock_guard lock(mutex_);
        journals_.push_back(j);
        count_.fetch_add(1, std::memory_order_seq_cst);
        return j;
    }

    template <class Range>
    void note(const Range& items) noexcept {
        if (count_.load(std::memory_order_seq_cst) == 0) return;
        std::lock_guard lock(mutex_);
        // A journal its tool dropped is closed here.
        std::erase_if(journals_, [](const auto& j) { return j.use_count() == 1; });
        count_.store(journals_.size(), std::memory_order_seq_cst);
        for (const auto& j : journals_)
            for (const auto& item : items) {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, Entry>)
                    j->note(item.key);
                else
                    j->note(item);
            }
    }

private:
    std::mutex mutex_;
    std::vector<std::shared_ptr<WriteJournal>> journals_;
    std::atomic<std::size_t> count_{0};
};

// Notes `items` (keys or entries) when the write that holds it begins and
// when it ends, also when it fails: a failed write may have moved copies too.
template <class Range>
class Journaled {
public:
    Journaled(WriteJournals& journals, const Range& items) : journals_(journals), items_(items) {
        journals_.note(items_);
    }
    Journaled(const Journaled&) = delete;
    Journaled& operator=(const Journaled&) = delete;
    ~Journaled() { journals_.note(items_); }

private:
    WriteJournals& journals_;
    const Range& items_;
};

}  // namespace strata::detail
