#pragma once

#include <fcntl.h>
#include <signal.h>    // kill, for the owner check of temporary files
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>  // min
#include <atomic>
#include <chrono>
#include <cerrno>
#include <charconv>  // from_chars
#include <cstdint>   // uint64_t
#include <cstring>   // strerror_r
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "strata/core/error.hpp"

// POSIX file primitives for FileTier: whole-file reads, crash-safe writes
// (temporary file, fsync, rename, fsync of the directory) and errno mapped to
// strata::Error. std::filesystem has no fsync and no O_EXCL, hence the raw calls.
namespace strata::detail::file {

namespace fs = std::filesystem;

// Temporary files start with '.', which no encoded key does, and carry the
// writer's pid so a later process can tell an abandoned one from a live one.
inline constexpr std::string_view temp_prefix = ".strata-tmp-";

inline std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r may return a static string instead of filling buf.
    const char* s = strerror_r(err, buf, sizeof buf);
    return s;
}

// Permission and quota refusals are the operator's to fix (rejected);
// anything else, a full disk or an I/O error, may pass (unavailable).
[[noreturn]] inline void fail(const std::string& tier, const std::string& op, const fs::path& path, int err) {
    const bool rejected = err == EACCES || err == EPERM || err == EROFS || err == EDQUOT || err == ENAMETOOLONG;
    throw Error(rejected ? ErrorKind::rejected : ErrorKind::unavailable, tier, op,
                path.string() + ": " + errno_text(err));
}

// An owned file descriptor.
class Fd {
public:
    explicit Fd(int fd = -1) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

private:
    int fd_;
};

struct FileContents {
    std::string bytes;
};

// Reads at most `limit` bytes of `path` (all of it by default); nullopt when
// there is no such file. Reading through one descriptor is safe against
// concurrent writers: they rename a new inode over the name, ours stays whole.
inline std::optional<FileContents> read_file(const fs::path& path, const std::string& tier, const std::string& op,
                                             std::size_t limit = static_cast<std::size_t>(-1)) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        fail(tier, op, path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail(tier, op, path, errno);
    FileContents out;
    out.bytes.resize(std::min<std::size_t>(limit, static_cast<std::size_t>(st.st_size)));
    std::size_t done = 0;
    while (done < out.bytes.size()) {
        const ssize_t n = ::read(fd.get(), out.bytes.data() + done, out.bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(tier, op, path, errno);
        }
        if (n == 0) break;  // shorter than fstat said: report what is there
        done += static_cast<std::size_t>(n);
    }
    out.bytes.resize(done);
    return out;
}

inline void fsync_dir(const fs::path& dir, const std::string& tier, const std::string& op) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return;  // removed meanwhile: nothing left to make durable
        fail(tier, op, dir, errno);
    }
    if (::fsync(fd.get()) != 0 && errno != EINVAL) fail(tier, op, dir, errno);
}

// A name no other writer uses: pid + per-process counter, and O_EXCL below
// catches what is left (a recycled pid's leftovers).
inline std::string temp_name() {
    static std::atomic<std::uint64_t> counter{0};
    return std::string(temp_prefix) + std::to_string(::getpid()) + '-' + std::to_string(counter.fetch_add(1));
}

// Writes `bytes` to a new temporary file in `dir` (synced when `sync`) and
// returns its path, or the errno that stopped it.
struct TempResult {
    fs::path path;
    int err = 0;
};

inline TempResult write_temp(const fs::path& dir, std::string_view bytes, bool sync) {
    for (;;) {
        TempResult r{dir / temp_name()};
        Fd fd(::open(r.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666));
        if (!fd) {
            if (errno == EEXIST) continue;
            return {{}, errno};
        }
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                r.err = errno;
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        if (r.err == 0 && sync && ::fsync(fd.get()) != 0) r.err = errno;
        if (r.err != 0) ::unlink(r.path.c_str());
        return r;
    }
}

// Whether a temporary file was left by a writer that is gone: its process
// no longer exists, or it is older than `max_age` (a pid seen from another
// pid namespace, or recycled, proves nothing).
inline bool abandoned_temp(const fs::path& path, std::string_view name, std::chrono::seconds max_age) {
    name.remove_prefix(temp_prefix.size());
    int pid = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec == std::errc{} && end != name.data() && pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 &&
        errno == ESRCH)
        return true;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return false;
    const auto modified = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    return std::chrono::system_clock::now() - modified > max_age;
}

// Removes now-empty directories from `dir` up to, not including, `root`.
// A writer that loses its directory this way recreates it and retries.
inline void prune_empty_dirs(fs::path dir, const fs::path& root) {
    while (dir != root && dir.native().size() > root.native().size()) {
        if (::rmdir(dir.c_str()) != 0) return;
        dir = dir.parent_path();
    }
}

}  // namespace strata::detail::file
