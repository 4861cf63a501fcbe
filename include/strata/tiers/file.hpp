#pragma once

#include <fcntl.h>     // AT_FDCWD, AT_SYMLINK_NOFOLLOW
#include <limits.h>    // PATH_MAX
#include <sys/stat.h>  // lstat, utimensat
#include <unistd.h>    // access, unlink

#include <cerrno>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, int64_t, uint64_t
#include <cstdio>   // rename
#include <filesystem>
#include <memory>  // unique_ptr
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>  // move, as_const
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/tier.hpp"
#include "strata/tiers/detail/file_io.hpp"
#include "strata/tiers/detail/file_lock.hpp"
#include "strata/tiers/detail/per_key_batch.hpp"
#include "strata/tiers/detail/file_path.hpp"

namespace strata {

struct FileTierOptions {
    CompressionOptions compression{};
    // fsync each file and its directory before store/erase return. Off, a
    // write survives a killed process but not a power cut.
    bool fsync = true;
    std::string name = "file";
    // Remove temporary files of crashed writers when the tier opens.
    bool clean_temp_on_open = true;
    // A temporary file this old is abandoned even if its pid looks alive.
    std::chrono::seconds stale_temp_age = std::chrono::minutes{15};
    // A fetch stamps its record file as used (see FileTier) only when the
    // stamp is older than this, so a key read all the time costs one
    // metadata write per resolution, and idle_keys() is exact to within it.
    std::chrono::milliseconds access_resolution{1'000};
};

// The warm, durable tier without a server: one file per key under `root`,
// named by a reversible path-safe encoding of the key (detail/file_path.hpp),
// holding the shared record envelope. Writes go to a temporary file that is
// synced and renamed over the old one, so a crash leaves the old record or
// the new one, never a torn one. Expired records are removed when read and
// by sweep_expired(). Safe to share between threads and between processes
// (the last rename wins): every rename and every check-then-unlink holds
// the key's stripe lock (detail/file_lock.hpp), so no FileTier on the root
// removes a record another has just written. A tier inherited through fork
// works too.
//
// A record file's mtime is its key's last use, for idle_keys(): a write makes
// a new file, a fetch sets the time forward (at most once per
// access_resolution), and peek_many and the listing calls read without
// setting it. The kernel never moves mtime on a read, whereas atime moves on
// the first read after a write even under relatime, peeks included.
class FileTier {
public:
    static constexpr Temperature temperature = Temperature::warm;
    static constexpr bool durable = true;

    explicit FileTier(std::filesystem::path root, FileTierOptions options = {})
        : root_(normal_root(std::move(root))), options_(std::move(options)) {
        // The longest encoded key must still fit in PATH_MAX under the root.
        if (root_.native().size() + 1 + detail::file::max_encoded_size >= PATH_MAX)
            detail::file::fail(options_.name, "open", root_, ENAMETOOLONG);
        std::error_code ec;
        std::filesystem::create_directories(root_, ec);
        if (ec) detail::file::fail(options_.name, "open", root_, ec.value());
        if (!std::filesystem::is_directory(root_, ec)) detail::file::fail(options_.name, "open", root_, ENOTDIR);
        locks_ = std::make_unique<detail::file::StripeLocks>(root_, options_.name);
        if (options_.clean_temp_on_open) clean_temp_files("open");
    }

    std::string_view name() const noexcept { return options_.name; }
    const std::filesystem::path& root() const noexcept { return root_; }

    std::optional<Record> fetch(std::string_view key) {
        validate_key(key);
        return read(key, "fetch", true);
    }

    // fetch_many that leaves the files' use stamps alone (capabilities.hpp).
    std::vector<std::optional<Record>> peek_many(std::span<const std::string> keys) {
        for (const auto& k : keys) validate_key(k);
        std::vector<std::optional<Record>> out;
        out.reserve(keys.size());
        for (const auto& k : keys) out.push_back(read(k, "peek_many", false));
        return out;
    }

