#pragma once

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>  // sort, min
#include <cerrno>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <filesystem>
#include <optional>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <system_error>
#include <utility>  // move, exchange
#include <vector>

#include "strata/checkpoint/checkpoint_store.hpp"
#include "strata/checkpoint/detail/format.hpp"  // put_u64, get_u64
#include "strata/core/error.hpp"
#include "strata/tiers/detail/file_io.hpp"

namespace strata {

struct DirectoryStoreOptions {
    // fsync the file and the directory before commit returns. Off, a
    // checkpoint survives a killed process but not a power cut.
    bool fsync = true;
    std::string name = "checkpoints";
    // File name ending of committed files (backups reuse this store).
    std::string suffix = ".ckpt";
    // A temporary file this old is abandoned even if its pid looks alive.
    std::chrono::seconds stale_temp_age = std::chrono::hours{1};
};

// One file per checkpoint, `<dir>/<id>.ckpt`: the compressed stream, then
// the summary, then a 24-byte footer (summary size, stream size, "STRCKEND").
// A checkpoint is written under a temporary name, synced and renamed into
// place (never over an existing one), then the directory is synced: a
// process killed at any point leaves the earlier checkpoints as they were
// and no half-written one listed. Temporary files of dead writers are
// removed when a store opens the directory.
class DirectoryCheckpointStore {
public:
    explicit DirectoryCheckpointStore(std::filesystem::path dir, DirectoryStoreOptions options = {})
        : dir_(std::filesystem::absolute(std::move(dir)).lexically_normal()), options_(std::move(options)) {
        if (options_.suffix.empty() || options_.suffix.front() != '.' || options_.suffix.find('/') != std::string::npos)
            throw std::invalid_argument("strata: DirectoryStoreOptions::suffix must start with '.' and hold no '/'");
        std::error_code ec;
        std::filesystem::create_directories(dir_, ec);
        if (ec) detail::file::fail(options_.name, "open", dir_, ec.value());
        if (!std::filesystem::is_directory(dir_, ec)) detail::file::fail(options_.name, "open", dir_, ENOTDIR);
        clean_temp_files();
    }

    std::string_view name() const noexcept { return options_.name; }
    const std::filesystem::path& directory() const noexcept { return dir_; }

    class Sink {
    public:
        Sink(Sink&& o) noexcept
            : store_(o.store_), id_(std::move(o.id_)), temp_(std::move(o.temp_)), fd_(std::move(o.fd_)),
              size_(o.size_), done_(std::exchange(o.done_, true)) {}
        Sink& operator=(Sink&&) = delete;
        ~Sink() {
            if (!done_) ::unlink(temp_.c_str());
        }

        void write(std::string_view bytes) {
            put(bytes);
            size_ += bytes.size();
        }

        void commit(std::string_view summary) {
            std::string footer;
            detail::checkpoint::put_u64(footer, summary.size());
            detail::checkpoint::put_u64(footer, size_);
            footer += footer_magic;
            put(summary);
            put(footer);
            const auto& name = store_->options_.name;
            if (store_->options_.fsync && ::fsync(fd_.get()) != 0) detail::file::fail(name, "commit", temp_, errno);
            const auto final_path = store_->path_of(id_);
            if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
                if (errno == EEXIST)
                    throw Error(ErrorKind::conflict, name, "commit", "checkpoint '" + id_ + "' already exists");
                detail::file::fail(name, "commit", final_path, errno);
            }
            done_ = true;
            if (store_->options_.fsync) detail::file::fsync_dir(store_->dir_, name, "commit");
        }

    private:
        friend class DirectoryCheckpointStore;
        Sink(const DirectoryCheckpointStore* store, std::string id, std::filesystem::path temp, detail::file::Fd fd)
            : store_(store), id_(std::move(id)), temp_(std::move(temp)), fd_(std::move(fd)) {}

        void put(std::string_view bytes) {
            while (!bytes.empty()) {
                const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) detail::file::fail(store_->options_.name, "write", temp_, errno);
                bytes.remove_prefix(static_cast<std::size_t>(n));
            }
        }

