#pragma once
// A small disk to fill: a tmpfs mounted for a test (root only; where the
// mount fails, why() says so and the test skips), the file that fills it,
// and data no compressor can shrink to fit.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>  // min
#include <cerrno>
#include <cstddef>  // size_t
#include <cstdint>
#include <cstring>  // strerror
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>  // move

namespace strata::testing {

// A tmpfs of `size` mounted on `at` while this lives.
class TmpfsMount {
public:
    TmpfsMount(std::filesystem::path at, const std::string& size) : at_(std::move(at)) {
        std::filesystem::create_directories(at_);
        if (::mount("tmpfs", at_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, ("size=" + size).c_str()) == 0)
            mounted_ = true;
        else
            why_ = "mount -t tmpfs -o size=" + size + " failed (it needs root): " + std::strerror(errno);
    }
    TmpfsMount(const TmpfsMount&) = delete;
    TmpfsMount& operator=(const TmpfsMount&) = delete;
    ~TmpfsMount() {
        // Detached if still busy, so the test's directory can go regardless.
        if (mounted_ && ::umount(at_.c_str()) != 0) ::umount2(at_.c_str(), MNT_DETACH);
    }

    bool mounted() const noexcept { return mounted_; }
    const std::string& why() const noexcept { return why_; }
    const std::filesystem::path& path() const noexcept { return at_; }

    std::uint64_t free_bytes() const {
        struct statvfs st {};
        if (::statvfs(at_.c_str(), &st) != 0) throw std::runtime_error("statvfs: " + std::string(std::strerror(errno)));
        return std::uint64_t{st.f_bavail} * st.f_frsize;
    }

    // Fills the disk with one file until a write fails for want of space,
    // then gives `leave` bytes back; returns the file.
    std::filesystem::path fill(std::uint64_t leave) const {
        const std::filesystem::path filler = at_ / "filler";
        const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) throw std::runtime_error("open " + filler.string() + ": " + std::strerror(errno));
        const std::string chunk(64 * 1024, 'f');
        off_t size = 0;
        int err = 0;
        for (;;) {
            const ssize_t n = ::write(fd, chunk.data(), chunk.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                err = n < 0 ? errno : ENOSPC;
                break;
            }
            size += n;
        }
        const bool cut = ::ftruncate(fd, size - std::min<off_t>(size, static_cast<off_t>(leave))) == 0;
        ::close(fd);
        if (err != ENOSPC || !cut) throw std::runtime_error("filling " + at_.string() + " ended with " + std::strerror(err));
        return filler;
    }

private:
    std::filesystem::path at_;
    bool mounted_ = false;
    std::string why_;
};

// Random, so compression cannot make it fit.
inline std::string incompressible(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string out(size, '\0');
    for (auto& c : out) c = static_cast<char>(rng());
    return out;
}

}  // namespace strata::testing