    void store(std::string_view key, const Record& record) {
        validate_key(key);
        if (record.expired()) {
            erase(key);  // storing a record that is already gone leaves nothing
            return;
        }
        const auto path = path_of(key);
        const auto dir = path.parent_path();
        const std::string blob = envelope::encode(record, options_.compression);
        // Retries when an erase of a neighbouring key pruned our directory
        // between creating it and renaming into it.
        for (int attempt = 1;; ++attempt) {
            const bool retry = attempt < max_attempts;
            std::error_code ec;
            if (dir != root_) std::filesystem::create_directories(dir, ec);
            if (ec) {
                if (ec.value() == ENOENT && retry) continue;
                detail::file::fail(options_.name, "store", dir, ec.value());
            }
            const auto temp = detail::file::write_temp(dir, blob, options_.fsync);
            if (temp.err != 0) {
                if (temp.err == ENOENT && retry) continue;
                detail::file::fail(options_.name, "store", dir, temp.err);
            }
            int err = 0;
            {
                // Orders the rename with every check-then-unlink of the key,
                // which must not remove the record renamed in here.
                const auto guard = locks_->lock(key, "store");
                if (::rename(temp.path.c_str(), path.c_str()) != 0) err = errno;
            }
            if (err != 0) {
                ::unlink(temp.path.c_str());
                if (err == ENOENT && retry) continue;
                detail::file::fail(options_.name, "store", path, err);
            }
            if (options_.fsync) {
                // A directory's entry lives in its parent, and another writer
                // may have created ours without syncing it yet: sync the chain.
                for (auto d = dir;; d = d.parent_path()) {
                    detail::file::fsync_dir(d, options_.name, "store");
                    if (d == root_ || d.native().size() <= root_.native().size()) break;
                }
            }
            return;
        }
    }

    // True when a live (unexpired) record was removed.
    bool erase(std::string_view key) {
        validate_key(key);
        const auto path = path_of(key);
        bool live = false;
        {
            const auto guard = locks_->lock(key, "erase");
            const auto head = detail::file::read_file(path, options_.name, "erase", envelope::header_size);
            if (!head) return false;
            live = !header_expired(head->bytes, Clock::now());
            if (::unlink(path.c_str()) != 0) {
                if (errno == ENOENT) return false;
                detail::file::fail(options_.name, "erase", path, errno);
            }
        }
        if (options_.fsync) detail::file::fsync_dir(path.parent_path(), options_.name, "erase");
        detail::file::prune_empty_dirs(path.parent_path(), root_);
        return live;
    }

    // Files hold one record each: there is no round trip to save, so the
    // batch calls are loops in input order.
    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> keys) {
        return detail::fetch_each(*this, keys);
    }
    void store_many(std::span<const Entry> entries) { detail::store_each(*this, entries); }
    std::size_t erase_many(std::span<const std::string> keys) { return detail::erase_each(*this, keys); }

    std::vector<std::string> keys(std::string_view pattern) {
        const Glob glob(pattern);
        const auto now = Clock::now();
        std::vector<std::string> out;
        for_each_head(
            "keys", [&](const std::string& key, const std::filesystem::path&) { return glob.matches(key); },
            [&](std::string key, const std::filesystem::path&, std::string_view head) {
                if (!header_expired(head, now)) out.push_back(std::move(key));
            });
        return out;
    }

    // Live keys whose files were neither written nor fetched (peeks do not
    // count) for longer than `older_than`, by their mtime (see the class
    // comment). For StateManager::demote_idle.
    std::vector<std::string> idle_keys(std::chrono::milliseconds older_than) {
        const auto now = Clock::now();
        const auto cutoff = now - older_than;
        std::vector<std::string> out;
        for_each_head(
            "idle_keys",
            [&](const std::string&, const std::filesystem::path& path) {
                const auto used = last_use(path);
                return used && *used < cutoff;
            },
            [&](std::string key, const std::filesystem::path&, std::string_view head) {
                if (!header_expired(head, now)) out.push_back(std::move(key));
            });
        return out;
    }

