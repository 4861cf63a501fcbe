#pragma once

#include <array>
#include <atomic>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>  // index_sequence
#include <vector>

#include "strata/core/error.hpp"
#include "strata/core/tier.hpp"
#include "strata/core/tier_set.hpp"
#include "strata/manager/detail/lookup.hpp"
#include "strata/manager/detail/stale_keys.hpp"
#include "strata/manager/health.hpp"

namespace strata::detail {

// The manager's tiers with what it tracks per tier (failures, stale keys),
// and the tier-level halves of its reads and writes. Callers hold the key
// stripes; this class knows nothing of caches or promotion.
template <Tier... Ts>
class TierBundle {
public:
    static constexpr std::size_t count = sizeof...(Ts);
    static constexpr std::array<bool, count> durable{Ts::durable...};
    static constexpr bool has_durable = (Ts::durable || ...);

    explicit TierBundle(Ts&&... tiers) : tiers_(std::move(tiers)...) {}

    template <std::size_t I>
    auto& get() noexcept {
        return std::get<I>(tiers_);
    }

    TierSet<Ts...> view() {
        return std::apply([](Ts&... t) { return TierSet<Ts...>(t...); }, tiers_);
    }

    // f(tier, index) for each tier, hottest first.
    template <class F>
    void for_each(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::get<I>(tiers_), I), ...);
        }(std::index_sequence_for<Ts...>{});
    }

    // Runs one call against tier i. A strata::Error is counted and kept in
    // `failed` (the first one wins) instead of propagating.
    template <class F>
    bool attempt(std::size_t i, std::optional<Error>& failed, F&& call) {
        try {
            call();
            counters_[i].succeeded();
            return true;
        } catch (const Error& e) {
            counters_[i].failed();
            if (!failed) failed = e;
            return false;
        }
    }

    // A failure of tier i leaves a read unsure: it may hold what the others
    // lack. A non-durable tier never holds the only copy of an acknowledged
    // write when a durable tier exists.
    static constexpr bool answers_for_absence(std::size_t i) { return durable[i] || !has_durable; }

    // The durable tier a write into `target` also goes to, if any.
    static constexpr std::optional<std::size_t> write_through_of(std::size_t target) {
        if (durable[target]) return std::nullopt;
        for (std::size_t i = target + 1; i < count; ++i)
            if (durable[i]) return i;
        return std::nullopt;
    }

    // Finds the newest valid copy of keys[at[j]] for each j, one batched call
    // per tier for the keys still unsettled. Copies failing verification are
    // noted for repair; an expired newest copy settles the key as absent.
    std::vector<Lookup> search(std::span<const std::string> keys, const std::vector<std::size_t>& at) {
        std::vector<Lookup> found(at.size());
        const auto now = Clock::now();
        for_each([&](auto& tier, std::size_t i) {
            std::vector<std::size_t> ask;
            for (std::size_t j = 0; j < at.size(); ++j) {
                if (found[j].settled) continue;
                if (stale_[i].contains(keys[at[j]]))
                    found[j].stale |= bit(i);
                else
                    ask.push_back(j);
            }
            if (ask.empty()) return;
            std::vector<std::string> subset;
            const bool whole = ask.size() == keys.size();  // then at and ask are both the identity
            if (!whole)
                for (auto j : ask) subset.push_back(keys[at[j]]);
            std::vector<std::optional<Record>> got;
            std::optional<Error> failed;
            if (!attempt(i, failed, [&] { got = tier.fetch_many(whole ? keys : std::span<const std::string>(subset)); })) {
                for (auto j : ask) found[j].unsure |= answers_for_absence(i);
                return;
            }
            if (got.size() != ask.size())
                throw Error(ErrorKind::rejected, std::string(tier.name()), "fetch_many",
                            "returned " + std::to_string(got.size()) + " results for " + std::to_string(ask.size()) +
                                " keys");
            auto& c = counters_[i];
            for (std::size_t n = 0; n < ask.size(); ++n) {
                Lookup& l = found[ask[n]];
                auto& r = got[n];
                if (!r) {
                    c.misses.fetch_add(1, std::memory_order_relaxed);
                } else if (!r->intact()) {
                    c.corrupt.fetch_add(1, std::memory_order_relaxed);
                    l.corrupt |= bit(i);
                } else if (r->expired(now)) {
                    l.settled = true;
                } else {
                    c.hits.fetch_add(1, std::memory_order_relaxed);
                    l.record = std::move(r);
                    l.tier = i;
                    l.settled = true;
                }
            }
        });
        return found;
    }

    // A key found nowhere is absent only if every tier that could hold it
    // answered and no copy of it was corrupt; otherwise saying "absent" could
    // lose data, so the read fails instead.
    void throw_if_lost(std::span<const std::string> keys, const std::vector<std::size_t>& at,
                       const std::vector<Lookup>& found) const {
        for (std::size_t j = 0; j < found.size(); ++j) {
            if (found[j].record) continue;
            if (found[j].corrupt && !found[j].settled)
                throw Error(ErrorKind::corrupt, "", "get",
                            "every copy of key '" + keys[at[j]] + "' failed checksum verification");
            if (found[j].unsure && !found[j].settled)
                throw Error(ErrorKind::unavailable, "", "get",
                            "key '" + keys[at[j]] + "' not found and a tier that may hold it failed");
        }
    }

    // Writes entries into `target` with the manager's rules. Reads go hottest
    // tier first, so writes do too: the target, then the durable copy below
    // it, then hotter copies erased. A reader that already saw the new value
    // in a colder tier then finds it in every hotter one as well. If the
    // durable copy fails the write is not acknowledged and the target's copy
    // is undone. A record that expires also leaves no colder copy behind, or
    // it would reappear when it expired.
    void write(std::span<const Entry> entries, std::size_t target, bool write_through) {
        // `count` stands for "no durable copy"; an optional here trips
        // -Wmaybe-uninitialized in some optimised builds.
        const std::size_t through = write_through ? write_through_of(target).value_or(count) : count;
        std::vector<std::string> keys, expiring;
        for (const auto& e : entries) {
            keys.push_back(e.key);
            if (e.record.expires_at) expiring.push_back(e.key);
        }
        std::optional<Error> failed;
        const bool target_ok = store(target, entries, failed);
        if (!target_ok && through == count) throw *failed;
        if (through != count) {
            std::optional<Error> durable_failed;
            if (!store(through, entries, durable_failed)) {
                if (target_ok) erase(target, keys, failed);  // marks the keys stale if it fails too
                throw *durable_failed;
            }
            if (!target_ok) mark_stale(target, entries);  // the durable copy below is newer; reads skip this one
        }
        for (std::size_t i = 0; i < target; ++i) erase(i, keys, failed);
        for (std::size_t i = target + 1; i < count && !expiring.empty(); ++i)
            if (i != through) erase(i, expiring, failed);
    }

    // Erases keys from tier i; on failure the tier is marked stale for them.
    std::size_t erase(std::size_t i, std::span<const std::string> keys, std::optional<Error>& failed) {
        std::size_t n = 0;
        visit(i, [&](auto& tier) {
            if (attempt(i, failed, [&] { n = tier.erase_many(keys); }))
                for (const auto& k : keys) stale_[i].remove(k);
            else
                for (const auto& k : keys) stale_[i].add(k);
        });
        return n;
    }

    bool store(std::size_t i, std::span<const Entry> entries, std::optional<Error>& failed) {
        bool ok = false;
        visit(i, [&](auto& tier) {
            ok = attempt(i, failed, [&] { tier.store_many(entries); });
            if (ok)
                for (const auto& e : entries) stale_[i].remove(e.key);
        });
        return ok;
    }

    bool is_stale(std::size_t i, std::string_view key) const { return stale_[i].contains(key); }

    detail::TierCounters& counters(std::size_t i) noexcept { return counters_[i]; }

    std::array<TierHealth, count> health() {
        std::array<TierHealth, count> out{};
        for_each([&](auto& tier, std::size_t i) {
            const auto& c = counters_[i];
            out[i] = TierHealth{std::string(tier.name()),
                                std::remove_reference_t<decltype(tier)>::temperature,
                                durable[i],
                                c.hits.load(),
                                c.misses.load(),
                                c.failures.load(),
                                c.corrupt.load(),
                                c.repairs.load(),
                                c.promotions.load(),
                                stale_[i].size(),
                                c.last_call_ok.load()};
        });
        return out;
    }

private:
    static constexpr std::uint64_t bit(std::size_t i) { return std::uint64_t{1} << i; }

    template <class F>
    void visit(std::size_t i, F&& f) {
        for_each([&](auto& tier, std::size_t j) {
            if (j == i) f(tier);
        });
    }

    void mark_stale(std::size_t i, std::span<const Entry> entries) {
        for (const auto& e : entries) stale_[i].add(e.key);
    }

    std::tuple<Ts...> tiers_;
    std::array<TierCounters, count> counters_;
    std::array<StaleKeys, count> stale_;
};

}  // namespace strata::detail
