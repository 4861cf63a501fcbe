#pragma once

#include <algorithm>  // sort, unique, binary_search, find_if
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <memory>  // unique_ptr
#include <mutex>
#include <optional>
#include <stdexcept>  // invalid_argument, logic_error
#include <string>
#include <utility>  // declval, move
#include <vector>

#include "strata/backup/backup_info.hpp"
#include "strata/backup/backup_options.hpp"
#include "strata/backup/backup_store.hpp"
#include "strata/backup/detail/key_section.hpp"
#include "strata/backup/detail/manifest.hpp"
#include "strata/backup/detail/parked_chain.hpp"
#include "strata/backup/detail/repository.hpp"
#include "strata/backup/detail/sealed_parts.hpp"
#include "strata/backup/scheduler.hpp"
#include "strata/checkpoint/checkpointer.hpp"  // tier_list, make_time_id, not_before_newest
#include "strata/checkpoint/detail/capture.hpp"
#include "strata/checkpoint/detail/restore.hpp"
#include "strata/checkpoint/detail/spill.hpp"
#include "strata/checkpoint/stream_writer.hpp"
#include "strata/core/capabilities.hpp"
#include "strata/core/error.hpp"

namespace strata {

// Encrypted backups of tiers of a StateManager chosen at compile time, into a
// BackupStore, and restores of them, onto the same manager or another one.
//
//     strata::BackupManager backups{mgr, strata::DirectoryBackupStore{"/var/backups/app"},
//         strata::BackupOptions{.key = strata::EncryptionKey::from_file("/etc/app/backup.key")}};
//     auto b = backups.create(strata::BackupType::full);
//     backups.restore(b.id);
//
// Capture reads the tiers directly (no cache fill, no promotion, no access
// bookkeeping), as checkpoints do and through the same code. An incremental
// or differential backup reads only the keys whose version passed its
// parent's cut (changed_since where the tier has it) and stores every key
// present at its cut (keys only), so a restore knows what was deleted.
template <class M, class S>
class BackupManager {
    static_assert(check_backup_store<S>(), "strata::BackupManager: the second argument must be a BackupStore");
    using Set = decltype(std::declval<M&>().tiers());
    using Tiers = detail::checkpoint::tier_list<Set>;
    using Manifest = detail::backup::Manifest;
    using Repo = detail::backup::Repository<S>;

public:
    BackupManager(M& manager, S store, BackupOptions options)
        : mgr_(manager), repo_(std::move(store), options.key), options_(std::move(options)) {
        if (options_.batch_size == 0) throw std::invalid_argument("strata: BackupOptions::batch_size must be > 0");
        if (options_.compression_level < 0 || options_.compression_level > 9)
            throw std::invalid_argument("strata: BackupOptions::compression_level must be between 0 and 9");
    }

    // Backs up the tiers named by Selectors (tier types, or where-tag types
    // such as at_t<1>), all if none. An incremental or differential backup
    // must name the same tiers as the backup it builds on.
    template <class... Selectors>
    BackupInfo create(BackupType type) {
        constexpr std::uint64_t mask = Tiers::template mask<Selectors...>();
        const auto t0 = std::chrono::steady_clock::now();
        BackupInfo info;
        try {
            info = capture<mask>(type);
        } catch (...) {
            std::lock_guard lock(stats_mutex_);
            ++counters_.failures;
            throw;
        }
        std::lock_guard lock(stats_mutex_);
        ++counters_.created[static_cast<std::size_t>(type)];
        counters_.last_success[static_cast<std::size_t>(type)] = info.created_at;
        counters_.last_duration = std::chrono::steady_clock::now() - t0;
        return info;
    }

    // Every backup whose manifest reads, oldest first.
    std::vector<BackupInfo> list() { return repo_.list(); }

    std::optional<BackupInfo> get(const std::string& id) { return repo_.get(id); }

    // True when every byte of the backup authenticates under the
    // repository's key and every record matches its checksum. Damage is
    // false; a wrong key (Error{rejected}), an unknown id or a store failure
    // throws.
    bool verify(const std::string& id) {
        try {
            repo_.read(repo_.load(id, "verify"), [](std::size_t, const std::string&, const Record&) {});
            return true;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt) throw;
            std::lock_guard lock(stats_mutex_);
            ++counters_.verify_failures;
            return false;
        }
    }

