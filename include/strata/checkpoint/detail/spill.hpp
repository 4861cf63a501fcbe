#pragma once

#include <cerrno>
#include <cstdint>  // uint8_t, uint64_t
#include <cstdio>   // FILE, tmpfile, fwrite, fread
#include <cstring>  // memcpy, strerror
#include <memory>   // unique_ptr
#include <string>
#include <string_view>

#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

namespace strata::detail::checkpoint {

// Records of one tier parked in an anonymous temporary file (gone when
// closed, also after a crash), written in order and read back once: a
// capture that reads every tier at once per batch keeps memory flat while it
// emits the stream tier by tier. Each record is stored as its envelope.
class SpillFile {
public:
    SpillFile() : file_(std::tmpfile()) {
        if (!file_) fail("cannot create a temporary file");
    }

    void add(std::string_view key, const Record& r) {
        const std::string blob = envelope::encode(r, CompressionOptions{.enabled = false});
        put_size(key.size());
        put(key);
        put_size(blob.size());
        put(blob);
        ++count_;
    }

    // Calls f(key, record) for every record, in the order added.
    template <class F>
    void replay(F&& f) {
        if (std::fflush(file_.get()) != 0 || std::fseek(file_.get(), 0, SEEK_SET) != 0) fail("cannot rewind");
        std::string key, blob;
        for (std::uint64_t n = 0; n < count_; ++n) {
            get(key, get_size());
            get(blob, get_size());
            f(key, envelope::decode(blob));
        }
    }

private:
    struct Close {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };

    [[noreturn]] static void fail(const char* what) {
        throw Error(ErrorKind::unavailable, "checkpoint", "capture",
                    std::string(what) + " for the capture: " + std::strerror(errno));
    }

    void put(std::string_view bytes) {
        if (std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size()) fail("cannot write a temporary file");
    }
    void put_size(std::uint64_t n) {
        char b[8];
        std::memcpy(b, &n, sizeof b);  // read back by this process only
        put(std::string_view(b, sizeof b));
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

    std::unique_ptr<std::FILE, Close> file_;
    std::uint64_t count_ = 0;
};

}  // namespace strata::detail::checkpoint
