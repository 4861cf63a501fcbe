#pragma once

#include <algorithm>  // min
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <cstdio>   // snprintf
#include <ctime>    // gmtime_r, timegm
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>  // invalid_argument
#include <span>
#include <string>
#include <string_view>
#include <utility>  // declval, move
#include <vector>

#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/checkpoint_store.hpp"
#include "strata/checkpoint/detail/capture.hpp"
#include "strata/checkpoint/detail/direct_read.hpp"
#include "strata/checkpoint/detail/restore.hpp"
#include "strata/checkpoint/detail/summary.hpp"
#include "strata/checkpoint/retention.hpp"
#include "strata/checkpoint/stream_reader.hpp"
#include "strata/checkpoint/stream_writer.hpp"
#include "strata/core/error.hpp"
#include "strata/core/tier_set.hpp"
#include "strata/core/where.hpp"

namespace strata {

// What to do with a record whose value no longer matches its checksum.
enum class OnCorrupt {
    fail,  // the capture throws Error{corrupt} naming the key; nothing is stored
    skip,  // the record is left out and listed in CheckpointInfo::skipped
};

struct CaptureOptions {
    // Hold writes through the manager for the capture (a consistent cut;
    // reads go on). Off, writes continue, each key is captured as it was at
    // one instant of the capture (a key present throughout is never missed,
    // though it may have moved between tiers), and info.version_cut records
    // the newest version at the start.
    bool hold_writes = true;
    OnCorrupt on_corrupt = OnCorrupt::fail;
};

struct CheckpointerOptions {
    std::size_t batch_size = 1000;  // keys per fetch_many / store_many / erase_many
    int compression_level = 1;      // zlib: 1 is fastest, 9 smallest
    // Applied after every successful create() when any rule is set.
    Retention retention{};
    // Where creation times and retention ages come from (tests step it back).
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
};

namespace detail::checkpoint {

template <std::size_t N>
constexpr bool has_duplicates(const std::array<std::size_t, N>& a) {
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = i + 1; j < N; ++j)
            if (a[i] == a[j]) return true;
    return false;
}

template <class Set>
struct tier_list;
template <class... Ts>
struct tier_list<TierSet<Ts...>> {
    static constexpr std::size_t size = sizeof...(Ts);
    // Resolved with the manager's own rules and messages (where.hpp), so a
    // selector naming a tier the manager lacks fails to compile, saying so.
    template <class... Selectors>
    static consteval std::uint64_t mask() {
        if constexpr (sizeof...(Selectors) == 0) {
            return size == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << size) - 1;
        } else {
            constexpr std::array<std::size_t, sizeof...(Selectors)> picked{
                detail::resolve_tier_index<Selectors, Ts...>()...};
            static_assert(!has_duplicates(picked), "strata: create<...>() names the same tier twice");
            std::uint64_t m = 0;
            for (const auto i : picked) m |= std::uint64_t{1} << i;
            return m;
        }
    }
};

// "20261122T135000.123456Z-000001-manual": UTC time first, so ids sort by
// creation; the sequence orders ids made within one microsecond.
inline std::string make_time_id(Clock::time_point at, std::uint64_t sequence, std::string_view tag) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%06lldZ-%06llu-", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1'000'000),
                  static_cast<unsigned long long>(sequence % 1'000'000));
    return buf + std::string(tag);
}

inline std::string make_checkpoint_id(Clock::time_point at, std::uint64_t sequence, CheckpointType type) {
    return make_time_id(at, sequence, to_string(type));
}

// The creation time an id carries, to the microsecond; nullopt if `id` is
// not one of ours.
inline std::optional<Clock::time_point> checkpoint_id_time(std::string_view id) {
    std::tm tm{};
    long long us = 0;
    char dot = 0, zone = 0;
    const std::string head(id.substr(0, 23));
    if (head.size() != 23 || std::sscanf(head.c_str(), "%4d%2d%2dT%2d%2d%2d%c%6lld%c", &tm.tm_year, &tm.tm_mon,
                                         &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &dot, &us, &zone) != 9 ||
        dot != '.' || zone != 'Z')
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::time_t secs = timegm(&tm);
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(secs) +
                                                                         std::chrono::microseconds(us)));
}

// `now`, but never before the newest of `ids` (sorted, made by
// make_time_id): after the clock steps back, a new id still sorts (and is
// kept) as the newest, by time and by id.
inline Clock::time_point not_before_newest(Clock::time_point now, const std::vector<std::string>& ids) {
    if (!ids.empty())
        if (auto newest = checkpoint_id_time(ids.back()); newest && *newest >= now)
            now = *newest + std::chrono::microseconds(1);
    return now;
}

}  // namespace detail::checkpoint

