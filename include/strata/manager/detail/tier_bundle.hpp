#pragma once

#include <algorithm>  // min, move
#include <array>
#include <atomic>
#include <bit>  // countr_zero
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <iterator>  // back_inserter
#include <mutex>
#include <numeric>  // iota
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>  // index_sequence
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/error.hpp"
#include "strata/core/key.hpp"
#include "strata/core/tier.hpp"
#include "strata/core/tier_set.hpp"
#include "strata/core/version_clock.hpp"
#include "strata/manager/detail/lookup.hpp"
#include "strata/manager/detail/stale_keys.hpp"
#include "strata/manager/detail/stale_marks.hpp"
#include "strata/manager/health.hpp"

namespace strata::detail {

// The manager's tiers with what it tracks per tier (failures, stale keys,
// quarantine), and the tier-level halves of its reads and writes. Callers
// hold the key stripes; this class knows nothing of caches or promotion.
//
// Stale marks outlive the process: each one is also a record in the first
// durable tier (detail/stale_marks.hpp), written when a tier is marked and
// erased when the mark is cleared, so a Redis that comes back with old
// copies after the process restarted still never serves them.
template <Tier... Ts>
class TierBundle {
public:
    static constexpr std::size_t count = sizeof...(Ts);
    static constexpr std::array<bool, count> durable{Ts::durable...};
    static constexpr bool has_durable = (Ts::durable || ...);
    static constexpr std::optional<std::size_t> mark_home = [] {
        for (std::size_t i = 0; i < count; ++i)
            if (durable[i]) return std::optional<std::size_t>(i);
        return std::optional<std::size_t>();
    }();
    // Whether any tier's marks are kept: the home tier keeps none of its own.
    static constexpr bool keeps_marks = mark_home && count > 1;

    TierBundle(VersionClock& versions, Ts&&... tiers) : versions_(versions), tiers_(std::move(tiers)...) {}

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