    // Needs no key, for a store's operator: the manifest is intact and the
    // stored parts have its sizes, SHA-256 and well-formed segments. False
    // on damage; an unknown id or a store failure throws.
    bool verify_structure(const std::string& id) {
        try {
            repo_.check_structure(id);
            return true;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt) throw;
            return false;
        }
    }

    // Restores the chain ending at `id` into the tiers it captured.
    RollbackReport restore(const std::string& id, RestoreScope scope = {}) { return restore_into(id, mgr_, scope); }

    // Restores onto `target`, any manager with tiers like the captured ones
    // at the same indexes (a new machine after a disaster). Every part of
    // the chain (full, then differential, then incrementals) is read and
    // authenticated before anything is written; a part missing, damaged or
    // sealed under another key is refused and nothing changes. Then, through
    // the target's write pause, each captured tier is made exactly the
    // state at the cut (keys, values, versions, expiries; deleted keys
    // erased) and the manager serves that: no cached value, stale mark or
    // hotter copy remains. The cut's keys are held in memory, its records
    // wait in a temporary file. A scope narrows it (RestoreScope).
    template <class Target>
    RollbackReport restore_into(const std::string& id, Target& target, RestoreScope scope = {}) {
        const auto t0 = std::chrono::steady_clock::now();
        RollbackReport report;
        report.id = id;
        std::vector<Manifest> chain;
        std::optional<detail::backup::ParkedChain> parked;
        try {
            chain = repo_.resolve(id, "restore");
            detail::checkpoint::check_layout(target.tiers(), chain.back().records, "backup", "restore");
            parked.emplace(repo_.park(chain));
        } catch (const Error&) {
            std::lock_guard lock(stats_mutex_);
            ++counters_.refused_restores;
            throw;
        }
        const auto t1 = std::chrono::steady_clock::now();
        {
            const auto& tiers = chain.back().records.tiers;
            auto pause = target.pause_writes();
            std::uint64_t put_back = 0;
            for (const auto& t : tiers) put_back |= std::uint64_t{1} << t.index;
            detail::checkpoint::Restorer restorer(target.tiers(), pause, put_back, options_.batch_size, report, scope);
            for (std::size_t i = 0; i < tiers.size(); ++i) {
                restorer.begin(tiers[i]);
                parked->for_each(i, [&](const std::string& key, Record r) { restorer.add(key, std::move(r)); });
                restorer.end(tiers[i]);
            }
        }
        report.verify_time = t1 - t0;
        report.restore_time = std::chrono::steady_clock::now() - t1;
        std::lock_guard lock(stats_mutex_);
        ++counters_.restores;
        return report;
    }

    // Rebuilds the chain ending at `id` in scratch memory, nothing live
    // touched, and compares it with the manifest: as many keys as it
    // counted at the cut, each key it lists present. Kept in stats().
    TestRestoreReport test_restore(const std::string& id) {
        TestRestoreReport r;
        r.id = id;
        try {
            const auto chain = repo_.resolve(id, "test_restore");
            auto parked = repo_.park(chain);
            r.expected_keys = chain.back().info.key_count;
            std::uint64_t listed = 0;
            for (std::size_t i = 0; i < chain.back().records.tiers.size(); ++i) {
                listed += parked.cut(i).size();
                r.keys += parked.cut(i).size() - parked.for_each(i, [](const std::string&, const Record&) {});
            }
            if (listed != r.expected_keys)
                r.problem = "the key section lists " + std::to_string(listed) + " keys, the manifest " +
                            std::to_string(r.expected_keys);
            else if (r.keys != r.expected_keys)
                r.problem = std::to_string(r.expected_keys - r.keys) + " keys at the cut have no record in the chain";
            r.ok = r.problem.empty();
        } catch (const Error& e) {
            r.problem = e.what();
        }
        std::lock_guard lock(stats_mutex_);
        counters_.last_test_restore = r;
        return r;
    }

    // Removes a backup no other backup builds on; Error{conflict} otherwise.
    bool remove(const std::string& id) {
        validate_checkpoint_id(id);
        for (const auto& b : list())
            if (b.parent == id)
                throw Error(ErrorKind::conflict, "backup", "remove", "backup '" + b.id + "' builds on '" + id + "'");
        const bool removed = repo_.store().remove(id);
        if (removed) {
            std::lock_guard lock(stats_mutex_);
            ++counters_.removed;
        }
        return removed;
    }

    // Removes what the retention rules drop; returns the ids, oldest first.
    std::vector<std::string> apply_retention(const BackupRetention& rules) {
        auto victims = backup_retention_victims(list(), rules, options_.clock());
        // Newest first: a chain loses its tip before what it builds on.
        for (auto it = victims.rbegin(); it != victims.rend(); ++it) remove(*it);
        return victims;
    }
    std::vector<std::string> apply_retention() { return apply_retention(options_.retention); }

    // What this BackupManager did since it was made, without reading the
    // store (stats() adds what the store holds, and throws what it throws).
    BackupStats counters() {
        std::lock_guard lock(stats_mutex_);
        return counters_;
    }

    BackupStats stats() {
        BackupStats st = counters();
        for (const auto& b : list()) {
            ++st.backups;
            st.stored_bytes += b.stored_bytes;
        }
        return st;
    }

    S& store() noexcept { return repo_.store(); }
    const BackupOptions& options() const noexcept { return options_; }

    // Schedules of every tier's backups, as a BackupScheduler of this
    // manager runs them (for chosen tiers, build one of those instead).
    // schedule() sets one for run_due(now), start() also runs it on a thread
    // until stop() or destruction. Not to be called concurrently with each
    // other.
    void schedule(const BackupSchedule& schedule, BackupSchedulerOptions options = {}) {
        auto next = std::make_unique<BackupScheduler<BackupManager>>(*this, schedule, std::move(options));
        stop();
        scheduler_ = std::move(next);
    }
    void start(const BackupSchedule& schedule, BackupSchedulerOptions options = {}) {
        this->schedule(schedule, std::move(options));
        scheduler_->start();
    }
    void stop() {
        if (scheduler_) scheduler_->stop();
    }
    std::vector<ScheduledRun> run_due(Clock::time_point now) {
        if (!scheduler_) throw std::logic_error("strata: BackupManager::run_due: no schedule given (schedule or start)");
        return scheduler_->run_due(now);
    }