// Captures tiers of a StateManager chosen at compile time into a store, and
// rolls them back. Capture reads the tiers directly (keys("*"), then
// fetch_many in batches): no cache fill, no promotion, no access counting.
//
//     strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{"/var/lib/app/ckpt"}};
//     auto info = ckpt.create<strata::FileTier>(strata::CheckpointType::manual);
//     ...
//     ckpt.rollback(info.id);
template <class M, class S>
class Checkpointer {
    static_assert(check_checkpoint_store<S>(), "strata::Checkpointer: the second argument must be a CheckpointStore");
    using Set = decltype(std::declval<M&>().tiers());
    using Tiers = detail::checkpoint::tier_list<Set>;

public:
    Checkpointer(M& manager, S store, CheckpointerOptions options = {})
        : mgr_(manager), store_(std::move(store)), options_(std::move(options)) {
        if (options_.batch_size == 0) throw std::invalid_argument("strata: CheckpointerOptions::batch_size must be > 0");
    }

    // Captures the tiers named by Selectors (tier types, or where-tag types
    // such as at_t<1> or temperature_t<Temperature::warm>), all if none.
    template <class... Selectors>
    CheckpointInfo create(CheckpointType type = CheckpointType::manual, CaptureOptions capture = {}) {
        constexpr std::uint64_t mask = Tiers::template mask<Selectors...>();
        CheckpointInfo info;
        try {
            info = capture_tiers<mask>(type, capture);
        } catch (...) {
            std::lock_guard lock(stats_mutex_);
            ++counters_.failed_captures;
            throw;
        }
        {
            std::lock_guard lock(stats_mutex_);
            ++counters_.created;
            counters_.last_created = info;
        }
        if (options_.retention.active()) {
            auto victims = retention_victims(list(), options_.retention, options_.clock(), info.id);
            for (const auto& id : victims) remove(id);
        }
        return info;
    }

    // Every readable checkpoint, oldest first.
    std::vector<CheckpointInfo> list() {
        std::vector<CheckpointInfo> out;
        for (const auto& id : store_.ids())
            if (auto info = try_load(id)) out.push_back(std::move(*info));
        return out;
    }

    // nullopt for an unknown id; Error{corrupt} if its summary is damaged.
    std::optional<CheckpointInfo> get(const std::string& id) {
        validate_checkpoint_id(id);
        auto raw = store_.summary(id);
        if (!raw) return std::nullopt;
        return decode(id, *raw, "get");
    }

    // True when the checkpoint reads back whole and matches every hash.
    // Unknown ids and store failures throw rather than answer false.
    bool verify(const std::string& id) {
        try {
            check(id);
            return true;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt) throw;
            std::lock_guard lock(stats_mutex_);
            ++counters_.verify_failures;
            return false;
        }
    }

    // verify() that says why: throws Error{corrupt} with the reason.
    CheckpointInfo check(const std::string& id, std::string_view op = "verify") {
        auto info = load(id, op);
        auto source = store_.open(id);
        CheckpointReader reader(source, info, op);
        reader.run([](const auto&) {}, [](auto&&, auto&&) {}, [](const auto&) {});
        return info;
    }

    // Verifies the checkpoint (refusing a damaged one with Error{corrupt}
    // before anything changes), then, holding writes through the manager,
    // puts each captured tier back to exactly the captured keys and records
    // and clears the manager's cache. A scope narrows it (RestoreScope).
    RollbackReport rollback(const std::string& id, RestoreScope scope = {}) {
        const auto t0 = std::chrono::steady_clock::now();
        RollbackReport report;
        report.id = id;
        CheckpointInfo info;
        try {
            info = check(id, "rollback");
            detail::checkpoint::check_layout(mgr_.tiers(), info, "checkpoint", "rollback");
        } catch (const Error&) {
            std::lock_guard lock(stats_mutex_);
            ++counters_.refused_rollbacks;
            throw;
        }
        const auto t1 = std::chrono::steady_clock::now();
        {
            // Through the manager's tools interface: what goes back into a
            // tier is then what the manager serves (no hotter copy, cached
            // value or stale mark hides it), also when a tier fails half-way.
            auto pause = mgr_.pause_writes();
            std::uint64_t put_back = 0;
            for (const auto& t : info.tiers) put_back |= std::uint64_t{1} << t.index;
            auto source = store_.open(id);
            CheckpointReader reader(source, info, "rollback");
            detail::checkpoint::Restorer restorer(mgr_.tiers(), pause, put_back, options_.batch_size, report, scope);
            reader.run([&](const CapturedTier& t) { restorer.begin(t); },
                       [&](std::string key, Record r) { restorer.add(std::move(key), std::move(r)); },
                       [&](const CapturedTier& t) { restorer.end(t); });
        }
        const auto t2 = std::chrono::steady_clock::now();
        report.verify_time = t1 - t0;
        report.restore_time = t2 - t1;
        std::lock_guard lock(stats_mutex_);
        ++counters_.rollbacks;
        return report;
    }

    bool remove(const std::string& id) {
        validate_checkpoint_id(id);
        const bool removed = store_.remove(id);
        if (removed) {
            std::lock_guard lock(stats_mutex_);
            ++counters_.removed;
        }
        return removed;
    }

    // Removes what `rules` drops; returns the ids removed, oldest first.
    std::vector<std::string> apply_retention(const Retention& rules) {
        auto victims = retention_victims(list(), rules, options_.clock());
        for (const auto& id : victims) remove(id);
        return victims;
    }
    std::vector<std::string> apply_retention() { return apply_retention(options_.retention); }

    // What this Checkpointer did since it was made, without reading the
    // store (stats() adds what the store holds, and throws what it throws).
    CheckpointStats counters() {
        std::lock_guard lock(stats_mutex_);
        return counters_;
    }

    CheckpointStats stats() {
        CheckpointStats st = counters();
        const auto ids = store_.ids();
        for (const auto& id : ids) {
            const auto info = try_load(id);
            if (!info) {
                ++st.unreadable;
                continue;
            }
            ++st.checkpoints;
            ++st.by_type[static_cast<std::size_t>(info->type)];
            st.stored_bytes += info->stored_bytes;
            if (!st.oldest || info->created_at < *st.oldest) st.oldest = info->created_at;
            if (!st.newest || info->created_at > *st.newest) st.newest = info->created_at;
        }
        return st;
    }

    S& store() noexcept { return store_; }
    const CheckpointerOptions& options() const noexcept { return options_; }

