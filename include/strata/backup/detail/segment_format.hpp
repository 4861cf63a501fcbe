#pragma once

#include <algorithm>  // min
#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint32_t
#include <optional>
#include <string>
#include <string_view>

#include "strata/backup/detail/aead.hpp"  // tag_size
#include "strata/core/envelope.hpp"       // put_u32, get_u32
#include "strata/core/error.hpp"

// The layout of an encrypted backup file, and its framing, which can be
// checked without the key. Integers little-endian.
//
//   header   0  magic "STRABKUP"                    8
//            8  format version                      1
//            9  reserved, zero                      3
//           12  segment size (plaintext bytes)      4
//           16  salt, random per file               32
//           48  key check                           32
//   segment  sealed size                            4
//            AES-256-GCM of the segment body, tag   (sealed size)
//
// A segment body is one flag byte then the data: flag 0, the plaintext; flag
// 1, its plaintext size (4 bytes) and the plaintext deflated by zlib. Every
// segment but the last holds exactly `segment size` plaintext bytes; the
// last holds at most that many, and none only when it is the only one.
namespace strata::detail::backup {

inline constexpr std::string_view file_magic = "STRABKUP";
inline constexpr std::uint8_t file_format_version = 1;
inline constexpr std::size_t salt_size = 32;
inline constexpr std::size_t key_check_size = 32;
inline constexpr std::size_t file_header_size = 16 + salt_size + key_check_size;
inline constexpr std::size_t frame_prefix_size = 4;
// A segment small enough to hurt only efficiency, and large enough to bound
// what one hostile header makes a reader buffer.
inline constexpr std::uint32_t min_segment_size = 64;
inline constexpr std::uint32_t max_segment_size = 4u << 20;
inline constexpr std::uint8_t body_stored = 0;
inline constexpr std::uint8_t body_deflated = 1;

struct FileHeader {
    std::uint32_t segment_size = 0;
    std::array<std::uint8_t, salt_size> salt{};
    std::array<std::uint8_t, key_check_size> key_check{};

    // A sealed segment never exceeds its plaintext, a flag byte and the tag:
    // a body is deflated only when that makes it smaller.
    std::size_t max_sealed_size() const noexcept { return std::size_t{1} + segment_size + tag_size; }
};

inline std::string encode_header(const FileHeader& h) {
    std::string out(file_magic);
    out += static_cast<char>(file_format_version);
    out.append(3, '\0');
    envelope::detail::put_u32(out, h.segment_size);
    out.append(h.salt.begin(), h.salt.end());
    out.append(h.key_check.begin(), h.key_check.end());
    return out;
}

[[noreturn]] inline void file_error(ErrorKind kind, std::string_view op, std::string_view name,
                                    const std::string& why) {
    throw Error(kind, "backup", std::string(op), "backup file '" + std::string(name) + "' " + why);
}

// `in` holds at least file_header_size bytes.
inline FileHeader decode_header(std::string_view in, std::string_view op, std::string_view name) {
    if (in.substr(0, file_magic.size()) != file_magic)
        file_error(ErrorKind::corrupt, op, name, "is not a strata backup file (no STRABKUP magic)");
    const auto version = static_cast<std::uint8_t>(in[8]);
    if (version > file_format_version)
        file_error(ErrorKind::invalid, op, name,
                   "has format version " + std::to_string(version) + ", newer than this strata reads");
    if (version != file_format_version || in.substr(9, 3) != std::string_view("\0\0\0", 3))
        file_error(ErrorKind::corrupt, op, name, "has a damaged header");
    FileHeader h;
    h.segment_size = envelope::detail::get_u32(in, 12);
    if (h.segment_size < min_segment_size || h.segment_size > max_segment_size)
        file_error(ErrorKind::corrupt, op, name, "has a damaged header (segment size " +
                                                     std::to_string(h.segment_size) + ")");
    std::copy_n(in.data() + 16, salt_size, reinterpret_cast<char*>(h.salt.data()));
    std::copy_n(in.data() + 16 + salt_size, key_check_size, reinterpret_cast<char*>(h.key_check.data()));
    return h;
}

// Splits a backup file into its header and sealed segments as its bytes
// arrive in pieces of any size, checking every bound on the way; needs no
// key, so it is also the structural check of a stored backup. Holds at most
// one segment, the piece being read and the one before it (which is only
// known not to be the last once a byte after it has arrived).
class FrameSplitter {
public:
    FrameSplitter(std::string_view op, std::string name) : op_(op), name_(std::move(name)) {}

