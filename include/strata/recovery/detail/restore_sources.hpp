#pragma once

#include <algorithm>  // max_element
#include <concepts>
#include <cstdint>  // uint64_t
#include <exception>
#include <cstddef>  // size_t
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>  // move
#include <vector>

#include "strata/checkpoint/checkpoint_info.hpp"  // RestoreScope
#include "strata/checkpoint/stream_reader.hpp"
#include "strata/core/record.hpp"

namespace strata {

// What RecoveryOrchestrator::use() takes: a Checkpointer or a BackupManager,
// or anything that lists restore points oldest first (each with id,
// created_at and version_cut), verifies one, restores one within a
// RestoreScope (rollback() or restore()) and applies its retention.
template <class S>
concept RestoreSource = requires(S& s, const std::string& id) {
    { s.list().back().id } -> std::convertible_to<std::string>;
    { s.list().back().created_at } -> std::convertible_to<Clock::time_point>;
    { s.list().back().version_cut } -> std::convertible_to<std::uint64_t>;
    { s.verify(id) } -> std::convertible_to<bool>;
    s.apply_retention();
} && (requires(S& s, const std::string& id, RestoreScope scope) { s.rollback(id, scope); } ||
      requires(S& s, const std::string& id, RestoreScope scope) { s.restore(id, scope); });

// A checkpoint or backup that verified, as a restore handler found it.
struct RestorePoint {
    std::string source;  // "checkpoint" or "backup"
    std::string id;
    Clock::time_point created_at{};
    std::uint64_t version_cut = 0;
    std::size_t origin = 0;  // which use() gave it, first 0
};

namespace detail::recovery {

// Records a restore point held for some keys: the newest version of each
// over the tiers it captured.
struct PointRecords {
    RestorePoint point;
    std::map<std::string, Record> records;
};

// What an escalation checklist lists: each source's newest verified point.
struct RestorePointList {
    bool any_source = false;  // use() was called
    std::vector<RestorePoint> points;
    std::vector<std::string> errors;  // sources that failed to answer
};

// The restore sources an orchestrator was given, behind one interface each.
class RestoreSources {
public:
    template <RestoreSource S>
    void add(S& s) {
        constexpr bool checkpoints = requires(const std::string& id) { s.rollback(id, RestoreScope{}); };
        std::lock_guard lock(mutex_);
        Source source;
        source.name = checkpoints ? "checkpoint" : "backup";
        source.newest_verified = [&s, name = source.name, origin = sources_.size()]() -> std::optional<RestorePoint> {
            const auto all = s.list();
            for (auto it = all.rbegin(); it != all.rend(); ++it)
                if (s.verify(it->id)) return RestorePoint{name, it->id, it->created_at, it->version_cut, origin};
            return std::nullopt;
        };
        source.restore = [&s](const std::string& id, const RestoreScope& scope) {
            if constexpr (checkpoints)
                s.rollback(id, scope);
            else
                s.restore(id, scope);
        };
        source.apply_retention = [&s] { return s.apply_retention().size(); };
        if constexpr (requires(const std::string& id) {
                          s.get(id);
                          s.store().open(id);
                      })
            source.records = [&s](const RestorePoint& p, const std::set<std::string>& keys) {
                const auto info = s.get(p.id);
                if (!info) throw Error(ErrorKind::not_found, "checkpoint", "restore keys", "checkpoint " + p.id + " is gone");
                auto stream = s.store().open(p.id);
                CheckpointReader reader(stream, *info, "restore keys");
                std::map<std::string, Record> found;
                reader.run([](const auto&) {},
                           [&](std::string key, Record r) {
                               if (!keys.contains(key)) return;
                               auto& slot = found[key];
                               if (r.version >= slot.version) slot = std::move(r);
                           },
                           [](const auto&) {});
                return found;  // only once the whole stream checked out
            };
        sources_.push_back(std::move(source));
    }

    bool empty() const {
        std::lock_guard lock(mutex_);
        return sources_.empty();
    }

    // The newest verified point over every source; nullopt when none has one.
    // Sources that fail to answer are passed over, their errors kept in
    // `errors`.
    std::optional<RestorePoint> newest_verified(std::vector<std::string>& errors) const {
        return newest(each_newest(snapshot(), errors, [](const Source&) { return true; }));
    }

    RestorePointList newest_each() const {
        RestorePointList out;
        const auto all = snapshot();
        out.any_source = !all.empty();
        out.points = each_newest(all, out.errors, [](const Source&) { return true; });
        return out;
    }

    // The records of `keys` in the newest verified checkpoint (backups are
    // restored whole only); nullopt when there is none.
    std::optional<PointRecords> newest_records(const std::set<std::string>& keys,
                                               std::vector<std::string>& errors) const {
        const auto all = snapshot();
        const auto best = newest(each_newest(all, errors, [](const Source& s) { return bool(s.records); }));
        if (!best) return std::nullopt;
        return PointRecords{*best, all.at(best->origin).records(*best, keys)};
    }

    void restore(const RestorePoint& p, const RestoreScope& scope) const {
        snapshot().at(p.origin).restore(p.id, scope);
    }

    // Applies every source's retention; returns how many points went.
    std::size_t apply_retention() const {
        std::size_t removed = 0;
        for (const auto& s : snapshot()) removed += s.apply_retention();
        return removed;
    }

private:
    struct Source {
        std::string name;
        std::function<std::optional<RestorePoint>()> newest_verified;
        std::function<void(const std::string&, const RestoreScope&)> restore;
        std::function<std::size_t()> apply_retention;
        std::function<std::map<std::string, Record>(const RestorePoint&, const std::set<std::string>&)> records;
    };

    // The newest verified point of each source `keep` accepts; a source
    // that fails to answer is passed over, its error kept in `errors`.
    template <class Keep>
    static std::vector<RestorePoint> each_newest(const std::vector<Source>& sources, std::vector<std::string>& errors,
                                                 Keep keep) {
        std::vector<RestorePoint> points;
        for (const auto& s : sources) {
            if (!keep(s)) continue;
            try {
                if (auto p = s.newest_verified()) points.push_back(std::move(*p));
            } catch (const std::exception& e) {
                errors.push_back(s.name + "s: " + e.what());
            }
        }
        return points;
    }

    // The first of the newest, as sources were given.
    static std::optional<RestorePoint> newest(std::vector<RestorePoint> points) {
        const auto it = std::max_element(points.begin(), points.end(),
                                         [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
        if (it == points.end()) return std::nullopt;
        return std::move(*it);
    }

    std::vector<Source> snapshot() const {
        std::lock_guard lock(mutex_);
        return sources_;
    }

    mutable std::mutex mutex_;
    std::vector<Source> sources_;
};

}  // namespace detail::recovery
}  // namespace strata
