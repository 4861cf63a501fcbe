#pragma once

#include <algorithm>  // sort, unique, max, min
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <functional>  // equal_to, invoke
#include <ranges>      // input_range
#include <stdexcept>   // invalid_argument
#include <type_traits>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <memory>  // shared_ptr
#include <mutex>
#include <optional>
#include <shared_mutex>  // shared_lock
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>  // index_sequence
#include <vector>

#include "strata/cache/cache_policy.hpp"
#include "strata/core/capabilities.hpp"
#include "strata/core/error.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/tier.hpp"
#include "strata/core/detail/string_hash.hpp"
#include "strata/core/tier_set.hpp"
#include "strata/core/version_clock.hpp"
#include "strata/core/where.hpp"
#include "strata/manager/detail/key_stripes.hpp"
#include "strata/manager/detail/lookup.hpp"
#include "strata/manager/detail/single_flight.hpp"
#include "strata/manager/detail/tier_stats_cache.hpp"
#include "strata/manager/detail/tier_bundle.hpp"
#include "strata/manager/detail/write_gate.hpp"
#include "strata/manager/detail/write_journal.hpp"
#include "strata/manager/detail/write_marks.hpp"
#include "strata/manager/health.hpp"
#include "strata/manager/options.hpp"
#include "strata/manager/tier_repair.hpp"
#include "strata/promotion/promotion_policy.hpp"

namespace strata {

// The state of a service over tiers listed hottest first, with a cache in
// front and a promotion policy between them, all fixed at compile time.
//
// Reads take the first valid copy, hottest tier first; corrupt copies are
// skipped and repaired. Writes keep one invariant: for every key, the copy
// in the hottest tier that holds it is the newest. A write into a tier that
// is not durable also reaches the first durable tier below it before it
// returns, so no acknowledged write is lost with a non-durable tier.
template <CachePolicy C, PromotionPolicy P, Tier... Ts>
class StateManager {
    static_assert(sizeof...(Ts) > 0, "strata::StateManager needs at least one tier");
    static_assert(sizeof...(Ts) <= 64, "strata::StateManager holds at most 64 tiers");

public:
    using Options = ManagerOptions;
    using cache_type = C;
    using promotion_type = P;
    static constexpr std::size_t tier_count = sizeof...(Ts);

    StateManager(C cache, P promotion, Ts... tiers)
        : StateManager(Options{}, std::move(cache), std::move(promotion), std::move(tiers)...) {}

    StateManager(Options options, C cache, P promotion, Ts... tiers)
        : options_(options),
          cache_(std::move(cache)),
          promotion_(std::move(promotion)),
          tiers_(versions_, std::move(tiers)...),
          stripes_(options.lock_stripes),
          marks_(options.write_mark_slots) {
        load_stale_marks();
    }

    StateManager(const StateManager&) = delete;
    StateManager& operator=(const StateManager&) = delete;

    // ---- reads ---------------------------------------------------------

    std::optional<std::string> get(std::string_view key) {
        validate_key(key);
        if (auto hit = cache_.lookup(key)) {
            cache_counters_.hits.fetch_add(1, std::memory_order_relaxed);
            return hit;
        }
        cache_counters_.misses.fetch_add(1, std::memory_order_relaxed);
        const std::string owned(key);
        return std::move(read_through(std::span<const std::string>(&owned, 1), {0})[0]);
    }

    // One batched call per tier for the keys still missing, so N keys over
    // three tiers cost at most three round trips.
    std::vector<std::optional<std::string>> get_many(std::span<const std::string> keys) {
        for (const auto& k : keys) validate_key(k);
        return read_many(keys, true);
    }

    // get, and on a miss the value `fn()` returns, stored as set(key, value,
    // opts) would: a summary cached with a TTL is computed again once it
    // expires. One caller per key computes at a time (single flight); the
    // others wait for its value, or for its exception, which reaches each of
    // them and stores nothing. A write of the key while `fn` runs wins: its
    // value is kept (and returned) instead of `fn`'s older one.
    template <class F>
        requires std::invocable<F&> && std::convertible_to<std::invoke_result_t<F&>, std::string>
    std::string get_or_compute(std::string_view key, F&& fn, SetOptions opts = {}, ComputeOptions compute = {}) {
        const std::string owned(key);
        auto values = get_many_or_compute(
            std::span<const std::string>(&owned, 1),
            [&](std::span<const std::string>) { return std::vector<std::string>{std::string(std::invoke(fn))}; },
            opts, compute);
        return std::move(values[0]);
    }