    const std::optional<FileHeader>& header() const noexcept { return header_; }
    const std::string& name() const noexcept { return name_; }
    std::uint64_t segments() const noexcept { return segments_; }

    // on_frame(std::string_view sealed, std::uint32_t index, bool last) for
    // every segment known not to be the last.
    template <class OnFrame>
    void write(std::string_view in, OnFrame&& on_frame) {
        // Fed in slices so one large piece does not grow the buffer past a
        // segment's worth.
        while (!in.empty()) {
            const std::size_t take = std::min(in.size(), slice_);
            buffer_.append(in.data(), take);
            in.remove_prefix(take);
            drain(on_frame);
        }
    }

    // Ends the file: the one segment still held is the last.
    template <class OnFrame>
    void finish(OnFrame&& on_frame) {
        if (!header_) file_error(ErrorKind::corrupt, op_, name_, "ends inside its header");
        const std::string_view rest = std::string_view(buffer_).substr(at_);
        if (rest.empty()) file_error(ErrorKind::corrupt, op_, name_, "holds no segment");
        if (!complete_frame(rest)) file_error(ErrorKind::corrupt, op_, name_, "ends inside a segment");
        on_frame(rest.substr(frame_prefix_size), index(), true);
        ++segments_;
        buffer_.clear();
        at_ = 0;
    }

private:
    static constexpr std::size_t slice_ = 64 * 1024;

    template <class OnFrame>
    void drain(OnFrame& on_frame) {
        if (!header_) {
            if (buffer_.size() < file_header_size) return;
            header_ = decode_header(buffer_, op_, name_);
            at_ = file_header_size;
        }
        for (;;) {
            const std::string_view rest = std::string_view(buffer_).substr(at_);
            const auto frame = complete_frame(rest);
            if (!frame || rest.size() == *frame) break;
            on_frame(rest.substr(frame_prefix_size, *frame - frame_prefix_size), index(), false);
            ++segments_;
            at_ += *frame;
        }
        // Keeps the held bytes at the front, so the buffer never outgrows two
        // segments and a slice.
        if (at_ > 0 && at_ >= buffer_.size() / 2) {
            buffer_.erase(0, at_);
            at_ = 0;
        }
    }

    // The whole frame's size when `rest` starts with a complete one.
    std::optional<std::size_t> complete_frame(std::string_view rest) const {
        if (rest.size() < frame_prefix_size) return std::nullopt;
        const std::uint32_t sealed = envelope::detail::get_u32(rest, 0);
        if (sealed < 1 + tag_size || sealed > header_->max_sealed_size())
            file_error(ErrorKind::corrupt, op_, name_,
                       "has a damaged segment " + std::to_string(segments_) + " (size " + std::to_string(sealed) + ")");
        if (rest.size() < frame_prefix_size + sealed) return std::nullopt;
        return frame_prefix_size + sealed;
    }

    std::uint32_t index() const {
        if (segments_ > 0xFFFFFFFFu) file_error(ErrorKind::corrupt, op_, name_, "holds more than 2^32 segments");
        return static_cast<std::uint32_t>(segments_);
    }

    std::string_view op_;
    std::string name_;
    std::optional<FileHeader> header_;
    std::string buffer_;
    std::size_t at_ = 0;
    std::uint64_t segments_ = 0;
};

}  // namespace strata::detail::backup
