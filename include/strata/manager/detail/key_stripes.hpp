#pragma once

#include <algorithm>  // sort, unique
#include <atomic>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <functional>  // hash
#include <memory>      // unique_ptr
#include <mutex>
#include <string_view>
#include <vector>

namespace strata::detail {

// Orders writes per key without a global lock. Each stripe has a mutex that
// writers hold for the whole write (so two writes of one key cannot
// interleave across tiers) and a sequence, bumped when a write begins (odd:
// a write is inside) and when it ends (even again). Readers never wait: they
// note the sequence before reading; one that is still even and unchanged
// afterwards proves no write of the stripe overlapped the read. To cache,
// promote or repair what they read, readers try_lock the stripe and act only
// if the sequence is unchanged.
class KeyStripes {
public:
    explicit KeyStripes(std::size_t count) : count_(count ? count : 1), stripes_(std::make_unique<Stripe[]>(count_)) {}

    std::size_t index(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key) % count_; }

    std::uint64_t sequence(std::size_t stripe) const noexcept {
        return stripes_[stripe].sequence.load(std::memory_order_acquire);
    }

    // No write of the stripe was inside at `seen` or began since.
    bool quiet_since(std::size_t stripe, std::uint64_t seen) const noexcept {
        return seen % 2 == 0 && sequence(stripe) == seen;
    }

    // Holds a set of stripes for a write; bumps their sequences on taking
    // and on releasing them.
    class WriteLock {
    public:
        WriteLock(KeyStripes& owner, std::vector<std::size_t> stripes) : owner_(&owner), stripes_(std::move(stripes)) {
            std::sort(stripes_.begin(), stripes_.end());  // one global order: no deadlock
            stripes_.erase(std::unique(stripes_.begin(), stripes_.end()), stripes_.end());
            for (auto s : stripes_) {
                owner_->stripes_[s].mutex.lock();
                owner_->stripes_[s].sequence.fetch_add(1, std::memory_order_acq_rel);
            }
        }
        WriteLock(const WriteLock&) = delete;
        WriteLock& operator=(const WriteLock&) = delete;
        ~WriteLock() {
            for (auto s : stripes_) {
                owner_->stripes_[s].sequence.fetch_add(1, std::memory_order_release);
                owner_->stripes_[s].mutex.unlock();
            }
        }

    private:
        KeyStripes* owner_;
        std::vector<std::size_t> stripes_;
    };

    // For readers: holds a stripe only if it was free and unchanged since
    // `seen`; otherwise owns nothing and the reader skips its follow-up.
    class FollowUp {
    public:
        FollowUp(KeyStripes& owner, std::size_t stripe, std::uint64_t seen) : owner_(&owner), stripe_(stripe) {
            auto& s = owner_->stripes_[stripe_];
            held_ = s.mutex.try_lock();
            if (held_ && !owner_->quiet_since(stripe_, seen)) {
                s.mutex.unlock();
                held_ = false;
            }
        }
        FollowUp(const FollowUp&) = delete;
        FollowUp& operator=(const FollowUp&) = delete;
        FollowUp(FollowUp&& o) noexcept : owner_(o.owner_), stripe_(o.stripe_), held_(o.held_) { o.held_ = false; }
        ~FollowUp() {
            if (held_) owner_->stripes_[stripe_].mutex.unlock();
        }
        explicit operator bool() const noexcept { return held_; }

    private:
        KeyStripes* owner_;
        std::size_t stripe_;
        bool held_ = false;
    };

private:
    struct Stripe {
        std::mutex mutex;
        std::atomic<std::uint64_t> sequence{0};
    };
    std::size_t count_;
    std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace strata::detail