    // The batch form: the keys missing everywhere (and not being computed by
    // another caller) go to `fn` in one call, which returns their values in
    // the same order.
    template <class F>
        requires std::invocable<F&, std::span<const std::string>> &&
                 std::convertible_to<std::invoke_result_t<F&, std::span<const std::string>>, std::vector<std::string>>
    std::vector<std::string> get_many_or_compute(std::span<const std::string> keys, F&& fn, SetOptions opts = {},
                                                 ComputeOptions compute = {});

    // Sorted, without duplicates, across every tier.
    std::vector<std::string> keys(std::string_view pattern) {
        const Glob glob(pattern);  // a malformed pattern fails before any tier is asked
        std::vector<std::string> all;
        std::optional<Error> unsure;
        tiers_.for_each([&](auto& tier, std::size_t i) {
            std::optional<Error> failed;
            tiers_.attempt(i, failed, [&] {
                auto ks = tier.keys(pattern);
                for (auto& k : ks)  // a stale key was erased here, but the erase failed
                    if (!tiers_.is_stale(i, k) && !is_reserved_key(k)) all.push_back(std::move(k));
            });
            if (failed && bundle::answers_for_absence(i) && !unsure) unsure = std::move(failed);
        });
        if (unsure) throw *unsure;
        std::sort(all.begin(), all.end());
        all.erase(std::unique(all.begin(), all.end()), all.end());
        return all;
    }

    // ---- writes --------------------------------------------------------

    void set(std::string_view key, std::string_view value, SetOptions opts = {}) { set(key, value, at<0>, opts); }

    template <WhereTag W>
    void set(std::string_view key, std::string_view value, W, SetOptions opts = {}) {
        validate_key(key);
        const auto now = Clock::now();
        std::vector<Entry> entries;
        entries.push_back({std::string(key), make_record(std::string(value), 0, expiry(opts, now), now)});
        write(entries, index_of<W>());
    }

    // Takes any range of (key, value) pairs; a key given twice keeps its last value.
    template <std::ranges::input_range R>
    void set_many(const R& pairs, SetOptions opts = {}) {
        set_many(pairs, at<0>, opts);
    }

    template <std::ranges::input_range R, WhereTag W>
    void set_many(const R& pairs, W, SetOptions opts = {}) {
        for (const auto& [key, value] : pairs) validate_key(key);
        const auto now = Clock::now();
        const auto expires = expiry(opts, now);
        std::vector<Entry> entries;
        std::unordered_map<std::string, std::size_t, detail::StringHash, std::equal_to<>> position;
        for (const auto& [key, value] : pairs) {
            auto record = make_record(std::string(value), 0, expires, now);
            if (auto it = position.find(std::string_view(key)); it != position.end()) {
                entries[it->second].record = std::move(record);
            } else {
                position.emplace(std::string(key), entries.size());
                entries.push_back({std::string(key), std::move(record)});
            }
        }
        if (!entries.empty()) write(entries, index_of<W>());
    }

    // Removes the key from every tier and the cache; true if any held it.
    bool erase(std::string_view key) {
        validate_key(key);
        const std::string owned(key);
        return erase_everywhere(std::span<const std::string>(&owned, 1)) > 0;
    }

    // Removes the keys from every tier; returns how many the tier holding the
    // most of them had (so every key that reached a durable tier counts once).
    std::size_t erase_many(std::span<const std::string> keys) {
        for (const auto& k : keys) validate_key(k);
        return keys.empty() ? 0 : erase_everywhere(keys);
    }

    // Removes the keys from one tier only: a colder copy, if any, shows again.
    template <WhereTag W>
    std::size_t erase_many(std::span<const std::string> keys, W) {
        for (const auto& k : keys) validate_key(k);
        const auto changing = change_of(keys);
        for (const auto& k : keys) cache_.invalidate(k);  // first, as in write_locked
        std::optional<Error> failed;
        const std::size_t n = tiers_.erase(index_of<W>(), keys, failed);
        if (failed) throw *failed;
        return n;
    }

    // ---- moving keys between tiers ---------------------------------------

