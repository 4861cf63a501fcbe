#pragma once

#include <array>
#include <atomic>
#include <bit>  // countr_zero
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

    // Where a write into `target` is acknowledged: the durable tier it goes
    // through to, else the target itself.
    static constexpr std::size_t commit_of(std::size_t target, bool write_through) {
        return write_through ? write_through_of(target).value_or(target) : target;
    }

    // Finds the newest valid copy of keys[at[j]] for each j, one batched call
    // per tier for the keys still unsettled. Copies failing verification are
    // noted for repair; an expired newest copy settles the key as absent.
    //
    // A copy is trusted only if no tier hotter than it may hold a newer one.
    // A tier that failed, or whose copy is corrupt, may, unless it is covered:
    // with write-through, every write into a non-durable tier also reached
    // every tier down to its durable one (or left a stale mark), so a copy
    // found at or above that durable tier, or that tier's answer, stands for
    // it. Anything else leaves the key in doubt (Lookup::doubt).
    std::vector<Lookup> search(std::span<const std::string> keys, const std::vector<std::size_t>& at,
                               bool write_through) {
        std::vector<Lookup> found(at.size());
        const auto now = Clock::now();
        for_each([&](auto& tier, std::size_t i) {
            std::vector<std::size_t> ask;
            for (std::size_t j = 0; j < at.size(); ++j) {
                if (found[j].settled) continue;
                if (stale_[i].contains(keys[at[j]])) {
                    found[j].stale |= bit(i);
                    answered(found[j], i, write_through);  // the manager knows the newest copy is elsewhere
                } else {
                    ask.push_back(j);
                }
            }
            if (ask.empty()) return;
            std::vector<std::string> subset;
            const bool whole = ask.size() == keys.size();  // then at and ask are both the identity
            if (!whole)
                for (auto j : ask) subset.push_back(keys[at[j]]);
            std::vector<std::optional<Record>> got;
            std::optional<Error> failed;
            if (!attempt(i, failed, [&] { got = tier.fetch_many(whole ? keys : std::span<const std::string>(subset)); })) {
                for (auto j : ask) {
                    found[j].failed |= bit(i);
                    found[j].doubt |= bit(i);
                }
                return;
            }
            if (got.size() != ask.size())
                throw Error(ErrorKind::invalid, std::string(tier.name()), "fetch_many",
                            "returned " + std::to_string(got.size()) + " results for " + std::to_string(ask.size()) +
                                " keys");
            auto& c = counters_[i];
            for (std::size_t n = 0; n < ask.size(); ++n) {
                Lookup& l = found[ask[n]];
                auto& r = got[n];
                if (!r) {
                    c.misses.fetch_add(1, std::memory_order_relaxed);
                    answered(l, i, write_through);
                } else if (!r->intact()) {
                    c.corrupt.fetch_add(1, std::memory_order_relaxed);
                    l.corrupt |= bit(i);
                    l.doubt |= bit(i);
                } else {
                    if (r->expired(now)) {
                        l.settled = true;
                    } else {
                        c.hits.fetch_add(1, std::memory_order_relaxed);
                        l.record = std::move(r);
                        l.tier = i;
                        l.settled = true;
                    }
                    answered(l, i, write_through);
                    if (l.doubt) l.record.reset();  // a hotter tier may hold newer: not trusted
                }
            }
        });
        return found;
    }

    // A key whose answer is in doubt, or found nowhere while a copy of it
    // was corrupt, fails the read: answering could serve an older value or
    // lose data. The error names the tier that left the doubt.
    void throw_if_lost(std::span<const std::string> keys, const std::vector<std::size_t>& at,
                       const std::vector<Lookup>& found) {
        for (std::size_t j = 0; j < found.size(); ++j) {
            const auto& l = found[j];
            const auto& key = keys[at[j]];
            if (l.doubt & l.failed) {
                const auto i = lowest(l.doubt & l.failed);
                throw Error(ErrorKind::unavailable, name_of(i), "get",
                            "key '" + key + "': this tier failed and may hold a newer copy than the other tiers");
            }
            if (l.doubt)
                throw Error(ErrorKind::corrupt, name_of(lowest(l.doubt)), "get",
                            "key '" + key + "': this tier's copy fails checksum verification and no valid copy can "
                                            "be proven as new");
            if (!l.record && l.corrupt && !l.settled)
                throw Error(ErrorKind::corrupt, name_of(lowest(l.corrupt)), "get",
                            "every copy of key '" + key + "' failed checksum verification");
        }
    }

    // Writes entries into `target` with the manager's rules, acknowledged
    // tier first: the durable tier it goes through to (the commit point),
    // then every tier between, coldest first, then the target; then hotter
    // copies are erased. A tier between that is skipped would keep an older
    // copy that a restart could bring back. Nothing hotter than the commit
    // point shows the new value before it is durable, so a failed write is
    // never seen. A tier that fails after the commit is marked stale for the
    // keys, so reads skip its older copy. A record that expires also leaves
    // no colder copy behind, or that copy would reappear when it expired.
    void write(std::span<const Entry> entries, std::size_t target, bool write_through) {
        const std::size_t commit = commit_of(target, write_through);
        std::vector<std::string> keys, expiring;
        for (const auto& e : entries) {
            keys.push_back(e.key);
            if (e.record.expires_at) expiring.push_back(e.key);
        }
        std::optional<Error> failed, ignored;
        if (!store(commit, entries, failed)) {
            // A timeout may still have applied the write: hotter copies it
            // covers could then be older than it, so they go (or are marked).
            for (std::size_t i = 0; i < commit; ++i)
                if (!durable[i] && write_through_of(i) == commit) erase(i, keys, ignored);
            throw *failed;
        }
        for (std::size_t i = commit; i-- > target;)
            if (!store(i, entries, ignored)) mark_stale(i, entries);
        for (std::size_t i = 0; i < target; ++i) erase(i, keys, ignored);
        for (std::size_t i = commit + 1; i < count && !expiring.empty(); ++i) erase(i, expiring, ignored);
    }

    // The newest version tier i holds of any of `keys` (0 if none).
    std::uint64_t newest_version(std::size_t i, std::span<const std::string> keys) {
        std::uint64_t newest = 0;
        visit(i, [&](auto& tier) {
            for (const auto& r : tier.fetch_many(keys))
                if (r && r->version > newest) newest = r->version;
        });
        return newest;
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

    void clear_stale(std::size_t i, std::span<const std::string> keys) {
        for (const auto& k : keys) stale_[i].remove(k);
    }

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
                                c.last_call_ok.load(),
                                TierCounters::when(c.last_failure),
                                TierCounters::when(c.last_success)};
        });
        return out;
    }

    std::string name_of(std::size_t i) {
        std::string n;
        visit(i, [&](auto& tier) { n = std::string(tier.name()); });
        return n;
    }

private:
    static constexpr std::uint64_t bit(std::size_t i) { return std::uint64_t{1} << i; }
    static std::size_t lowest(std::uint64_t mask) { return static_cast<std::size_t>(std::countr_zero(mask)); }

    // Tier i answered for the key (a copy, a miss, or a known-stale skip):
    // doubts it covers are lifted.
    static void answered(Lookup& l, std::size_t i, bool write_through) {
        if (!l.doubt) return;
        for (auto d = l.doubt; d;) {
            const auto u = lowest(d);
            d &= d - 1;
            const auto covering = write_through && !durable[u] ? write_through_of(u) : std::nullopt;
            if (covering && *covering >= i) l.doubt &= ~bit(u);
        }
    }

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
