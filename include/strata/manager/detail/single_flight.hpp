#pragma once

#include <chrono>
#include <cstddef>  // size_t
#include <exception>  // exception_ptr
#include <functional>  // equal_to
#include <future>
#include <memory>  // shared_ptr
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>  // this_thread::get_id
#include <unordered_map>
#include <utility>  // exchange, pair
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/detail/string_hash.hpp"

namespace strata::detail {

// One computation per key at a time (get_or_compute): the first caller to
// miss a key leads, the others join and wait for the leader's outcome. A key
// leaves the table when its leader publishes, so the next miss after that
// leads again. Waiters hold the shared future, not the table entry: one that
// gives up at its deadline leaves the others and the leader untouched.
class SingleFlight {
public:
    using Result = std::shared_future<std::string>;

    // A led computation: publish exactly once (value or error); a Lead
    // dropped without publishing (the leader's own code threw before it
    // could) fails its waiters rather than leave them waiting.
    class Lead {
    public:
        Lead(SingleFlight& owner, std::string key) : owner_(&owner), key_(std::move(key)) {}
        Lead(Lead&& o) noexcept
            : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)), promise_(std::move(o.promise_)) {}
        Lead(const Lead&) = delete;
        Lead& operator=(const Lead&) = delete;
        Lead& operator=(Lead&&) = delete;
        ~Lead() {
            if (owner_)
                fail(std::make_exception_ptr(
                    Error(ErrorKind::invalid, "manager", "get_or_compute", "the computation of '" + key_ + "' was abandoned")));
        }

        const std::string& key() const noexcept { return key_; }

        void publish(const std::string& value) {
            owner_->leave(key_);
            promise_->set_value(value);
            owner_ = nullptr;
        }
        void fail(std::exception_ptr error) {
            owner_->leave(key_);
            promise_->set_exception(std::move(error));
            owner_ = nullptr;
        }

    private:
        friend class SingleFlight;
        SingleFlight* owner_;
        std::string key_;
        std::shared_ptr<std::promise<std::string>> promise_;
    };

    // Each of `keys` (no duplicates) either led by this caller (the Lead to
    // publish) or already in flight (the result to wait for).
    struct Joined {
        std::vector<Lead> led;
        std::vector<std::pair<std::string, Result>> joined;
    };

    Joined join(const std::vector<std::string>& keys) {
        Joined out;
        const auto self = std::this_thread::get_id();
        std::unique_lock lock(mutex_);
        for (const auto& key : keys)  // a leader waiting for its own result would wait forever
            if (auto it = flights_.find(std::string_view(key)); it != flights_.end() && it->second.leader == self) {
                lock.unlock();
                throw Error(ErrorKind::invalid, "manager", "get_or_compute",
                            "the computation of '" + key + "' asked for the same key");
            }
        for (const auto& key : keys) {
            if (auto it = flights_.find(std::string_view(key)); it != flights_.end()) {
                out.joined.emplace_back(key, it->second.result);
                continue;
            }
            auto promise = std::make_shared<std::promise<std::string>>();
            flights_.emplace(key, Flight{promise->get_future().share(), self});
            Lead lead(*this, key);
            lead.promise_ = std::move(promise);
            out.led.push_back(std::move(lead));
        }
        return out;
    }

    // The leader's value, or its error rethrown; Error{timeout} if it is not
    // there within `wait` (the computation goes on for the others).
    static std::string wait(const std::string& key, const Result& result,
                            std::optional<std::chrono::milliseconds> wait) {
        if (wait && result.wait_for(*wait) != std::future_status::ready)
            throw Error(ErrorKind::timeout, "manager", "get_or_compute",
                        "gave up waiting " + std::to_string(wait->count()) + " ms for the computation of '" + key + "'");
        return result.get();
    }

private:
    struct Flight {
        Result result;
        std::thread::id leader;
    };

    void leave(const std::string& key) {
        std::lock_guard lock(mutex_);
        flights_.erase(key);
    }

    std::mutex mutex_;
    std::unordered_map<std::string, Flight, StringHash, std::equal_to<>> flights_;
};

}  // namespace strata::detail
