// kill -9 crash tests over MemoryTier + FileTier: with a
// DirectoryCheckpointStore (tests/common/crash_harness.hpp), a worker killed
// at random moments, the tiers and the checkpoints reopened by a new process
// each time; and with a DirectoryBackupStore, a worker making backups while
// it writes, killed mostly within one, the store reopened by the test itself
// each time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>  // iota
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>  // jthread, sleep_for
#include <vector>

#include "common/crash_harness.hpp"
#include "common/record_snapshot.hpp"
#include "common/temp_dir.hpp"
#include "common/temp_files.hpp"
#include "common/tier_wrappers.hpp"
#include "strata/backup/backup_manager.hpp"
#include "strata/backup/directory_store.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/strata.hpp"

namespace {

namespace crash = strata::testing::crash;
namespace fs = std::filesystem;

constexpr const char* dir_var = "STRATA_CRASH_DIR";

fs::path state_dir() { return crash::env_or_empty(dir_var); }

using strata::testing::temp_files;

// The stack every process of these tests opens in `dir`. fsync off: a kill
// -9 loses no page cache, so syncing would only slow the test down (power
// cuts are another matter, not tested here).
struct FileStack {
    using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
    explicit FileStack(const fs::path& dir = state_dir())
        : mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{},
              strata::FileTier{dir / "tier", {.fsync = false}}} {}
    Manager mgr;
};

struct FileWorld : FileStack {
    strata::Checkpointer<Manager, strata::DirectoryCheckpointStore> ckpt{
        mgr, strata::DirectoryCheckpointStore{state_dir() / "checkpoints", {.fsync = false}}, {.batch_size = 16}};

    // The durable tier alone: the memory tier dies with the process.
    strata::CheckpointInfo checkpoint(strata::CaptureOptions capture) {
        return ckpt.create<strata::FileTier>(strata::CheckpointType::manual, capture);
    }

    template <class F>
    void each_tier(F&& f) {
        f(mgr.tier<strata::FileTier>(), 0);
    }

    // Opening the tier and the store removed the temporary files the killed
    // writer left.
    std::vector<std::string> problems() {
        std::vector<std::string> out;
        for (const char* sub : {"tier", "checkpoints"})
            if (const auto n = temp_files(state_dir() / sub))
                out.push_back(std::to_string(n) + " temporary files left in " + sub + " after open");
        return out;
    }
};

}  // namespace

TEST(CrashTest, FileTierChild) {
    if (!crash::in_child()) GTEST_SKIP() << "a process of CrashTest.FileTierKill9";
    crash::child<FileWorld>();
}

TEST(CrashTest, FileTierKill9) {
    strata::testing::TempDir dir{"strata-crash"};
    crash::run({.child_test = "CrashTest.FileTierChild",
                .env = {std::string(dir_var) + '=' + dir.path.string()},
                .tiers = 1});
}

// Found by FileTierKill9: a rollback erased every key the tier held newer
// than captured before storing it back, so a kill in between left keys that
// existed before and in the checkpoint absent. A tier that takes an older
// version (every tier but PostgreSQL with newer_versions_only) is now only
// written: each key is replaced in one rename.
TEST(CrashTest, RollbackReplacesNewerKeysWithoutErasingThem) {
    strata::testing::TempDir dir{"strata-crash"};
    using Watched = strata::testing::Switchable<strata::FileTier>;
    using Manager = strata::StateManager<strata::NoCache, strata::NeverPromote, Watched>;
    Manager mgr{strata::NoCache{}, strata::NeverPromote{}, Watched{strata::FileTier{dir.path / "tier", {.fsync = false}}}};
    strata::Checkpointer ckpt{mgr, strata::DirectoryCheckpointStore{dir.path / "checkpoints", {.fsync = false}}};
    for (int k = 0; k < 8; ++k) mgr.set(crash::key_name(k), crash::make_value(k, 1));
    const auto info = ckpt.create();
    for (int k = 0; k < 8; ++k) mgr.set(crash::key_name(k), crash::make_value(k, 2));

    int erases = 0;
    mgr.tier<Watched>().switches().before = [&](std::string_view op) { erases += op.starts_with("erase"); };
    const auto report = ckpt.rollback(info.id);
    EXPECT_EQ(erases, 0);
    EXPECT_EQ(report.keys_restored, 8u);
    for (int k = 0; k < 8; ++k) EXPECT_EQ(mgr.get(crash::key_name(k)), crash::make_value(k, 1)) << k;
}

