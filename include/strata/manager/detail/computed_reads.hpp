#pragma once

// The definitions of StateManager's computed reads (get_many_or_compute,
// which get_or_compute calls, and the single flight it leads), declared and
// documented in state_manager.hpp.

#include <algorithm>  // sort, unique
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <exception>  // current_exception
#include <functional>  // equal_to, invoke
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strata/manager/state_manager.hpp"

namespace strata {

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
template <class F>
    requires std::invocable<F&, std::span<const std::string>> &&
             std::convertible_to<std::invoke_result_t<F&, std::span<const std::string>>, std::vector<std::string>>
std::vector<std::string> StateManager<C, P, Ts...>::get_many_or_compute(std::span<const std::string> keys, F&& fn,
                                                                       SetOptions opts, ComputeOptions compute) {
    auto found = get_many(keys);
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (!found[i]) missing.push_back(keys[i]);
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    std::unordered_map<std::string, std::string, detail::StringHash, std::equal_to<>> computed;
    if (!missing.empty()) {
        auto flights = flights_.join(missing);
        if (!flights.led.empty()) computed = lead(flights.led, fn, opts);
        for (auto& [key, result] : flights.joined) computed[key] = detail::SingleFlight::wait(key, result, compute.wait);
    }
    std::vector<std::string> out(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
        out[i] = found[i] ? std::move(*found[i]) : computed.find(std::string_view(keys[i]))->second;
    return out;
}

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
template <class F>
auto StateManager<C, P, Ts...>::lead(std::vector<detail::SingleFlight::Lead>& leads, F& fn, SetOptions opts)
    -> std::unordered_map<std::string, std::string, detail::StringHash, std::equal_to<>> {
    std::unordered_map<std::string, std::string, detail::StringHash, std::equal_to<>> values;
    try {
        std::vector<std::string> keys;
        std::vector<std::uint64_t> seen;
        for (const auto& l : leads) {
            keys.push_back(l.key());
            seen.push_back(marks_.snapshot(marks_.slot(l.key())));  // before the read: a write after it shows
        }
        auto now_there = read_many(keys, false);
        std::vector<std::string> absent;
        std::vector<std::uint64_t> absent_seen;
        for (std::size_t j = 0; j < keys.size(); ++j) {
            if (now_there[j]) {
                values.emplace(keys[j], std::move(*now_there[j]));
            } else {
                absent.push_back(keys[j]);
                absent_seen.push_back(seen[j]);
            }
        }
        if (!absent.empty()) {
            std::vector<std::string> made = std::invoke(fn, std::span<const std::string>(absent));
            if (made.size() != absent.size())
                throw Error(ErrorKind::invalid, "manager", "get_many_or_compute",
                            "the function returned " + std::to_string(made.size()) + " values for " +
                                std::to_string(absent.size()) + " keys");
            const auto overtaken = store_unless_written(absent, made, absent_seen, opts);
            // A write that overtook the computation holds the newer value.
            auto newer = overtaken.empty() ? decltype(now_there){} : read_many(overtaken, false);
            for (std::size_t j = 0; j < absent.size(); ++j) values.emplace(absent[j], std::move(made[j]));
            for (std::size_t j = 0; j < overtaken.size(); ++j)
                if (newer[j]) values.find(std::string_view(overtaken[j]))->second = std::move(*newer[j]);
        }
    } catch (...) {
        for (auto& l : leads) l.fail(std::current_exception());
        throw;
    }
    for (auto& l : leads) l.publish(values.find(std::string_view(l.key()))->second);
    return values;
}

template <CachePolicy C, PromotionPolicy P, Tier... Ts>
std::vector<std::string> StateManager<C, P, Ts...>::store_unless_written(const std::vector<std::string>& keys,
                                                                      const std::vector<std::string>& values,
                                                                      const std::vector<std::uint64_t>& seen,
                                                                      SetOptions opts) {
    const auto now = Clock::now();
    std::vector<Entry> entries;
    for (std::size_t j = 0; j < keys.size(); ++j)
        entries.push_back({keys[j], make_record(values[j], 0, expiry(opts, now), now)});
    std::shared_lock gate(write_gate_);
    typename detail::KeyStripes::WriteLock lock(stripes_, stripes_of(entries));
    std::vector<Entry> quiet;
    std::vector<std::string> overtaken;
    for (std::size_t j = 0; j < entries.size(); ++j) {
        if (marks_.quiet_since(marks_.slot(keys[j]), seen[j]))
            quiet.push_back(std::move(entries[j]));
        else
            overtaken.push_back(keys[j]);
    }
    if (!quiet.empty()) write_held(quiet, 0);
    return overtaken;
}

}  // namespace strata
