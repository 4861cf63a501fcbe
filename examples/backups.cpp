// Encrypted backups end to end, with no server: a service's state in a
// MemoryTier and a FileTier, backed up to two directories at once (think a
// local disk and a network mount), on a schedule driven here by hand, then
// verified, restored onto a new machine from the second copy alone, and the
// user key rotated without rewriting a byte of backup data.
#include <unistd.h>  // getpid

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <strata/strata.hpp>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

auto open_manager(const fs::path& dir) {
    return strata::StateManager{strata::LruCache{10'000}, strata::NeverPromote{}, strata::MemoryTier{},
                                strata::FileTier{dir}};
}

auto open_store(const fs::path& dir) { return strata::DirectoryBackupStore{dir}; }

template <class Manager>
void show(const char* when, Manager& mgr) {
    std::printf("    %s: position:AAPL=%s order:1002=%s session:alice=%s\n", when,
                mgr.get("position:AAPL").value_or("-").c_str(), mgr.get("order:1002").value_or("-").c_str(),
                mgr.get("session:alice").value_or("-").c_str());
}

}  // namespace

// Exits 1 when a step does not give what it promises, so ctest runs it.
int main() {
    const auto root = fs::temp_directory_path() / ("strata-backups-example-" + std::to_string(::getpid()));
    fs::remove_all(root);
    const auto key = strata::EncryptionKey::generate();  // in production: EncryptionKey::from_file(...)

    std::string last;
    {
        auto mgr = open_manager(root / "machine-a");
        strata::BackupManager backups{mgr,
                                      strata::MirroredBackupStore{open_store(root / "local"), open_store(root / "offsite")},
                                      strata::BackupOptions{.key = key}};

        std::puts("1. State, then a full backup (sealed with AES-256-GCM, written to both stores).");
        mgr.set("position:AAPL", R"({"qty":60})");
        mgr.set("order:1002", R"({"status":"open"})", strata::at<1>);
        mgr.set("session:alice", "token-1", strata::SetOptions{.ttl = 1h});
        const auto full = backups.create(strata::BackupType::full);
        std::printf("    %s: %llu keys, %llu bytes stored\n", full.id.c_str(),
                    static_cast<unsigned long long>(full.key_count), static_cast<unsigned long long>(full.stored_bytes));

        std::puts("2. A schedule: full daily, incremental every minute; run_due(now) runs what is due.");
        backups.schedule(strata::BackupSchedule{.full = "0 0 * * *", .incremental = "* * * * *"});
        mgr.set("order:1002", R"({"status":"filled"})", strata::at<1>);
        mgr.erase("session:alice");
        for (const auto& run : backups.run_due(strata::Clock::now() + 1min))
            std::printf("    ran %s: %s\n", std::string(strata::to_string(run.job)).c_str(),
                        run.ok ? run.id.c_str() : run.error.c_str());
        const auto all = backups.list();
        last = all.back().id;
        std::printf("    %s builds on %s: %llu changed, %llu deleted\n", last.c_str(), all.back().parent.c_str(),
                    static_cast<unsigned long long>(all.back().changed_keys),
                    static_cast<unsigned long long>(all.back().deleted_keys));
        show("state at the cut", mgr);

        std::puts("3. Verify: every byte authenticated (needs the key); the structure (needs none); a test restore.");
        const bool verified = backups.verify(last), sound = backups.verify_structure(last);
        const auto test = backups.test_restore(last);
        std::printf("    verify=%d verify_structure=%d test_restore.ok=%d\n", verified, sound, test.ok);
        if (!verified || !sound || !test.ok) return 1;
    }

    std::puts("4. Machine A and its local backups are lost. Machine B restores from the off-site copy alone.");
    fs::remove_all(root / "machine-a");
    fs::remove_all(root / "local");
    {
        auto mgr = open_manager(root / "machine-b");
        strata::BackupManager offsite{mgr, open_store(root / "offsite"), strata::BackupOptions{.key = key}};
        const auto report = offsite.restore(last);
        std::printf("    restored %llu keys (chain of %zu backups)\n",
                    static_cast<unsigned long long>(report.keys_restored), offsite.list().size());
        show("state on machine B", mgr);
        if (mgr.get("order:1002") != R"({"status":"filled"})" || mgr.get("session:alice")) return 1;
    }

    std::puts("5. Rotate the user key: the key ring is rewritten, no backup data is.");
    {
        auto store = open_store(root / "offsite");
        const auto next = strata::EncryptionKey::generate();
        auto ring = strata::KeyRing::parse(*store.key_ring());
        ring.rotate(key, next);
        store.store_key_ring(ring.serialize());

        auto mgr = open_manager(root / "machine-c");
        strata::BackupManager with_old{mgr, open_store(root / "offsite"), strata::BackupOptions{.key = key}};
        try {
            with_old.verify(last);
            return 1;
        } catch (const strata::Error& e) {
            std::printf("    the old key: %s\n", e.what());
        }
        strata::BackupManager with_new{mgr, open_store(root / "offsite"), strata::BackupOptions{.key = next}};
        const bool verified = with_new.verify(last);
        std::printf("    the new key: verify=%d\n", verified);
        if (!verified) return 1;
    }

    fs::remove_all(root);
    return 0;
}