// kill -9 mid-backup. A worker makes backups of the FileTier stack into a
// DirectoryBackupStore (a full, then incrementals, differentials and now and
// then another full; half with writes held, half capturing with writes going
// on) while a thread of it writes through the manager throughout. It says
// "begin <type>" before each backup and "ack <id> <type> <parent>" once it is
// committed, "write <key> <counter>" or "erase <key>" before each write and
// "written" once it returned. The test kills it at random, mostly within a
// backup, then opens the store itself: every acknowledged backup is listed,
// verifies and test-restores; nothing else is listed but, whole, the backup
// the kill cut short; the killed writer's temporary files go when the store
// opens; each backup builds on the newest (incremental) or newest base
// (differential) the model knows, so the first incremental of each worker
// builds on what the kill left; and each backup, restored onto a scratch
// stack, serves for every key what the last write acknowledged before it
// began left, or what a write begun before it was acknowledged left.
namespace {

using strata::BackupType;

// Every process of the test opens the repository with this key.
strata::EncryptionKey shared_backup_key() {
    std::array<std::uint8_t, strata::EncryptionKey::size> bytes{};
    std::iota(bytes.begin(), bytes.end(), std::uint8_t{1});
    return strata::EncryptionKey::from_bytes(bytes);
}

struct BackupWorld : FileStack {
    using Backups = strata::BackupManager<Manager, strata::DirectoryBackupStore>;

    explicit BackupWorld(const fs::path& dir = state_dir())
        : FileStack(dir), held{mgr, store(dir), options(true)}, going_on{mgr, store(dir), options(false)} {}

    static strata::DirectoryBackupStore store(const fs::path& dir) {
        auto o = strata::DirectoryBackupStore::backup_defaults();
        o.fsync = false;  // as FileStack: a kill -9 loses no page cache
        return strata::DirectoryBackupStore{dir / "backups", o};
    }
    static strata::BackupOptions options(bool hold_writes) {
        return strata::BackupOptions{.key = shared_backup_key(), .hold_writes = hold_writes, .batch_size = 16};
    }

    Backups held;      // captures with writes paused
    Backups going_on;  // captures without pausing writes
};

// Random writes and erases through the manager, into both tiers or the
// FileTier alone, one after another until stopped, so each backup finds keys
// changed, added and deleted, and writes in flight at its cut.
void write_until(std::stop_token stop, BackupWorld& w, crash::Channel& out, std::uint64_t seed,
                 std::int64_t counter) {
    std::mt19937_64 rng(seed);
    while (!stop.stop_requested()) {
        const int k = static_cast<int>(rng() % crash::key_count);
        const auto dice = rng() % 10;
        if (dice < 2) {
            out.say("erase " + std::to_string(k));
            w.mgr.erase(crash::key_name(k));
        } else {
            ++counter;
            out.say("write " + std::to_string(k) + ' ' + std::to_string(counter));
            if (dice < 5)
                w.mgr.set(crash::key_name(k), crash::make_value(k, counter), strata::at<1>);
            else
                w.mgr.set(crash::key_name(k), crash::make_value(k, counter));
        }
        out.say("written");
    }
}

void make_backups(BackupWorld& w, crash::Channel& out, std::uint64_t seed, std::int64_t round) {
    std::mt19937_64 rng(seed);
    out.say("ready");
    // Each worker's counters start above the last one's, so a value tells
    // which write made it.
    std::jthread writer([&w, &out, writer_seed = rng(), round](std::stop_token stop) {
        try {
            write_until(stop, w, out, writer_seed, round * 1'000'000);
        } catch (const std::exception& e) {
            out.say(std::string("bad writer: ") + e.what());
        }
    });
    bool first = true;
    // Bounded even if the parent never kills it.
    for (const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds{30};
         std::chrono::steady_clock::now() < stop; first = false) {
        auto type = BackupType::full;
        if (!w.held.list().empty()) {
            const auto dice = rng() % 100;
            // The first backup after a kill builds on what the kill left.
            type = first || dice < 40 ? BackupType::incremental : dice < 70 ? BackupType::differential : BackupType::full;
        }
        auto& backups = rng() % 2 ? w.held : w.going_on;
        out.say("begin " + std::string(strata::to_string(type)));
        const auto b = backups.create(type);
        // A caller a little slow to learn of its backup: a kill then may
        // find one committed but not acknowledged, which must be whole.
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 5000));
        out.say("ack " + b.id + ' ' + std::string(strata::to_string(b.type)) + ' ' + (b.parent.empty() ? "-" : b.parent));
    }
}