    // Live keys whose record version is above `version`, read from the
    // envelope headers alone; a header that does not decode is listed
    // (capabilities.hpp says why).
    std::vector<std::string> changed_since(std::uint64_t version) {
        const auto now = Clock::now();
        std::vector<std::string> out;
        for_each_head(
            "changed_since", [](const std::string&, const std::filesystem::path&) { return true; },
            [&](std::string key, const std::filesystem::path&, std::string_view head) {
                const auto header = envelope::peek_header(head);
                if (!header || (header->version > version && !header_expired(head, now))) out.push_back(std::move(key));
            });
        return out;
    }

    // Removes expired records (and abandoned temporary files); returns how
    // many records went.
    std::size_t sweep_expired() {
        std::vector<std::pair<std::string, std::filesystem::path>> expired;
        const auto now = Clock::now();
        for_each_head(
            "sweep", [](const std::string&, const std::filesystem::path&) { return true; },
            [&](std::string key, const std::filesystem::path& path, std::string_view head) {
                if (header_expired(head, now)) expired.emplace_back(std::move(key), path);
            });
        std::size_t n = 0;
        for (const auto& [key, path] : expired) n += remove_if_expired(key, path, "sweep") ? 1 : 0;
        clean_temp_files("sweep");
        return n;
    }

    // Counts every record file, expired ones included until they are swept.
    TierStats stats() {
        TierStats st;
        std::uint64_t temps = 0;
        walk(
            "stats",
            [&](const std::filesystem::path&, std::string_view relative, const std::filesystem::directory_entry& e) {
                if (!detail::file::decode_path(relative)) return;
                std::error_code ec;
                const auto size = e.file_size(ec);
                if (ec) return;  // removed meanwhile
                ++st.keys;
                st.bytes += size;
            },
            [&](const std::filesystem::path&, std::string_view) { ++temps; });
        st.details = {{"root", root_.string()},
                      {"fsync", options_.fsync ? "on" : "off"},
                      {"temp_files", std::to_string(temps)}};
        return st;
    }

    bool ping() const noexcept {
        std::error_code ec;
        return std::filesystem::is_directory(root_, ec) && ::access(root_.c_str(), W_OK | X_OK) == 0;
    }

private:
    static constexpr int max_attempts = 16;

    static std::filesystem::path normal_root(std::filesystem::path root) {
        auto p = std::filesystem::absolute(root).lexically_normal();
        if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();  // drop a trailing '/'
        return p;
    }

    // Reads the expiry from the envelope header alone, so listing and
    // sweeping never read values. A header that does not decode counts as
    // live: fetch reports it as unreadable and the manager repairs it.
    static bool header_expired(std::string_view head, Clock::time_point now) {
        const auto header = envelope::peek_header(head);
        return header && header->expires_at && *header->expires_at <= now;
    }

    std::filesystem::path path_of(std::string_view key) const { return root_ / detail::file::encode_key(key); }

    // The record of `key`, an expired one removed; `use` stamps the file as used.
    std::optional<Record> read(std::string_view key, const char* op, bool use) {
        const auto path = path_of(key);
        auto file = detail::file::read_file(path, options_.name, op);
        if (!file) return std::nullopt;
        Record record = envelope::decode_or_unreadable(file->bytes);
        if (record.expired()) {
            remove_if_expired(key, path, op);
            return std::nullopt;
        }
        if (use) stamp_use(path);
        return record;
    }