        const DirectoryCheckpointStore* store_;
        std::string id_;
        std::filesystem::path temp_;
        detail::file::Fd fd_;
        std::uint64_t size_ = 0;
        bool done_ = false;
    };

    class Source {
    public:
        std::size_t read(char* data, std::size_t size) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size, left_));
            std::size_t done = 0;
            while (done < n) {
                const ssize_t got = ::read(fd_.get(), data + done, n - done);
                if (got < 0 && errno == EINTR) continue;
                if (got < 0) detail::file::fail(name_, "read", path_, errno);
                if (got == 0) break;  // shrunk under us: the reader reports the truncation
                done += static_cast<std::size_t>(got);
            }
            left_ -= done;
            if (done < n) left_ = 0;
            return done;
        }

        void skip(std::uint64_t n) {
            n = std::min(n, left_);
            if (::lseek(fd_.get(), static_cast<off_t>(n), SEEK_CUR) < 0) detail::file::fail(name_, "read", path_, errno);
            left_ -= n;
        }

    private:
        friend class DirectoryCheckpointStore;
        Source(detail::file::Fd fd, std::uint64_t size, std::string name, std::filesystem::path path)
            : fd_(std::move(fd)), left_(size), name_(std::move(name)), path_(std::move(path)) {}
        detail::file::Fd fd_;
        std::uint64_t left_;
        std::string name_;
        std::filesystem::path path_;
    };

    Sink begin(const std::string& id) {
        validate_checkpoint_id(id);
        for (;;) {
            auto temp = dir_ / detail::file::temp_name();
            detail::file::Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
            if (fd) return Sink(this, id, std::move(temp), std::move(fd));
            if (errno != EEXIST) detail::file::fail(options_.name, "begin", temp, errno);
        }
    }

    // Throws Error{not_found} for an unknown id, Error{corrupt} for a file
    // whose footer does not add up.
    Source open(const std::string& id) {
        validate_checkpoint_id(id);
        auto opened = open_file(id, "open");
        if (!opened) throw Error(ErrorKind::not_found, options_.name, "open", "no checkpoint '" + id + "'");
        return Source(std::move(opened->fd), opened->stream_size, options_.name, path_of(id));
    }

    std::optional<std::string> summary(const std::string& id) {
        validate_checkpoint_id(id);
        auto opened = open_file(id, "summary");
        if (!opened) return std::nullopt;
        std::string s(static_cast<std::size_t>(opened->summary_size), '\0');
        if (!pread_all(opened->fd, s.data(), s.size(), opened->stream_size))
            corrupt(id, "ends inside its summary");
        return s;
    }

    std::vector<std::string> ids() {
        std::vector<std::string> out;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            const std::string& suffix = options_.suffix;
            if (!name.ends_with(suffix)) continue;
            std::string id = name.substr(0, name.size() - suffix.size());
            try {
                validate_checkpoint_id(id);
            } catch (const std::invalid_argument&) {
                continue;  // not ours
            }
            out.push_back(std::move(id));
        }
        if (ec) detail::file::fail(options_.name, "list", dir_, ec.value());
        std::sort(out.begin(), out.end());
        return out;
    }

    bool remove(const std::string& id) {
        validate_checkpoint_id(id);
        const auto path = path_of(id);
        if (::unlink(path.c_str()) != 0) {
            if (errno == ENOENT) return false;
            detail::file::fail(options_.name, "remove", path, errno);
        }
        if (options_.fsync) detail::file::fsync_dir(dir_, options_.name, "remove");
        return true;
    }

private:
    static constexpr std::string_view footer_magic = "STRCKEND";
    static constexpr std::uint64_t footer_size = 24;
    static constexpr std::uint64_t max_summary_size = std::uint64_t{16} << 20;

    struct Opened {
        detail::file::Fd fd;
        std::uint64_t stream_size = 0;
        std::uint64_t summary_size = 0;
    };

    std::filesystem::path path_of(const std::string& id) const { return dir_ / (id + options_.suffix); }

    [[noreturn]] void corrupt(const std::string& id, const std::string& why) const {
        throw Error(ErrorKind::corrupt, options_.name, "open", "checkpoint file of '" + id + "' " + why);
    }

    static bool pread_all(const detail::file::Fd& fd, char* data, std::size_t size, std::uint64_t at) {
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::pread(fd.get(), data + done, size - done, static_cast<off_t>(at + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // Opens a committed file and checks its footer; nullopt if absent.
    std::optional<Opened> open_file(const std::string& id, const std::string& op) {
        const auto path = path_of(id);
        Opened o{detail::file::Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW))};
        if (!o.fd) {
            if (errno == ENOENT) return std::nullopt;
            detail::file::fail(options_.name, op, path, errno);
        }
        struct stat st {};
        if (::fstat(o.fd.get(), &st) != 0) detail::file::fail(options_.name, op, path, errno);
        const auto size = static_cast<std::uint64_t>(st.st_size);
        char footer[footer_size];
        if (size < footer_size || !pread_all(o.fd, footer, footer_size, size - footer_size))
            corrupt(id, "is too short for its footer");
        const std::string_view f(footer, footer_size);
        if (f.substr(16) != footer_magic) corrupt(id, "has no footer (truncated?)");
        o.summary_size = detail::checkpoint::get_u64(f, 0);
        o.stream_size = detail::checkpoint::get_u64(f, 8);
        if (o.summary_size > max_summary_size || o.stream_size > size ||
            o.stream_size + o.summary_size + footer_size != size)
            corrupt(id, "has a footer that does not match its size");
        return o;
    }

    void clean_temp_files() {
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (name.starts_with(detail::file::temp_prefix) &&
                detail::file::abandoned_temp(it->path(), name, options_.stale_temp_age))
                ::unlink(it->path().c_str());
        }
    }

    std::filesystem::path dir_;
    DirectoryStoreOptions options_;
};

static_assert(check_checkpoint_store<DirectoryCheckpointStore>());

}  // namespace strata