struct BackupFigures {
    int kills = 0;
    int kills_within_a_backup = 0;
    int committed_unacknowledged = 0;  // cut short after its commit: listed, whole
    long acknowledged = 0;
    long verified = 0;  // listed backups verified and test-restored after a kill
    long writes_acknowledged = 0;
    long restored = 0;  // committed backups restored and checked key by key
    long temp_files_swept = 0;
    double seconds = 0;
};

class BackupKills {
public:
    explicit BackupKills(fs::path dir) : dir_(std::move(dir)) {}

    void run(int kills, std::chrono::seconds budget, int min_kills) {
        const auto seed = std::random_device{}();
        std::cout << "backup crash test seed " << seed << "\n";
        std::mt19937_64 rng(seed);
        const auto start = clock::now();
        while (f_.kills < kills && clock::now() - start < budget && !::testing::Test::HasFailure()) {
            SCOPED_TRACE("kill " + std::to_string(f_.kills + 1) + ", seed " + std::to_string(seed));
            run_worker(rng);
            check();
        }
        if (!::testing::Test::HasFailure()) {
            EXPECT_GE(f_.kills, min_kills) << "too few kills within " << budget.count() << " s";
            back_up_and_restore();
        }
        f_.seconds = std::chrono::duration<double>(clock::now() - start).count();
        std::cout << "backup crash test: " << f_.kills << " kills (" << f_.kills_within_a_backup << " within a backup, "
                  << f_.committed_unacknowledged << " of them after its commit), " << f_.acknowledged
                  << " backups acknowledged, " << f_.verified << " listed backups verified and test-restored, "
                  << f_.writes_acknowledged << " writes acknowledged, " << f_.restored
                  << " backups restored and checked key by key, " << f_.temp_files_swept
                  << " temporary files of killed workers swept, " << f_.seconds << " s\n";
    }

private:
    using clock = std::chrono::steady_clock;
    struct Backup {
        std::string type, parent;
    };
    using Val = crash::detail::Val;  // a key's counter; nullopt: absent
    // What a backup may hold of each key.
    using Holdings = std::array<std::set<Val>, crash::key_count>;
    struct InFlight {
        std::string type;
        Holdings may_hold;
    };

    // Runs one worker to its kill, within its nth backup or, one time in
    // ten, while it starts up.
    void run_worker(std::mt19937_64& rng) {
        crash::detail::Child w("CrashTest.BackupChild",
                               {std::string(dir_var) + '=' + dir_.string(), std::string(crash::role_var) + "=work",
                                std::string(crash::seed_var) + '=' + std::to_string(rng()),
                                std::string(crash::round_var) + '=' + std::to_string(++workers_)});
        const bool at_start = rng() % 10 == 0;
        auto kill_at = at_start ? clock::now() + std::chrono::milliseconds(rng() % 40) : clock::time_point::max();
        const auto nth = 1 + rng() % 3;
        const auto limit = clock::now() + std::chrono::seconds{20};
        for (std::uint64_t begun = 0; const auto l = w.line(std::min(kill_at, limit));) {
            take(*l);
            // A backup takes about typical_ (measured): the kill lands all through it, or just after.
            if (!at_start && l->starts_with("begin ") && ++begun == nth)
                kill_at = clock::now() + std::chrono::microseconds(rng() % (typical_.count() * 5 / 4 + 1));
        }
        const int status = w.kill_and_reap();
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the worker ended by itself (status " << status << ") before the kill";
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++f_.kills;
        while (const auto l = w.line(clock::now() + std::chrono::seconds{5})) take(*l);
        f_.kills_within_a_backup += in_flight_.has_value();
    }

