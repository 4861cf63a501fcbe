#pragma once

#include <stdio.h>  // fseeko

#include <cerrno>
#include <cstdint>  // uint8_t, uint64_t
#include <cstdio>   // FILE, tmpfile, fwrite, fread
#include <cstring>  // memcpy, strerror
#include <memory>   // unique_ptr
#include <string>
#include <string_view>
#include <utility>  // as_const

#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

namespace strata::detail::checkpoint {

// An anonymous temporary file (gone when closed, also after a crash),
// written in order and read back from the start, by this process only: what
// a capture parks to keep its memory flat.
class TempFile {
public:
    TempFile() : file_(std::tmpfile()) {
        if (!file_) fail("cannot create a temporary file");
    }

    void put(std::string_view bytes) {
        if (std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size()) fail("cannot write a temporary file");
        written_ += bytes.size();
    }
    std::uint64_t written() const noexcept { return written_; }
    void put_size(std::uint64_t n) {
        char b[8];
        std::memcpy(b, &n, sizeof b);
        put(std::string_view(b, sizeof b));
    }
    void rewind() { seek(0); }
    // Reading from `at` on (a count of bytes put before).
    void seek(std::uint64_t at) {
        if (std::fflush(file_.get()) != 0 || ::fseeko(file_.get(), static_cast<off_t>(at), SEEK_SET) != 0)
            fail("cannot seek in a temporary file");
    }
    std::uint64_t get_size() {
        std::uint64_t n = 0;
        if (std::fread(&n, sizeof n, 1, file_.get()) != 1) fail("cannot read a temporary file");
        return n;
    }
    void get(std::string& out, std::uint64_t n) {
        out.resize(n);
        if (n && std::fread(out.data(), 1, n, file_.get()) != n) fail("cannot read a temporary file");
    }

private:
    struct Close {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };

    [[noreturn]] static void fail(const char* what) {
        throw Error(ErrorKind::unavailable, "checkpoint", "capture",
                    std::string(what) + " for the capture: " + std::strerror(errno));
    }

    std::unique_ptr<std::FILE, Close> file_;
    std::uint64_t written_ = 0;
};

// Records of one tier, each stored as its envelope: a capture that reads
// every tier at once per batch emits the stream tier by tier from these.
class SpillFile {
public:
    void add(std::string_view key, const Record& r) {
        const std::string blob = envelope::encode(r, CompressionOptions{.enabled = false});
        file_.put_size(key.size());
        file_.put(key);
        file_.put_size(blob.size());
        file_.put(blob);
        ++count_;
    }

    // Calls f(key, record) for every record, in the order added.
    template <class F>
    void replay(F&& f) {
        file_.rewind();
        std::string key, blob;
        for (std::uint64_t n = 0; n < count_; ++n) {
            file_.get(key, file_.get_size());
            file_.get(blob, file_.get_size());
            f(key, envelope::decode(blob));
        }
    }

private:
    TempFile file_;
    std::uint64_t count_ = 0;
};

// Keys only, replayable any number of times.
class KeySpill {
public:
    void add(std::string_view key) {
        file_.put_size(key.size());
        file_.put(key);
        ++count_;
    }

    std::uint64_t size() const noexcept { return count_; }

    // Calls f(key) for every key, in the order added.
    template <class F>
    void replay(F&& f) {
        file_.rewind();
        std::string key;
        for (std::uint64_t n = 0; n < count_; ++n) {
            file_.get(key, file_.get_size());
            f(std::as_const(key));
        }
    }

private:
    TempFile file_;
    std::uint64_t count_ = 0;
};

}  // namespace strata::detail::checkpoint
