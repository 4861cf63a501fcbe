#pragma once

#include <fcntl.h>  // fcntl, F_OFD_*
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>  // size_t
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>  // move

#include "strata/core/detail/string_hash.hpp"
#include "strata/core/error.hpp"
#include "strata/tiers/detail/file_io.hpp"

#ifndef F_OFD_SETLKW
#error "FileTier needs open file description locks (F_OFD_SETLKW: Linux 3.15+, glibc with _GNU_SOURCE)"
#endif

// Per-key locks that make FileTier's check-then-unlink of a record atomic
// against a rename over it by any FileTier on the same root, in this process
// or another. Readers take none: rename keeps them safe.
//
// A key hashes to one of `stripes` stripes. A stripe is a std::mutex (for
// threads of one FileTier, which share one lock descriptor and so do not
// exclude each other) plus a byte of the root's lock file, locked with an
// open file description lock (F_OFD_SETLKW, Linux 3.15+). Such a lock belongs
// to the descriptor, not the process, so two FileTiers in one process
// exclude each other just as two processes do, and the kernel drops it when
// its holder dies. A forked child would share its parent's descriptor, so it
// opens its own on first use (fork only from a parent with no thread inside
// a lock: the child inherits the mutexes as they were).
namespace strata::detail::file {

// Starts with '.', so the walk skips it, but not with temp_prefix, so temp
// cleaning never removes it.
inline constexpr std::string_view lock_name = ".strata-lock";

// A key's stripe: every process on the root must pick the same one.
using detail::stable_hash;

class StripeLocks {
public:
    static constexpr std::size_t stripes = 64;

    // Opens (creating) the lock file in `root`. Fails rather than run
    // unsafely where the filesystem has no open file description locks.
    StripeLocks(const fs::path& root, std::string tier)
        : path_(root / lock_name), tier_(std::move(tier)), fd_(open_file("open")), pid_(::getpid()) {
        struct flock probe = range(F_WRLCK, 0);
        if (::fcntl(fd_, F_OFD_GETLK, &probe) != 0) {
            const int err = errno;
            ::close(fd_);  // no destructor runs for a constructor that throws
            if (err == EINVAL)  // a setting to change (where the root is), not a refusal
                throw Error(ErrorKind::invalid, tier_, "open",
                            path_.string() +
                                ": no open file description locks here (Linux 3.15+ and a filesystem "
                                "that supports them), which FileTier needs to be safe across processes");
            fail(tier_, "open", path_, err);
        }
    }
    StripeLocks(const StripeLocks&) = delete;
    StripeLocks& operator=(const StripeLocks&) = delete;
    ~StripeLocks() { ::close(fd_); }

    // Holds the stripe of a key: its mutex, then its byte of the lock file.
    class Guard {
    public:
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;
        ~Guard() {
            // Cannot fail for a lock we hold; the kernel drops it on close anyway.
            struct flock l = range(F_UNLCK, stripe_);
            ::fcntl(fd_, F_OFD_SETLK, &l);
        }

    private:
        friend class StripeLocks;
        Guard(StripeLocks& owner, std::size_t stripe, const std::string& op)
            : mutex_(owner.mutexes_[stripe]), fd_(owner.descriptor(op)), stripe_(stripe) {
            struct flock l = range(F_WRLCK, stripe);
            while (::fcntl(fd_, F_OFD_SETLKW, &l) != 0)
                if (errno != EINTR) fail(owner.tier_, op, owner.path_, errno);
        }

        std::unique_lock<std::mutex> mutex_;  // taken before the file lock, released after
        int fd_;
        std::size_t stripe_;
    };

    [[nodiscard]] Guard lock(std::string_view key, const std::string& op) {
        return Guard(*this, stable_hash(key) % stripes, op);
    }

private:
    int open_file(const std::string& op) const {
        const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) fail(tier_, op, path_, errno);
        return fd;
    }

    // This process's lock descriptor, opened anew in a forked child.
    int descriptor(const std::string& op) {
        const pid_t pid = ::getpid();
        if (pid_.load(std::memory_order_acquire) == pid) return fd_.load(std::memory_order_relaxed);
        std::lock_guard lock(reopen_);
        if (pid_.load(std::memory_order_relaxed) != pid) {
            ::close(fd_.exchange(open_file(op)));  // the parent keeps its locks: it still holds the description
            pid_.store(pid, std::memory_order_release);
        }
        return fd_.load(std::memory_order_relaxed);
    }

    static struct flock range(short type, std::size_t stripe) {
        struct flock l {};
        l.l_type = type;
        l.l_whence = SEEK_SET;
        l.l_start = static_cast<off_t>(stripe);
        l.l_len = 1;
        return l;  // l_pid stays 0, as OFD locks require
    }

    std::array<std::mutex, stripes> mutexes_;
    fs::path path_;
    std::string tier_;
    std::atomic<int> fd_;
    std::atomic<pid_t> pid_;  // the process fd_ belongs to
    std::mutex reopen_;
};

}  // namespace strata::detail::file