    void take(const std::string& line) {
        const auto w = crash::detail::words(line);
        if (w.empty() || w[0] == "ready") return;
        if ((w[0] == "write" && w.size() == 3) || (w[0] == "erase" && w.size() == 2)) {
            EXPECT_FALSE(writing_) << "a write began before the last one was acknowledged: " << line;
            writing_ = {std::stoi(w[1]), w[0] == "write" ? Val{std::stoll(w[2])} : Val{}};
            if (in_flight_) in_flight_->may_hold[writing_->first].insert(writing_->second);
        } else if (w[0] == "written" && w.size() == 1 && writing_) {
            acked_[writing_->first] = writing_->second;
            writing_.reset();
            ++f_.writes_acknowledged;
        } else if (w[0] == "begin" && w.size() == 2) {
            EXPECT_FALSE(in_flight_) << "a backup began before the last one was acknowledged";
            // Of each key, it holds what the last acknowledged write left or
            // what one in flight or begun before its acknowledgement left.
            in_flight_ = InFlight{w[1], {}};
            for (int k = 0; k < crash::key_count; ++k) in_flight_->may_hold[k].insert(acked_[k]);
            if (writing_) in_flight_->may_hold[writing_->first].insert(writing_->second);
            begun_at_ = clock::now();
        } else if (w[0] == "ack" && w.size() == 4 && in_flight_) {
            EXPECT_EQ(w[2], in_flight_->type) << line;
            committed(w[1], {w[2], w[3] == "-" ? "" : w[3]});
            unrestored_[w[1]] = std::move(in_flight_->may_hold);
            ++f_.acknowledged;
            in_flight_.reset();
            const auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - begun_at_);
            typical_ = (typical_ * 7 + took) / 8;
        } else {
            ADD_FAILURE() << "worker: " << line;
        }
    }

    // A backup committed, acknowledged or found listed whole: it builds on
    // what the model says it must.
    void committed(const std::string& id, Backup b) {
        const std::string newest = committed_.empty() ? "" : committed_.rbegin()->first;
        std::string newest_base;
        for (auto it = committed_.rbegin(); it != committed_.rend() && newest_base.empty(); ++it)
            if (strata::is_base(*strata::parse_backup_type(it->second.type))) newest_base = it->first;
        EXPECT_GT(id, newest) << "backup ids go back";
        if (b.type == "incremental")
            EXPECT_EQ(b.parent, newest) << id << " does not build on the newest backup";
        else if (b.type == "differential")
            EXPECT_EQ(b.parent, newest_base) << id << " does not build on the newest full backup";
        else
            EXPECT_EQ(b.parent, "") << id;
        committed_[id] = std::move(b);
    }

    // After a kill, in this process: what the store lists against the model.
    void check() {
        f_.temp_files_swept += static_cast<long>(temp_files(dir_ / "backups") + temp_files(dir_ / "tier"));
        BackupWorld w(dir_);
        EXPECT_EQ(temp_files(dir_ / "backups"), 0u) << "opening the store leaves a killed worker's temporary files";
        EXPECT_EQ(temp_files(dir_ / "tier"), 0u) << "opening the tier leaves a killed worker's temporary files";
        const auto listed = w.held.list();
        std::vector<std::string> listed_ids;
        for (const auto& b : listed) listed_ids.push_back(b.id);
        EXPECT_EQ(listed_ids, w.held.store().ids()) << "the store holds a backup whose manifest does not read";
        for (const auto& [id, b] : committed_)
            EXPECT_TRUE(std::binary_search(listed_ids.begin(), listed_ids.end(), id))
                << "acknowledged " << b.type << " backup " << id << " is not listed";
        for (const auto& b : listed) {
            if (!committed_.count(b.id)) {
                EXPECT_EQ(in_flight_ ? in_flight_->type : "", std::string(strata::to_string(b.type)))
                    << "backup " << b.id << " is listed but was never begun";
                committed(b.id, {std::string(strata::to_string(b.type)), b.parent});
                // It may hold what any write begun before the kill left.
                if (in_flight_) unrestored_[b.id] = std::move(in_flight_->may_hold);
                ++f_.committed_unacknowledged;
                in_flight_.reset();
            }
            EXPECT_TRUE(w.held.verify(b.id)) << "listed backup " << b.id << " does not verify";
            const auto t = w.held.test_restore(b.id);
            EXPECT_TRUE(t.ok) << "listed backup " << b.id << ": " << t.problem;
            ++f_.verified;
        }
        in_flight_.reset();
        restore_committed(w, listed);
        // The next worker starts from what the FileTier holds: the memory
        // tier died with this one.
        for (int k = 0; k < crash::key_count; ++k) acked_[k] = served(w.mgr, k);
        writing_.reset();
        prune(w);
    }

    // Each backup committed since the last kill, restored onto a scratch
    // stack: every key as the writes around the backup allow. (One not
    // listed has failed the test already.)
    void restore_committed(BackupWorld& w, const std::vector<strata::BackupInfo>& listed) {
        FileStack scratch(dir_ / "restored");
        for (const auto& [id, may_hold] : unrestored_) {
            const auto b = std::find_if(listed.begin(), listed.end(), [&](const auto& l) { return l.id == id; });
            if (b == listed.end()) continue;
            w.held.restore_into(id, scratch.mgr);
            for (int k = 0; k < crash::key_count; ++k) {
                const auto got = served(scratch.mgr, k);
                std::string allowed;
                for (const auto& v : may_hold[k]) allowed += ' ' + text(v);
                EXPECT_TRUE(may_hold[k].count(got))
                    << "backup " << id << " (writes " << (b->writes_held ? "held" : "going on") << ") restores "
                    << crash::key_name(k) << " as " << text(got) << "; the writes around it allow" << allowed;
            }
            ++f_.restored;
        }
        unrestored_.clear();
    }

    // The counter of the value `mgr` serves for key k; nullopt if absent.
    static Val served(FileStack::Manager& mgr, int k) {
        const auto v = mgr.get(crash::key_name(k));
        if (!v) return std::nullopt;
        const auto c = crash::parse_value(k, *v);
        EXPECT_TRUE(c) << crash::key_name(k) << " holds a value no worker wrote";
        return c;
    }
    static std::string text(const Val& v) { return v ? std::to_string(*v) : "absent"; }

    // Keeps the store small: no backup after a base builds on anything
    // before it, so everything before the second-newest base goes (newest
    // first; remove refuses a backup another builds on).
    void prune(BackupWorld& w) {
        std::vector<std::string> bases;
        for (const auto& [id, b] : committed_)
            if (strata::is_base(*strata::parse_backup_type(b.type))) bases.push_back(id);
        if (bases.size() < 2) return;
        const auto keep_from = committed_.find(bases[bases.size() - 2]);
        for (auto it = std::make_reverse_iterator(keep_from); it != committed_.rend(); ++it)
            EXPECT_TRUE(w.held.remove(it->first)) << it->first;
        committed_.erase(committed_.begin(), keep_from);
    }

    // After the last kill: a new backup builds on the last committed one and
    // restores the tiers exactly.
    void back_up_and_restore() {
        BackupWorld w(dir_);
        w.mgr.set(crash::key_name(crash::large_keys), crash::make_value(crash::large_keys, 1'000'000'000));
        const Tiers want{strata::testing::snapshot(w.mgr.tier<0>()), strata::testing::snapshot(w.mgr.tier<1>())};
        const auto type = committed_.empty() ? BackupType::full : BackupType::incremental;
        const auto b = w.held.create(type);
        committed(b.id, {std::string(strata::to_string(b.type)), b.parent});
        EXPECT_TRUE(w.held.verify(b.id));
        for (int k = 0; k < crash::key_count; k += 3) w.mgr.erase(crash::key_name(k));
        w.mgr.set(crash::key_name(1), crash::make_value(1, 2'000'000'000), strata::at<1>);
        w.held.restore(b.id);
        strata::testing::expect_same(want.hot, strata::testing::snapshot(w.mgr.tier<0>()));
        strata::testing::expect_same(want.warm, strata::testing::snapshot(w.mgr.tier<1>()));
    }

    struct Tiers {
        strata::testing::Snapshot hot, warm;
    };

    fs::path dir_;
    BackupFigures f_;
    std::map<std::string, Backup> committed_;  // by id: ids sort by creation
    std::optional<InFlight> in_flight_;         // the backup begun and not acknowledged
    std::map<std::string, Holdings> unrestored_;  // committed since the last kill, by id
    std::array<Val, crash::key_count> acked_{};   // each key after the last acknowledged write
    std::optional<std::pair<int, Val>> writing_;  // the write begun and not acknowledged: key, counter
    int workers_ = 0;
    clock::time_point begun_at_;
    std::chrono::microseconds typical_{20'000};
};

}  // namespace

TEST(CrashTest, BackupChild) {
    if (!crash::in_child()) GTEST_SKIP() << "a process of CrashTest.BackupKill9";
    crash::Channel out(std::stoi(crash::env_or_empty(crash::fd_var)));
    try {
        BackupWorld w;
        make_backups(w, out, std::stoull(crash::env_or_empty(crash::seed_var)),
                     std::stoll(crash::env_or_empty(crash::round_var)));
    } catch (const std::exception& e) {
        out.say(std::string("bad ") + e.what());
    }
}

TEST(CrashTest, BackupKill9) {
    strata::testing::TempDir dir{"strata-crash"};
    BackupKills(dir.path).run(40, std::chrono::seconds{90}, 30);
}