    static std::optional<Clock::time_point> last_use(const std::filesystem::path& path) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) return std::nullopt;  // removed meanwhile
        return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    }

    // Bookkeeping, so best effort: a failure never fails the read. A writer
    // that renamed a new file in meanwhile gets it stamped, which is true anyway.
    void stamp_use(const std::filesystem::path& path) const {
        const auto used = last_use(path);
        if (used && Clock::now() - *used < options_.access_resolution) return;
        ::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);  // now; needs write access only
    }

    // Removes the file of `key` if it still holds an expired record. Checked
    // again under the lock because a writer may have replaced the file since
    // the caller read it (comparing inode numbers would not do: a freed inode
    // is soon reused). Whatever expired record is there now may go.
    bool remove_if_expired(std::string_view key, const std::filesystem::path& path, const std::string& op) {
        {
            const auto guard = locks_->lock(key, op);
            const auto head = detail::file::read_file(path, options_.name, op, envelope::header_size);
            if (!head || !header_expired(head->bytes, Clock::now()) || ::unlink(path.c_str()) != 0) return false;
        }
        detail::file::prune_empty_dirs(path.parent_path(), root_);
        return true;
    }

    void clean_temp_files(const std::string& op) {
        std::vector<std::filesystem::path> abandoned;
        walk(
            op, [](const std::filesystem::path&, std::string_view, auto&) {},
            [&](const std::filesystem::path& path, std::string_view name) {
                if (detail::file::abandoned_temp(path, name, options_.stale_temp_age)) abandoned.push_back(path);
            });
        for (const auto& p : abandoned)
            if (::unlink(p.c_str()) == 0) detail::file::prune_empty_dirs(p.parent_path(), root_);
    }

    // Calls f(key, path, head) for each record file whose key and path pass
    // want(key, path), with head its first header_size bytes. Files removed
    // meanwhile are skipped.
    template <class Want, class F>
    void for_each_head(const std::string& op, Want&& want, F&& f) {
        walk(op, [&](const std::filesystem::path& path, std::string_view relative, auto&) {
            auto key = detail::file::decode_path(relative);
            if (!key || !want(std::as_const(*key), path)) return;
            const auto head = detail::file::read_file(path, options_.name, op, envelope::header_size);
            if (head) f(std::move(*key), path, std::string_view(head->bytes));
        });
    }

    // Visits every record file (path, path relative to root, entry) and
    // every temporary file (path, file name). Entries that vanish while we
    // walk, as concurrent erases make them, are skipped.
    template <class OnRecord, class OnTemp = decltype([](const std::filesystem::path&, std::string_view) {})>
    void walk(const std::string& op, OnRecord&& on_record, OnTemp&& on_temp = {}) {
        std::string relative;
        walk_dir(root_, relative, op, on_record, on_temp);
    }

    template <class OnRecord, class OnTemp>
    void walk_dir(const std::filesystem::path& dir, std::string& relative, const std::string& op,
                  OnRecord& on_record, OnTemp& on_temp) {
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        if (ec) {
            if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return;
            detail::file::fail(options_.name, op, dir, ec.value());
        }
        for (const fs::directory_iterator end; it != end;) {
            const fs::directory_entry& entry = *it;
            const std::string name = entry.path().filename().string();
            if (name.starts_with(detail::file::temp_prefix)) {
                on_temp(entry.path(), name);
            } else if (!name.starts_with('.') && !entry.is_symlink(ec) && !ec) {
                const std::size_t mark = relative.size();
                relative += name;
                if (name.ends_with(detail::file::dir_suffix) && entry.is_directory(ec) && !ec) {
                    relative += '/';
                    walk_dir(entry.path(), relative, op, on_record, on_temp);
                } else if (name.ends_with(detail::file::record_suffix) && entry.is_regular_file(ec) && !ec) {
                    on_record(entry.path(), std::string_view(relative), entry);
                }
                relative.resize(mark);
            }
            it.increment(ec);
            if (ec) detail::file::fail(options_.name, op, dir, ec.value());
        }
    }

    std::filesystem::path root_;
    FileTierOptions options_;
    std::unique_ptr<detail::file::StripeLocks> locks_;
};

static_assert(check_tier<FileTier>());
static_assert(check_capabilities<FileTier>());

}  // namespace strata