    // Copies the key's newest copy into the hottest tier; false if absent.
    bool promote(std::string_view key) {
        validate_key(key);
        const std::string owned(key);
        const std::span<const std::string> one(&owned, 1);
        std::shared_lock gate(write_gate_);
        typename detail::KeyStripes::WriteLock lock(stripes_, stripes_of(one));
        auto found = find(one, {0});
        if (!found[0].record) return false;
        if (found[0].tier == 0) return true;
        std::optional<Error> failed;
        const Entry entry{owned, std::move(*found[0].record)};
        if (!tiers_.store(0, std::span<const Entry>(&entry, 1), failed)) throw *failed;
        tiers_.counters(0).promotions.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    // Moves the key down to the tier `where` names, erasing hotter copies.
    // False if the key is absent or already lives only colder than that.
    template <WhereTag W>
    bool demote(std::string_view key, W) {
        validate_key(key);
        const std::string owned(key);
        return demote_found(std::span<const std::string>(&owned, 1), std::nullopt, index_of<W>()) == 1;
    }

    // Moves every key that a tier hotter than `where` reports idle for longer
    // than `older_than` (and that no hotter tier holds) down to `where`;
    // returns how many moved. Tiers without idle_keys() are passed over.
    template <WhereTag W>
    std::size_t demote_idle(std::chrono::milliseconds older_than, W) {
        constexpr std::size_t target = index_of<W>();
        std::size_t moved = 0;
        tiers_.for_each([&](auto& tier, std::size_t i) {
            if constexpr (HasIdleKeys<std::remove_cvref_t<decltype(tier)>>) {
                if (i >= target) return;
                std::optional<Error> failed;
                std::vector<std::string> idle;
                tiers_.attempt(i, failed, [&] { idle = tier.idle_keys(older_than); });
                for (std::size_t from = 0; from < idle.size(); from += demote_batch) {
                    const auto n = std::min(demote_batch, idle.size() - from);
                    moved += demote_found(std::span<const std::string>(idle.data() + from, n), i, target);
                }
            }
        });
        return moved;
    }

    // Runs sweep_expired() on every tier that has one (core/capabilities.hpp)
    // and returns how many expired records went in all. Tiers without one are
    // skipped: Redis expires keys itself. A tier that fails does not stop the
    // others; once all ran, the first failure is thrown (and every failure is
    // counted in health()), so the caller cannot mistake a partial sweep for
    // a whole one.
    std::size_t sweep_expired() {
        std::size_t removed = 0;
        std::optional<Error> failed;
        tiers_.for_each([&](auto& tier, std::size_t i) {
            if constexpr (HasSweepExpired<std::remove_cvref_t<decltype(tier)>>)
                tiers_.attempt(i, failed, [&] { removed += tier.sweep_expired(); });
        });
        if (failed) throw *failed;
        return removed;
    }

    // ---- a tier that comes back ------------------------------------------

    // Reads pass over the tier (as does keys(), and tools see its copies as
    // stale) until reconcile() succeeds; writes still reach it. For a tier
    // whose copies may be older than they look: one that was away, or
    // restarted with old data. std::invalid_argument unless a durable tier
    // below answers for it (a non-durable tier with write_through on).
    void quarantine(std::size_t tier) {
        check_coverable(tier, "quarantine");
        tiers_.quarantine(tier);
    }

    bool quarantined(std::size_t tier) const { return tier < tier_count && tiers_.quarantined(tier); }

    // Whether `tier` may be quarantined: every write into it also reaches a
    // durable tier below (write_through_of), which answers for it meanwhile.
    bool coverable(std::size_t tier) const noexcept {
        return tier < tier_count && bundle::coverable(tier, options_.write_through);
    }

    // The durable tier a write into `tier` also reaches, if any.
    std::optional<std::size_t> write_through_of(std::size_t tier) const noexcept {
        if (tier >= tier_count || !options_.write_through) return std::nullopt;
        return bundle::write_through_of(tier);
    }

    // Makes the tier fit to serve again and lifts its quarantine: every copy
    // it holds is compared, a batch of keys at a time (writes of those keys
    // wait), with the newest copy in the tiers below, and goes when it is
    // older, corrupt, expired, or gone below (durable tiers are the truth);
    // cached values of those keys go too.
    // Reads pass over the tier meanwhile. Marks kept by an earlier process
    // are read first if they could not be at construction. Throws, leaving
    // the tier quarantined, when a tier it needs fails.
    ReconcileReport reconcile(std::size_t tier);

    // For a durable tier that came back empty or behind: every copy in
    // `tier` (a non-durable tier with a durable tier below) newer than the
    // durable tier's, or missing there, is written down to it, a batch at a
    // time (writes of those keys wait). Copies marked stale stay. Returns
    // how many were written.
    std::size_t write_back(std::size_t tier);

    // Copies the newest copy of each key into the tier where only colder
    // tiers hold it (re-warming a tier that came back empty), in batches;
    // returns how many were copied. Keys whose newest copy is in doubt, or
    // absent, are passed over.
    std::size_t warm(std::size_t tier, std::span<const std::string> keys);

    // Reads every copy in every tier, `batch` keys at a time, and repairs
    // each corrupt one from the newest valid copy (or erases it where the key
    // is gone); copies no valid one can be proven as new for are listed and
    // left. Writes of a batch's corrupt keys wait while they are repaired.
    // Throws what a failing tier throws.
    ScrubReport scrub(std::size_t batch = demote_batch);

    // ---- direct access -------------------------------------------------

    template <class Selector>
    auto& tier() {
        return tiers_.template get<detail::resolve_tier_index<Selector, Ts...>()>();
    }

    template <std::size_t I>
    auto& tier() {
        static_assert(I < tier_count, "strata: at<I> is out of range: the manager has fewer tiers");
        return tiers_.template get<(I < tier_count ? I : 0)>();
    }

    // Every tier, for direct access that bypasses cache and promotion.
    TierSet<Ts...> tiers() { return tiers_.view(); }

    C& cache() noexcept { return cache_; }
    P& promotion() noexcept { return promotion_; }
    const Options& options() const noexcept { return options_; }
    std::array<TierHealth, tier_count> health() { return tiers_.health(); }
    // What tier i's stats() says, read at most every
    // options().tier_stats_max_age; nullopt when the tier could not say.
    std::optional<TierStats> tier_stats(std::size_t tier) {
        if (tier >= tier_count) throw std::invalid_argument("strata: tier_stats: tier index out of range");
        return tier_stats_.get(tier, options_.tier_stats_max_age, [&] {
            TierStats st;
            tiers_.for_each([&](auto& t, std::size_t i) {
                if (i == tier) st = t.stats();
            });
            return st;
        });
    }

    CacheHealth cache_health() const {
        return {cache_counters_.hits.load(std::memory_order_relaxed),
                cache_counters_.misses.load(std::memory_order_relaxed), cache_.size(), cache_.capacity()};
    }

    class WritePause;

    // The one way for tools (checkpoints, backups, recovery) to change tiers
    // behind the manager: holds back every write through the manager while
    // the pause lives (reads go on), waiting only for the writes already
    // inside; writes that come later wait behind it. See WritePause.
    [[nodiscard]] WritePause pause_writes() { return WritePause(*this); }

    // For tools that read tiers directly: tier i's copy of `key` is not the
    // newest (a write or erase there failed after a colder tier took the new
    // state), so it must not be captured as the tier's content.
    bool is_stale(std::size_t tier, std::string_view key) const { return tiers_.is_stale(tier, key); }

    // For tools that read while writes go on: every key a write or erase
    // through the manager touches from now on, until the journal is dropped.
    // A tool lists tiers one after another; a key moved between tiers
    // meanwhile (a demotion, a write that erases colder copies) may be in
    // no listing, but it is in the journal.
    [[nodiscard]] std::shared_ptr<detail::WriteJournal> journal_writes() { return journals_.open(); }

    // Holds back writes of these keys only, while the hold lives: a tool
    // reads every tier's copy of them at one instant, between writes.
    [[nodiscard]] detail::KeyStripes::WriteLock hold_keys(std::span<const std::string> keys) {
        return detail::KeyStripes::WriteLock(stripes_, stripes_of(keys));
    }

    // The newest version handed out or read back: a cut between writes.
    std::uint64_t current_version() const noexcept { return versions_.current(); }

    // The newest version of a write this manager acknowledged (0: none yet).
    // Versions are microseconds since the epoch, so this less a restore
    // point's cut bounds what restoring it lost.
    std::uint64_t acknowledged_version() const noexcept { return acknowledged_.load(std::memory_order_acquire); }

    // Drops every cached value, after tiers were changed behind the manager.
    void invalidate_cache() { cache_.clear(); }

    // Writes held back for a tool. Whatever the tool puts into a tier goes
    // through rewrite(), so that the manager then serves exactly that: the
    // tier's stale marks for those keys are cleared, hotter copies the tool
    // does not also put back are erased (or marked stale if the erase
    // fails) and cached values dropped. Reads that overlapped the pause do
    // not cache or promote what they read.
    class WritePause {
    public:
        WritePause(WritePause&& o) noexcept : mgr_(std::exchange(o.mgr_, nullptr)) {}
        WritePause& operator=(WritePause&&) = delete;
        ~WritePause() {
            if (mgr_) mgr_->write_gate_.unlock();
        }

        bool is_stale(std::size_t tier, std::string_view key) const { return mgr_->tiers_.is_stale(tier, key); }

        // Runs `change`, which stores or erases `keys` in `tier`, as one step
        // for readers: one that overlaps it reads again once it is done (the
        // tool may erase a key before it stores it back), as with a write.
        // `also_put_back` is a mask of tiers the tool restores itself: their
        // copies stay.
        template <class F>
        void rewrite(std::size_t tier, std::span<const std::string> keys, std::uint64_t also_put_back, F&& change) {
            const typename detail::KeyStripes::WriteLock hold(mgr_->stripes_, mgr_->stripes_of(keys));
            const detail::WriteMarks::Writing writing(mgr_->marks_, keys);
            change();
            auto& tiers = mgr_->tiers_;
            tiers.clear_stale(tier, keys);
            std::optional<Error> ignored;  // a failed erase marks the copy stale: reads skip it
            for (std::size_t i = 0; i < tier; ++i)
                if (!(also_put_back >> i & 1)) tiers.erase(i, keys, ignored);
            for (const auto& k : keys) mgr_->cache_.invalidate(k);
        }

    private:
        friend class StateManager;
        explicit WritePause(StateManager& mgr) : mgr_(&mgr) { mgr_->write_gate_.lock(); }
        StateManager* mgr_;
    };

private:
    using bundle = detail::TierBundle<Ts...>;
    static constexpr int read_attempts = 3;
    static constexpr std::size_t demote_batch = 1000;

    template <class F>
    static void for_batches(std::span<const std::string> keys, F&& f) {
        for (std::size_t from = 0; from < keys.size(); from += demote_batch)
            f(keys.subspan(from, std::min(demote_batch, keys.size() - from)));
    }

    void check_coverable(std::size_t tier, const char* op) const {
        if (!coverable(tier))
            throw std::invalid_argument(std::string("strata: ") + op + ": tier " + std::to_string(tier) +
                                        " is not a non-durable tier with a durable tier below it (and "
                                        "write_through on) to answer for it");
    }

    // Marks an earlier process kept. When the tier holding them fails, every
    // tier they could be for is quarantined until reconcile(): its copies
    // may be ones this process must not serve.
    void load_stale_marks() {
        try {
            tiers_.load_marks(options_.write_through);
            marks_loaded_ = true;
        } catch (const Error&) {
            for (std::size_t i = 0; i < tier_count; ++i)
                if (bundle::coverable(i, options_.write_through)) tiers_.quarantine(i);
        }
    }
    static constexpr std::chrono::milliseconds max_ttl = std::chrono::hours{24 * 36525};  // 100 years

    template <class W>
    static consteval std::size_t index_of() {
        return detail::resolve_tier_index<W, Ts...>();
    }

    static std::optional<Clock::time_point> expiry(const SetOptions& opts, Clock::time_point now) {
        if (!opts.ttl) return std::nullopt;
        if (opts.ttl->count() <= 0) throw std::invalid_argument("strata: ttl must be positive");
        // Checked before any arithmetic: a larger ttl would overflow the
        // clock and read as long expired, erasing colder copies.
        if (*opts.ttl > max_ttl)
            throw std::invalid_argument("strata: ttl must be at most 100 years; leave it unset for no expiry");
        return now + *opts.ttl;
    }

    template <class Range>
    std::vector<std::size_t> stripes_of(const Range& items) const {
        std::vector<std::size_t> s;
        s.reserve(std::size(items));
        for (const auto& item : items) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(item)>, Entry>)
                s.push_back(stripes_.index(item.key));
            else
                s.push_back(stripes_.index(item));
        }
        return s;
    }

