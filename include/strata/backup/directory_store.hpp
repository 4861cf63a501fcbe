#pragma once

#include <stdio.h>  // rename

#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

#include "strata/backup/backup_store.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/tiers/detail/file_io.hpp"

namespace strata {

// Backups in a directory (local disk or a network mount): one file per
// backup, `<dir>/<id>.backup`, written as DirectoryCheckpointStore writes a
// checkpoint (in parts under a temporary name, synced, renamed into place
// with its manifest last, the directory synced), so a process killed at any
// point leaves no listed half backup and every earlier one intact; and the
// repository's key ring in `<dir>/keyring`, replaced by rename.
class DirectoryBackupStore {
public:
    explicit DirectoryBackupStore(std::filesystem::path dir, DirectoryStoreOptions options = backup_defaults())
        : files_(std::move(dir), std::move(options)) {}

    static DirectoryStoreOptions backup_defaults() {
        DirectoryStoreOptions o;
        o.name = "backups";
        o.suffix = ".backup";
        return o;
    }

    std::string_view name() const noexcept { return files_.name(); }
    const std::filesystem::path& directory() const noexcept { return files_.directory(); }

    auto begin(const std::string& id) { return files_.begin(id); }
    auto open(const std::string& id) { return files_.open(id); }
    std::optional<std::string> summary(const std::string& id) { return files_.summary(id); }
    std::vector<std::string> ids() { return files_.ids(); }
    bool remove(const std::string& id) { return files_.remove(id); }

    std::optional<std::string> key_ring() {
        auto got = detail::file::read_file(ring_path(), std::string(name()), "key_ring", max_ring_size);
        if (!got) return std::nullopt;
        return std::move(got->bytes);
    }

    void store_key_ring(std::string_view bytes) {
        const std::string n(name());
        const auto temp = detail::file::write_temp(directory(), bytes, true);
        if (temp.err != 0) detail::file::fail(n, "store_key_ring", directory(), temp.err);
        if (::rename(temp.path.c_str(), ring_path().c_str()) != 0) {
            const int err = errno;
            ::unlink(temp.path.c_str());
            detail::file::fail(n, "store_key_ring", ring_path(), err);
        }
        detail::file::fsync_dir(directory(), n, "store_key_ring");
    }

private:
    // A ring holds at most 64 slots of under 150 bytes.
    static constexpr std::size_t max_ring_size = 64 * 1024;

    std::filesystem::path ring_path() const { return directory() / "keyring"; }

    DirectoryCheckpointStore files_;
};

static_assert(check_backup_store<DirectoryBackupStore>());

}  // namespace strata