    // Whether reads may pass over tier i while it is quarantined: every write
    // into it also reached a durable tier below, which answers for it.
    static constexpr bool coverable(std::size_t i, bool write_through) {
        return write_through && write_through_of(i).has_value();
    }

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
            if (quarantined(i)) return;  // only coverable tiers are: a colder one answers
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
            if (!store(i, entries, ignored)) mark_stale(i, keys);
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
                clear_stale(i, keys);
            else
                mark_stale(i, keys);
        });
        return n;
    }

    bool store(std::size_t i, std::span<const Entry> entries, std::optional<Error>& failed) {
        bool ok = false;
        visit(i, [&](auto& tier) {
            ok = attempt(i, failed, [&] { tier.store_many(entries); });
            if (ok) clear_stale(i, entries);
        });
        return ok;
    }

    // A quarantined tier's copies are all in doubt, as if every key were stale.
    bool is_stale(std::size_t i, std::string_view key) const { return quarantined(i) || stale_[i].contains(key); }

    template <class Keys>
    void clear_stale(std::size_t i, const Keys& keys) {
        if (stale_[i].empty()) return;
        std::vector<std::string> cleared;
        for (const auto& k : keys)
            if (stale_[i].remove(key_of(k))) cleared.emplace_back(key_of(k));
        if (cleared.empty() || !keeps_marks || i == *mark_home) return;
        std::vector<std::string> names;
        for (const auto& k : cleared) names.push_back(stale_mark_key(i, k));
        std::optional<Error> ignored;  // a mark left behind only makes a later process skip a good copy
        visit(*mark_home, [&](auto& home) { attempt(*mark_home, ignored, [&] { home.erase_many(names); }); });
    }

    std::vector<std::string> stale_keys(std::size_t i) const { return stale_[i].list(); }

    // Reads pass over tier i until release(i); callers check coverable(i).
    void quarantine(std::size_t i) noexcept { quarantined_.fetch_or(bit(i), std::memory_order_acq_rel); }
    void release(std::size_t i) noexcept { quarantined_.fetch_and(~bit(i), std::memory_order_acq_rel); }
    bool quarantined(std::size_t i) const noexcept { return quarantined_.load(std::memory_order_acquire) >> i & 1; }

    // Takes in the marks an earlier process kept; throws what the home tier
    // throws. A mark that fails its checksum names no key any more, so its
    // tier is quarantined whole when reads can pass over it.
    void load_marks(bool write_through) {
        if constexpr (keeps_marks) {
            visit(*mark_home, [&](auto& home) {
                const auto names = home.keys(stale_mark_pattern());
                for (std::size_t from = 0; from < names.size(); from += mark_batch) {
                    const std::span<const std::string> batch(names.data() + from,
                                                             std::min(mark_batch, names.size() - from));
                    const auto records = home.fetch_many(batch);
                    for (std::size_t n = 0; n < batch.size(); ++n) {
                        const auto t = stale_mark_tier(batch[n]);
                        if (!t || *t >= count || *t == *mark_home || !records.at(n)) continue;
                        if (!records[n]->intact()) {
                            counters_[*mark_home].corrupt.fetch_add(1, std::memory_order_relaxed);
                            if (coverable(*t, write_through)) quarantine(*t);
                            continue;
                        }
                        versions_.observe(records[n]->version);
                        stale_[*t].add(records[n]->value);
                    }
                }
            });
        }
    }

    // Every key tier i lists, strata's own left out; throws what it throws.
    std::vector<std::string> list(std::size_t i) {
        std::vector<std::string> keys;
        std::optional<Error> failed;
        visit(i, [&](auto& tier) { attempt(i, failed, [&] { keys = tier.keys("*"); }); });
        if (failed) throw *failed;
        erase_reserved_keys(keys);
        return keys;
    }

    // Tier i's copies of `keys`, read without counting as an access where the
    // tier can (a scrub must not make everything look recently used).
    std::vector<std::optional<Record>> peek(std::size_t i, std::span<const std::string> keys) {
        std::vector<std::optional<Record>> got;
        std::optional<Error> failed;
        visit(i, [&](auto& tier) {
            attempt(i, failed, [&] {
                if constexpr (HasPeekMany<std::remove_cvref_t<decltype(tier)>>)
                    got = tier.peek_many(keys);
                else
                    got = tier.fetch_many(keys);
            });
        });
        if (failed) throw *failed;
        if (got.size() != keys.size())
            throw Error(ErrorKind::invalid, name_of(i), "peek_many", "returned the wrong number of results");
        return got;
    }

    // Repairs tier i's corrupt copies of `keys` from the newest valid copy,
    // wherever it is (a hotter tier holds the newest; a colder one only
    // where it answers for tier i), or erases them where the key is gone
    // or expired. Returns the keys no valid copy can be proven as new for:
    // their copies stay, and reads of them fail with Error{corrupt}.
    std::vector<std::string> repair(std::size_t i, std::span<const std::string> keys, bool write_through) {
        std::vector<std::size_t> all(keys.size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        auto found = search(keys, all, write_through);
        std::vector<Entry> fixed;
        std::vector<std::string> gone, lost;
        for (std::size_t j = 0; j < keys.size(); ++j) {
            auto& l = found[j];
            if (l.doubt || (!l.record && !l.settled))
                lost.push_back(keys[j]);
            else if (!l.record)
                gone.push_back(keys[j]);
            else if (l.tier != i)  // the copy here was rewritten meanwhile otherwise
                fixed.push_back({keys[j], std::move(*l.record)});
        }
        std::optional<Error> failed;
        if (!fixed.empty() && store(i, fixed, failed)) counters_[i].repairs.fetch_add(fixed.size(), std::memory_order_relaxed);
        if (!gone.empty()) erase(i, gone, failed);
        if (failed) throw *failed;
        return lost;
    }

    // The other way round: tier i's copies of `keys` that are newer than
    // the copy of the durable tier it writes through to, or that tier lacks,
    // are stored there (and in the tiers between), for a durable tier that
    // lost what it held. Copies marked stale were superseded and stay where
    // they are. Returns how many were written.
    std::size_t write_back(std::size_t i, std::span<const std::string> keys, bool write_through) {
        const std::size_t commit = commit_of(i, write_through);
        std::vector<std::optional<Record>> held, below;
        std::optional<Error> failed, ignored;
        visit(i, [&](auto& tier) { attempt(i, failed, [&] { held = tier.fetch_many(keys); }); });
        visit(commit, [&](auto& tier) { attempt(commit, failed, [&] { below = tier.fetch_many(keys); }); });
        if (failed) throw *failed;
        const auto now = Clock::now();
        std::vector<Entry> newer;
        for (std::size_t j = 0; j < keys.size(); ++j) {
            auto& h = held.at(j);
            const auto& b = below.at(j);
            if (!h || !h->intact() || h->expired(now) || stale_[i].contains(keys[j])) continue;
            if (!b || !b->intact() || b->version < h->version) newer.push_back({keys[j], std::move(*h)});
        }
        if (newer.empty()) return 0;
        if (!store(commit, newer, failed)) throw *failed;
        std::vector<std::string> names;
        for (const auto& e : newer) names.push_back(e.key);
        for (std::size_t t = commit; t-- > i + 1;)
            if (!store(t, newer, ignored)) mark_stale(t, names);
        return newer.size();
    }

    // Reconciles quarantined tier i for `keys`: its copy of a key goes when
    // it is corrupt or expired, or older than the newest copy elsewhere, or
    // when no other tier holds the key (the durable tiers are the truth:
    // erased while the tier was away). A copy as new as the newest, or newer
    // (a durable tier that fell behind), stays and its mark is cleared.
    // Throws, changing nothing, when the newest copy elsewhere is in doubt.
    // Returns the keys whose copies went.
    std::vector<std::string> reconcile(std::size_t i, std::span<const std::string> keys, bool write_through) {
        std::vector<std::size_t> all(keys.size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        const auto newest = search(keys, all, write_through);
        throw_if_lost(keys, all, newest);
        std::vector<std::optional<Record>> held;
        std::optional<Error> failed;
        visit(i, [&](auto& tier) { attempt(i, failed, [&] { held = tier.fetch_many(keys); }); });
        if (failed) throw *failed;
        const auto now = Clock::now();
        std::vector<std::string> gone, kept;
        for (std::size_t j = 0; j < keys.size(); ++j) {
            const auto& h = held.at(j);
            const auto& n = newest[j].record;
            const bool goes = h && (!h->intact() || h->expired(now) || !n || h->version < n->version);
            (goes ? gone : kept).push_back(keys[j]);
        }
        if (!gone.empty()) erase(i, gone, failed);
        if (failed) throw *failed;
        clear_stale(i, kept);
        return gone;
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
                                c.demotions.load(),
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

    static std::string_view key_of(const std::string& k) noexcept { return k; }
    static std::string_view key_of(const Entry& e) noexcept { return e.key; }

    // Marks keys stale in tier i and keeps the new marks in the home tier.
    // Marks the home tier could not take wait in unsaved_marks_ for the next
    // mark: a write that left one is acknowledged all the same (this process
    // skips the copy), and only a restart before a later save loses it.
    void mark_stale(std::size_t i, std::span<const std::string> keys) {
        std::vector<Entry> marks;
        for (const auto& k : keys)
            if (stale_[i].add(k) && keeps_marks && i != *mark_home)
                marks.push_back({stale_mark_key(i, k), make_record(k, versions_.next())});
        if (marks.empty()) return;
        std::lock_guard lock(unsaved_mutex_);
        std::move(unsaved_marks_.begin(), unsaved_marks_.end(), std::back_inserter(marks));
        unsaved_marks_.clear();
        std::optional<Error> failed;
        visit(*mark_home, [&](auto& home) { attempt(*mark_home, failed, [&] { home.store_many(marks); }); });
        if (failed) unsaved_marks_ = std::move(marks);
    }

    static constexpr std::size_t mark_batch = 1000;

    VersionClock& versions_;
    std::tuple<Ts...> tiers_;
    std::array<TierCounters, count> counters_;
    std::array<StaleKeys, count> stale_;
    std::atomic<std::uint64_t> quarantined_{0};
    std::mutex unsaved_mutex_;
    std::vector<Entry> unsaved_marks_;
};

}  // namespace strata::detail