private:
    template <std::uint64_t Mask>
    BackupInfo capture(BackupType type) {
        const EncryptionKey data = repo_.data_key(true);
        Manifest m;
        m.info.type = type;
        const auto ids = repo_.store().ids();
        m.info.created_at = detail::checkpoint::not_before_newest(options_.clock(), ids);
        m.info.id = detail::checkpoint::make_time_id(m.info.created_at, sequence_.fetch_add(1) + 1, to_string(type));
        std::optional<Manifest> parent;
        if (!is_base(type)) parent = parent_of<Mask>(type);
        if (parent) m.info.parent = parent->info.id;
        const std::uint64_t since = parent ? parent->info.version_cut : 0;
        m.info.writes_held = type != BackupType::emergency && options_.hold_writes;
        m.records.id = m.info.id;
        m.records.created_at = m.info.created_at;
        m.records.format_version = static_cast<std::uint32_t>(detail::checkpoint::format_version);
        m.records.writes_held = m.info.writes_held;

        auto sink = repo_.store().begin(m.info.id);
        detail::backup::SealingWriter<decltype(sink)> sealed(sink, data, options_.compression_level);
        // The records are deflated before sealing; the sealer's own deflate
        // then backs off after a segment that does not shrink.
        CheckpointWriter writer(sealed, m.info.id, options_.compression_level);
        // The cut of a tier: listed, or captured (a key written during a
        // capture that lets writes go on), less those read as absent. The
        // captured keys wait in temporary files, in order; only an
        // incremental or differential keeps its listing (a full captures or
        // drops every key it lists, so its cut is what it captured).
        std::array<std::vector<std::string>, Tiers::size> listed, dropped;
        std::array<detail::checkpoint::KeySpill, Tiers::size> captured;
        auto select = [&](auto& tier, std::size_t i) {
            if (!parent) return detail::all_keys_sorted(tier);
            listed[i] = detail::all_keys_sorted(tier);
            auto changed = detail::changed_since_or_scan(tier, since);
            std::sort(changed.begin(), changed.end());
            changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
            return changed;
        };
        auto keep = [&](std::size_t i, const std::string& name, const std::string& key, const std::optional<Record>& r) {
            // Gone since it was listed, or a copy older than the key's newest:
            // not part of this tier's state.
            if (!r || mgr_.is_stale(i, key)) {
                dropped[i].push_back(key);
                return false;
            }
            if (!r->intact())
                throw Error(ErrorKind::corrupt, name, "backup",
                            "key '" + key + "' fails checksum verification; no backup was stored");
            captured[i].add(key);
            return true;
        };
        detail::checkpoint::Capture<Mask, M, decltype(writer), decltype(select), decltype(keep)> run(
            mgr_, writer, m.records, options_.batch_size, select, keep, "backup");
        if (m.info.writes_held)
            run.held();
        else
            run.while_writing();
        m.info.version_cut = m.records.version_cut;
        const auto sum = writer.finish();
        m.records.key_count = sum.key_count;
        m.records.bytes = sum.bytes;
        m.records.stored_bytes = sum.stored_bytes;
        m.records.consistency_hash = sum.consistency_hash;
        m.records.stream_hash = sum.stream_hash;
        m.records_part = sealed.finish();
        m.info.changed_keys = sum.key_count;

        for (auto& d : dropped) std::sort(d.begin(), d.end());
        auto for_each_cut_key = [&](std::size_t i, auto&& f) {
            const auto& l = listed[i];
            std::size_t at = 0;
            auto emit = [&](const std::string& key) {
                if (!std::binary_search(dropped[i].begin(), dropped[i].end(), key)) f(key);
            };
            captured[i].replay([&](const std::string& key) {
                while (at < l.size() && l[at] < key) emit(l[at++]);
                if (at < l.size() && l[at] == key) ++at;
                f(key);
            });
            while (at < l.size()) emit(l[at++]);
        };
        detail::backup::SealingWriter<decltype(sink)> sealed_keys(sink, data, options_.compression_level);
        detail::backup::KeySectionWriter keys(sealed_keys);
        std::optional<detail::backup::DeletedKeys<typename Repo::Source>> before;
        if (parent) before.emplace(repo_.store().open(parent->info.id), *parent, data);
        for (const auto& t : m.records.tiers) {
            // A full's cut is what it captured (never a dropped key), so only
            // an incremental's, merged with its listing, is counted by a walk.
            std::uint64_t count = captured[t.index].size();
            if (!listed[t.index].empty()) {
                count = 0;
                for_each_cut_key(t.index, [&](const std::string&) { ++count; });
            }
            keys.begin_tier(count);
            m.info.key_count += count;
            if (before) before->begin_tier();
            for_each_cut_key(t.index, [&](const std::string& key) {
                keys.add(key);
                if (before) before->present(key);
            });
            if (before) m.info.deleted_keys += before->end_tier();
        }
        if (before) before->finish();
        m.keys_hash = keys.finish();
        m.keys_part = sealed_keys.finish();
        m.info.stored_bytes = m.records_part.size + m.keys_part.size;
        sink.commit(detail::backup::seal_manifest(m, data));
        return m.info;
    }

    // incremental: the newest backup; differential: the newest base. Either
    // must have captured the tiers of Mask.
    template <std::uint64_t Mask>
    Manifest parent_of(BackupType type) {
        const auto all = list();
        auto it = all.rbegin();
        if (type == BackupType::differential)
            it = std::find_if(all.rbegin(), all.rend(), [](const BackupInfo& b) { return is_base(b.type); });
        if (it == all.rend())
            throw Error(ErrorKind::invalid, "backup", "create",
                        "an " + std::string(to_string(type)) + " backup builds on an earlier one: make a full backup first");
        Manifest p = repo_.load(it->id, "create");
        std::uint64_t captured = 0;
        for (const auto& t : p.records.tiers) captured |= std::uint64_t{1} << t.index;
        if (captured != Mask)
            throw Error(ErrorKind::invalid, "backup", "create",
                        "an " + std::string(to_string(type)) + " backup must capture the same tiers as '" + p.info.id +
                            "', which it builds on");
        return p;
    }

    M& mgr_;
    Repo repo_;
    BackupOptions options_;
    std::atomic<std::uint64_t> sequence_{0};
    std::mutex stats_mutex_;
    BackupStats counters_;
    // Last, so its thread stops before anything it uses goes.
    std::unique_ptr<BackupScheduler<BackupManager>> scheduler_;
};

template <class M, class S>
BackupManager(M&, S, BackupOptions) -> BackupManager<M, S>;

}  // namespace strata