private:
    template <std::uint64_t Mask>
    CheckpointInfo capture_tiers(CheckpointType type, const CaptureOptions& capture) {
        const auto t0 = std::chrono::steady_clock::now();
        CheckpointInfo info;
        info.type = type;
        info.created_at = creation_time();
        info.id = detail::checkpoint::make_checkpoint_id(info.created_at, sequence_.fetch_add(1) + 1, type);
        info.format_version = static_cast<std::uint32_t>(detail::checkpoint::format_version);
        info.writes_held = capture.hold_writes;
        auto sink = store_.begin(info.id);
        CheckpointWriter writer(sink, info.id, options_.compression_level);
        auto select = [](auto& tier, std::size_t) { return detail::checkpoint::sorted_keys(tier); };
        auto keep = [&](std::size_t index, const std::string& name, const std::string& key,
                        const std::optional<Record>& r) { return this->keep(index, name, key, r, info, capture); };
        detail::checkpoint::Capture<Mask, M, decltype(writer), decltype(select), decltype(keep)> run(
            mgr_, writer, info, options_.batch_size, select, keep, "checkpoint");
        if (capture.hold_writes)
            run.held();
        else
            run.while_writing();  // writes go on while the stream is finished and synced
        const auto sum = writer.finish();
        info.key_count = sum.key_count;
        info.bytes = sum.bytes;
        info.stored_bytes = sum.stored_bytes;
        info.consistency_hash = sum.consistency_hash;
        info.stream_hash = sum.stream_hash;
        info.capture_time = std::chrono::steady_clock::now() - t0;
        sink.commit(detail::checkpoint::encode_summary(info));
        return info;
    }

    Clock::time_point creation_time() {
        return detail::checkpoint::not_before_newest(options_.clock(), store_.ids());
    }

    // Whether a copy read from tier `index` belongs in the capture.
    bool keep(std::size_t index, const std::string& name, const std::string& key, const std::optional<Record>& r,
              CheckpointInfo& info, const CaptureOptions& capture) {
        if (!r) return false;  // erased or expired since it was listed
        // A copy the manager knows to be older than the key's newest is not
        // this tier's state: restoring it would go back in time.
        if (mgr_.is_stale(index, key)) return false;
        if (r->intact()) return true;
        if (capture.on_corrupt == OnCorrupt::fail)
            throw Error(ErrorKind::corrupt, name, "checkpoint",
                        "key '" + key + "' fails checksum verification; no checkpoint was stored");
        info.skipped.push_back({index, key});
        return false;
    }

    CheckpointInfo decode(const std::string& id, const std::string& raw, std::string_view op) {
        auto info = detail::checkpoint::decode_summary(raw);
        if (!info || info->id != id) detail::checkpoint::corrupt(op, id, "has a damaged summary");
        if (info->format_version != detail::checkpoint::format_version)
            detail::checkpoint::corrupt(op, id, "has unknown format version " + std::to_string(info->format_version));
        return std::move(*info);
    }

    CheckpointInfo load(const std::string& id, std::string_view op) {
        validate_checkpoint_id(id);
        auto raw = store_.summary(id);
        if (!raw) throw Error(ErrorKind::not_found, "checkpoint", std::string(op), "no checkpoint '" + id + "'");
        return decode(id, *raw, op);
    }

    std::optional<CheckpointInfo> try_load(const std::string& id) {
        try {
            return load(id, "list");
        } catch (const Error& e) {
            // Damaged, or removed since it was listed.
            if (e.kind() != ErrorKind::corrupt && e.kind() != ErrorKind::not_found) throw;
            return std::nullopt;
        }
    }

    M& mgr_;
    S store_;
    CheckpointerOptions options_;
    std::atomic<std::uint64_t> sequence_{0};
    std::mutex stats_mutex_;
    CheckpointStats counters_;
};

template <class M, class S>
Checkpointer(M&, S) -> Checkpointer<M, S>;
template <class M, class S>
Checkpointer(M&, S, CheckpointerOptions) -> Checkpointer<M, S>;

}  // namespace strata
