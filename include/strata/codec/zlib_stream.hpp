#pragma once

#include <zlib.h>

#include <array>
#include <cstddef>  // size_t
#include <memory>   // unique_ptr
#include <string>
#include <string_view>

#include "strata/codec/zlib.hpp"  // ZlibError

namespace strata::codec {

// Streaming zlib (RFC 1950, with its Adler-32 trailer) through the C API, for
// data too large to hold whole: checkpoints and backups. Output leaves in
// chunks of `chunk_size` through a callback, so memory stays bounded.
inline constexpr std::size_t zlib_chunk_size = 64 * 1024;

class Deflater {
public:
    explicit Deflater(int level = 1) : z_(std::make_unique<z_stream>()) {
        if (deflateInit(z_.get(), level) != Z_OK) throw ZlibError("zlib deflateInit failed");
    }
    Deflater(Deflater&&) noexcept = default;
    Deflater& operator=(Deflater&&) = delete;
    ~Deflater() {
        if (z_) deflateEnd(z_.get());
    }

    // Compresses `in`; out(std::string_view) receives every full chunk.
    template <class Out>
    void write(std::string_view in, Out&& out) {
        pump(in, Z_NO_FLUSH, out);
    }

    // Ends the stream; out receives the rest. No write may follow.
    template <class Out>
    void finish(Out&& out) {
        pump({}, Z_FINISH, out);
        if (used_ > 0) out(std::string_view(buffer_.data(), used_));
        used_ = 0;
    }

private:
    template <class Out>
    void pump(std::string_view in, int flush, Out& out) {
        // zlib's API is not const-correct: next_in is never written through.
        z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_->avail_in = static_cast<uInt>(in.size());
        for (;;) {
            z_->next_out = reinterpret_cast<Bytef*>(buffer_.data() + used_);
            z_->avail_out = static_cast<uInt>(buffer_.size() - used_);
            const int rc = deflate(z_.get(), flush);
            if (rc == Z_STREAM_ERROR) throw ZlibError("zlib deflate failed");
            used_ = buffer_.size() - z_->avail_out;
            if (used_ == buffer_.size()) {
                out(std::string_view(buffer_.data(), used_));
                used_ = 0;
                continue;
            }
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z_->avail_in == 0) return;
        }
    }

    std::unique_ptr<z_stream> z_;
    std::array<char, zlib_chunk_size> buffer_{};
    std::size_t used_ = 0;
};

class Inflater {
public:
    Inflater() : z_(std::make_unique<z_stream>()) {
        if (inflateInit(z_.get()) != Z_OK) throw ZlibError("zlib inflateInit failed");
    }
    Inflater(Inflater&&) noexcept = default;
    Inflater& operator=(Inflater&&) = delete;
    ~Inflater() {
        if (z_) inflateEnd(z_.get());
    }

    bool done() const noexcept { return done_; }

    // Inflates all of `in`, appending to `out`. Throws ZlibError on corrupt
    // data and on bytes after the end of the stream (a checkpoint is exactly
    // one stream, so extra bytes mean tampering).
    void write(std::string_view in, std::string& out) {
        z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_->avail_in = static_cast<uInt>(in.size());
        while (z_->avail_in > 0) {
            if (done_) throw ZlibError("zlib data continues after the end of its stream");
            const std::size_t before = out.size();
            const uInt pending = z_->avail_in;
            out.resize(before + zlib_chunk_size);
            z_->next_out = reinterpret_cast<Bytef*>(out.data() + before);
            z_->avail_out = static_cast<uInt>(zlib_chunk_size);
            const int rc = inflate(z_.get(), Z_NO_FLUSH);
            out.resize(out.size() - z_->avail_out);
            if (rc == Z_STREAM_END)
                done_ = true;
            else if (rc != Z_OK && !(rc == Z_BUF_ERROR && (out.size() > before || z_->avail_in < pending)))
                throw ZlibError("zlib data is corrupt (code " + std::to_string(rc) + ")");
        }
    }

private:
    std::unique_ptr<z_stream> z_;
    bool done_ = false;
};

}  // namespace strata::codec