    // Searches the tiers for keys[at[j]], fails where the answer is in doubt,
    // and lifts the version clock past what it read. Writers hold the keys'
    // stripes; readers do not, and search validated.
    std::vector<detail::Lookup> find(std::span<const std::string> keys, const std::vector<std::size_t>& at,
                                     bool holding_stripes = true) {
        auto found = holding_stripes ? tiers_.search(keys, at, options_.write_through) : search_validated(keys, at);
        tiers_.throw_if_lost(keys, at, found);
        for (const auto& l : found)
            if (l.record) versions_.observe(l.record->version);
        return found;
    }

    // A reader's search. An answer stands only if no write of its key
    // overlapped the read (detail::WriteMarks): a write changes the tiers one
    // after another, so such a read may hold a value newer than what the
    // hotter tiers still show others, or older than what they show. Keys that
    // raced a write are read again; after a few tries, under their stripes,
    // waiting for the write in progress.
    std::vector<detail::Lookup> search_validated(std::span<const std::string> keys, const std::vector<std::size_t>& at) {
        std::vector<std::size_t> slots(at.size());
        std::vector<std::uint64_t> seen(at.size());
        for (std::size_t j = 0; j < at.size(); ++j) seen[j] = marks_.snapshot(slots[j] = marks_.slot(keys[at[j]]));
        auto found = tiers_.search(keys, at, options_.write_through);
        std::vector<std::size_t> todo;  // indices into `found` that raced a write
        for (std::size_t j = 0; j < at.size(); ++j)
            if (!marks_.quiet_since(slots[j], seen[j])) todo.push_back(j);
        for (int attempt = 2; !todo.empty(); ++attempt) {
            std::vector<std::size_t> sub(todo.size());
            for (std::size_t n = 0; n < todo.size(); ++n) sub[n] = at[todo[n]];
            if (attempt == read_attempts) {
                std::vector<std::string_view> named(sub.size());
                for (std::size_t n = 0; n < sub.size(); ++n) named[n] = keys[sub[n]];
                const typename detail::KeyStripes::WriteLock lock(stripes_, stripes_of(named));
                auto got = tiers_.search(keys, sub, options_.write_through);
                for (std::size_t n = 0; n < todo.size(); ++n) found[todo[n]] = std::move(got[n]);
                break;
            }
            for (const auto j : todo) seen[j] = marks_.snapshot(slots[j]);
            auto got = tiers_.search(keys, sub, options_.write_through);
            std::vector<std::size_t> again;
            for (std::size_t n = 0; n < todo.size(); ++n) {
                found[todo[n]] = std::move(got[n]);
                if (!marks_.quiet_since(slots[todo[n]], seen[todo[n]])) again.push_back(todo[n]);
            }
            todo = std::move(again);
        }
        return found;
    }

