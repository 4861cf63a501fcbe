#pragma once
// Test-only wrappers around real tiers. MemoryTier cannot fail and does not
// report its round trips, so these add exactly that and nothing else: every
// call still goes to the real tier underneath.

#include <atomic>
#include <chrono>
#include <cstdint>  // uint64_t
#include <functional>
#include <memory>
#include <string_view>
#include <strata/core/capabilities.hpp>
#include <strata/core/error.hpp>
#include <strata/core/tier.hpp>

namespace strata::testing {

struct TierSwitches {
    std::atomic<bool> down{false};
    std::atomic<int> fetch_many_calls{0};
    std::atomic<int> store_many_calls{0};
    // Run with the operation's name before a call reaches the tier and after
    // it returned; either may throw (after: a call that took effect but
    // reported a failure, as a timeout does) or block. Set them before any
    // other thread uses the tier.
    std::function<void(std::string_view)> before, after;
};

// Forwards to T; throws Error{unavailable} while switches->down is set, runs
// the hooks, and counts batch calls. Temperature and durability are T's
// unless overridden. Each optional capability (core/capabilities.hpp) is
// forwarded exactly when T has it, so a test sees the manager's fallback
// for a tier that lacks one.
template <class T, Temperature Temp = T::temperature, bool Durable = T::durable>
class Switchable {
public:
    static constexpr Temperature temperature = Temp;
    static constexpr bool durable = Durable;

    explicit Switchable(T tier, std::shared_ptr<TierSwitches> s = std::make_shared<TierSwitches>())
        : tier_(std::move(tier)), switches_(std::move(s)) {}

    TierSwitches& switches() { return *switches_; }
    T& inner() { return tier_; }

    std::string_view name() const { return tier_.name(); }
    std::optional<Record> fetch(std::string_view k) {
        return call("fetch", [&] { return tier_.fetch(k); });
    }
    void store(std::string_view k, const Record& r) {
        call("store", [&] { return tier_.store(k, r); });
    }
    bool erase(std::string_view k) {
        return call("erase", [&] { return tier_.erase(k); });
    }
    std::vector<std::string> keys(std::string_view g) {
        return call("keys", [&] { return tier_.keys(g); });
    }
    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> k) {
        return call("fetch_many", [&] {
            ++switches_->fetch_many_calls;
            return tier_.fetch_many(k);
        });
    }
    void store_many(std::span<const Entry> e) {
        call("store_many", [&] {
            ++switches_->store_many_calls;
            tier_.store_many(e);
        });
    }
    std::size_t erase_many(std::span<const std::string> k) {
        return call("erase_many", [&] { return tier_.erase_many(k); });
    }
    TierStats stats() {
        return call("stats", [&] { return tier_.stats(); });
    }
    bool ping() { return !switches_->down && tier_.ping(); }
    std::vector<std::optional<Record>> peek_many(std::span<const std::string> k)
        requires HasPeekMany<T>
    {
        return call("peek_many", [&] { return tier_.peek_many(k); });
    }
    std::vector<std::string> idle_keys(std::chrono::milliseconds older)
        requires HasIdleKeys<T>
    {
        return call("idle_keys", [&] { return tier_.idle_keys(older); });
    }
    std::size_t sweep_expired()
        requires HasSweepExpired<T>
    {
        return call("sweep_expired", [&] { return static_cast<std::size_t>(tier_.sweep_expired()); });
    }
    std::vector<std::string> changed_since(std::uint64_t version)
        requires HasChangedSince<T>
    {
        return call("changed_since", [&] { return tier_.changed_since(version); });
    }

private:
    template <class F>
    auto call(std::string_view op, F&& f) {
        if (switches_->down)
            throw Error(ErrorKind::unavailable, std::string(tier_.name()), std::string(op), "switched off by the test");
        if (switches_->before) switches_->before(op);
        if constexpr (std::is_void_v<decltype(f())>) {
            f();
            if (switches_->after) switches_->after(op);
        } else {
            auto result = f();
            if (switches_->after) switches_->after(op);
            return result;
        }
    }

    T tier_;
    std::shared_ptr<TierSwitches> switches_;
};

}  // namespace strata::testing