    // What a change of `keys` holds while it runs, taken in this order and
    // let go in reverse: the write gate, shared (a tool's pause waits for
    // it); the keys' stripes (changes of one key never interleave); a note
    // in the write journals (tools see the keys changed); the keys' write
    // marks (a read that overlaps it reads again).
    template <class Keys>
    class Change {
    public:
        Change(StateManager& m, const Keys& keys)
            : gate_(m.write_gate_), stripes_(m.stripes_, m.stripes_of(keys)), noted_(m.journals_, keys),
              marked_(m.marks_, keys) {}

    private:
        std::shared_lock<detail::WriteGate> gate_;
        typename detail::KeyStripes::WriteLock stripes_;
        const detail::Journaled<Keys> noted_;
        const detail::WriteMarks::Writing marked_;
    };

    template <class Keys>
    [[nodiscard]] Change<Keys> change_of(const Keys& keys) {
        return {*this, keys};
    }

    // Versions are handed out here, inside the write gate and the keys'
    // stripes, not when the records are made: a tool that reads the version
    // cut under pause_writes() then knows that every write at or below it
    // has landed, and every later one is above it.
    void write(std::vector<Entry>& entries, std::size_t target) {
        std::shared_lock gate(write_gate_);
        typename detail::KeyStripes::WriteLock lock(stripes_, stripes_of(entries));
        write_held(entries, target);
    }

    // write(), with the gate and the entries' stripes already held.
    void write_held(std::vector<Entry>& entries, std::size_t target) {
        for (auto& e : entries) e.record.version = versions_.next();
        const detail::Journaled noted(journals_, entries);
        const detail::WriteMarks::Writing writing(marks_, entries);
        const auto written = write_locked(entries, target);
        for (auto seen = acknowledged_.load(); seen < written && !acknowledged_.compare_exchange_weak(seen, written);) {
        }
    }

    // The cache is emptied of the keys first: once any tier shows the new
    // value, no reader may still get the old one from the cache, and none can
    // refill it meanwhile (fills need the stripes this write holds).
    //
    // A tier that refuses a version older than the one it holds (conflict:
    // another process wrote the key, or this one before a restart with its
    // clock behind) is read, the version clock is raised past what it holds
    // and the write is made again, once: the later write wins, as it should.
    // Returns the newest version written.
    std::uint64_t write_locked(std::span<const Entry> entries, std::size_t target) {
        for (const auto& e : entries) cache_.invalidate(e.key);
        try {
            tiers_.write(entries, target, options_.write_through);
            std::uint64_t newest = 0;
            for (const auto& e : entries) newest = std::max(newest, e.record.version);
            return newest;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::conflict) throw;
            std::vector<std::string> keys;
            for (const auto& en : entries) keys.push_back(en.key);
            versions_.observe(tiers_.newest_version(bundle::commit_of(target, options_.write_through), keys));
            std::vector<Entry> again(entries.begin(), entries.end());
            for (auto& en : again) en.record.version = versions_.next();
            tiers_.write(again, target, options_.write_through);
            return again.back().record.version;  // handed out last, so the newest
        }
    }

    std::size_t erase_everywhere(std::span<const std::string> keys) {
        const auto changing = change_of(keys);
        for (const auto& k : keys) cache_.invalidate(k);  // first, as in write_locked
        std::size_t most = 0;
        std::optional<Error> lost;
        tiers_.for_each([&](auto&, std::size_t i) {
            std::optional<Error> failed;
            most = std::max(most, tiers_.erase(i, keys, failed));
            if (failed && bundle::answers_for_absence(i) && !lost) lost = std::move(failed);
        });
        if (lost) throw *lost;  // a copy reads could still find survived: the erase is not done
        return most;
    }

    // Demotes those of `keys` whose newest copy lives in `only_from` (any
    // tier hotter than `target` if nullopt) to `target`; returns how many.
    std::size_t demote_found(std::span<const std::string> keys, std::optional<std::size_t> only_from,
                             std::size_t target) {
        std::vector<std::size_t> all(keys.size());
        for (std::size_t j = 0; j < all.size(); ++j) all[j] = j;
        const auto changing = change_of(keys);
        auto found = find(keys, all);
        std::vector<Entry> entries;
        std::size_t already = 0;
        for (std::size_t j = 0; j < keys.size(); ++j) {
            if (!found[j].record) continue;
            if (only_from ? found[j].tier == *only_from : found[j].tier < target)
                entries.push_back({keys[j], std::move(*found[j].record)});
            else if (!only_from && found[j].tier == target)
                ++already;
        }
        if (!entries.empty()) {
            write_locked(entries, target);
            tiers_.counters(target).demotions.fetch_add(entries.size(), std::memory_order_relaxed);
        }
        return entries.size() + already;
    }

    // The cache, then the tiers for what it lacks; `counted` adds the cache's
    // answers to cache_health().
    std::vector<std::optional<std::string>> read_many(std::span<const std::string> keys, bool counted) {
        std::vector<std::optional<std::string>> out(keys.size());
        std::vector<std::size_t> missing;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (auto hit = cache_.lookup(keys[i]))
                out[i] = std::move(hit);
            else
                missing.push_back(i);
        }
        if (counted) {
            cache_counters_.hits.fetch_add(keys.size() - missing.size(), std::memory_order_relaxed);
            cache_counters_.misses.fetch_add(missing.size(), std::memory_order_relaxed);
        }
        if (missing.empty()) return out;
        auto found = read_through(keys, missing);
        for (std::size_t j = 0; j < missing.size(); ++j) out[missing[j]] = std::move(found[j]);
        return out;
    }

    // Computes the led keys that are still missing once they are ours (a
    // leader before us may have stored them since our first read), stores
    // each unless a write of it began meanwhile, and publishes every value.
    // Any failure reaches every key led here, and nothing more is stored.
    template <class F>
    std::unordered_map<std::string, std::string, detail::StringHash, std::equal_to<>> lead(
        std::vector<detail::SingleFlight::Lead>& leads, F& fn, SetOptions opts);

    // Stores keys[j] = values[j] as set() would, except where a write of the
    // key began since `seen[j]`; returns those keys, left as that write left them.
    std::vector<std::string> store_unless_written(const std::vector<std::string>& keys,
                                                  const std::vector<std::string>& values,
                                                  const std::vector<std::uint64_t>& seen, SetOptions opts);

    // The read path after the cache: search the tiers, then, for what was
    // found, fill the cache, promote and repair, unless a write of the same
    // key started or finished meanwhile (the value read may be stale then).
    std::vector<std::optional<std::string>> read_through(std::span<const std::string> keys,
                                                         const std::vector<std::size_t>& at) {
        const auto epoch = write_gate_.epoch();
        std::vector<std::uint64_t> seen(at.size());
        for (std::size_t j = 0; j < at.size(); ++j) seen[j] = stripes_.sequence(stripes_.index(keys[at[j]]));
        auto found = find(keys, at, false);
        follow_up(keys, at, seen, found, epoch);
        std::vector<std::optional<std::string>> out(at.size());
        for (std::size_t j = 0; j < at.size(); ++j)
            if (found[j].record) out[j] = std::move(found[j].record->value);
        return out;
    }

    // Follow-ups are writes too: they hold the gate shared, so a tool that
    // began after the read (a rollback) either waits for them or, having run
    // meanwhile, changed the epoch and makes them stand down.
    void follow_up(std::span<const std::string> keys, const std::vector<std::size_t>& at,
                   const std::vector<std::uint64_t>& seen, const std::vector<detail::Lookup>& found,
                   std::uint64_t epoch) {
        if (!write_gate_.try_lock_shared()) return;
        std::shared_lock gate(write_gate_, std::adopt_lock);
        if (write_gate_.epoch() != epoch) return;
        const auto now = Clock::now();
        std::unordered_map<std::size_t, typename detail::KeyStripes::FollowUp> held;
        std::array<std::vector<Entry>, tier_count> stores;
        std::array<std::vector<std::string>, tier_count> cleanups;
        std::array<std::size_t, tier_count> promoted{};
        for (std::size_t j = 0; j < found.size(); ++j) {
            const auto& l = found[j];
            const auto& key = keys[at[j]];
            const bool promote = l.record && l.tier > 0 && promotion_.should_promote(key, l.tier, now);
            const std::uint64_t repair = l.record && options_.repair_corrupt ? l.corrupt : 0;
            if (!l.record && !l.stale) continue;
            const auto stripe = stripes_.index(key);
            auto it = held.find(stripe);
            if (it == held.end()) it = held.emplace(stripe, typename detail::KeyStripes::FollowUp(stripes_, stripe, seen[j])).first;
            if (!it->second) continue;
            std::uint64_t write_to = repair | (promote ? 1u : 0u);
            for (std::size_t t = 0; t < tier_count; ++t) {
                const auto b = std::uint64_t{1} << t;
                if (write_to & b) {
                    stores[t].push_back({key, *l.record});
                    promoted[t] += promote && t == 0 && !(repair & b);  // a corrupt copy replaced is a repair
                } else if (l.stale & b) {
                    cleanups[t].push_back(key);
                }
            }
            if (l.record) cache_.insert(key, l.record->value, l.record->expires_at);
        }
        std::optional<Error> ignored;  // follow-ups are best effort: counted in health, never thrown
        for (std::size_t t = 0; t < tier_count; ++t) {
            if (!stores[t].empty() && tiers_.store(t, stores[t], ignored)) {
                auto& c = tiers_.counters(t);
                c.promotions.fetch_add(promoted[t], std::memory_order_relaxed);
                c.repairs.fetch_add(stores[t].size() - promoted[t], std::memory_order_relaxed);
            }
            if (!cleanups[t].empty()) tiers_.erase(t, cleanups[t], ignored);
        }
    }

    Options options_;
    C cache_;
    detail::CacheCounters cache_counters_;
    detail::SingleFlight flights_;
    detail::TierStatsCache<tier_count> tier_stats_;
    P promotion_;
    VersionClock versions_;  // before tiers_, which keep stale marks with its versions
    bundle tiers_;
    detail::KeyStripes stripes_;
    detail::WriteMarks marks_;
    std::atomic<bool> marks_loaded_{false};
    std::atomic<std::uint64_t> acknowledged_{0};
    detail::WriteGate write_gate_;
    detail::WriteJournals journals_;
};

// The guides run detail::diagnose_manager, which states in words what an
// argument lacks. The options guide deduces its first parameter so that it
// drops out, without diagnosing, when that argument is not ManagerOptions.
template <class C, class P, class... Ts, bool = detail::diagnose_manager<C, P, Ts...>()>
    requires(!std::is_same_v<C, ManagerOptions>)
StateManager(C, P, Ts...) -> StateManager<C, P, Ts...>;

template <class O, class C, class P, class... Ts,
          bool = detail::diagnose_manager_with_options<O, C, P, Ts...>()>
    requires std::is_same_v<O, ManagerOptions>
StateManager(O, C, P, Ts...) -> StateManager<C, P, Ts...>;

}  // namespace strata

#include "strata/manager/detail/computed_reads.hpp"
#include "strata/manager/detail/tier_repair_calls.hpp"
