#pragma once

#include <algorithm>  // min
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <cstring>    // memcpy
#include <string>
#include <string_view>
#include <utility>  // move

#include "strata/backup/detail/manifest.hpp"
#include "strata/backup/detail/segment_format.hpp"
#include "strata/backup/detail/segmented_cipher.hpp"
#include "strata/core/digest.hpp"

// The two sealed files of a backup's stream, written into and read back from
// a store's sink and source in bounded pieces.
namespace strata::detail::backup {

// Plaintext in, sealed bytes out to `sink` (anything with write), counted and
// hashed on the way for the manifest. A CheckpointWriter writes into it.
template <class Sink>
class SealingWriter {
public:
    SealingWriter(Sink& sink, const EncryptionKey& data_key, int level)
        : sink_(sink), sealer_(data_key, SealOptions{.compression_level = level}) {}

    void write(std::string_view bytes) {
        sealer_.write(bytes, [this](std::string_view out) { emit(out); });
    }

    Part finish() {
        sealer_.finish([this](std::string_view out) { emit(out); });
        part_.sha256 = sha_.finish();
        return part_;
    }

private:
    void emit(std::string_view out) {
        sha_.update(out);
        part_.size += out.size();
        sink_.write(out);
    }

    Sink& sink_;
    SegmentSealer sealer_;
    Sha256 sha_;
    Part part_;
};

inline constexpr std::size_t read_piece = 64 * 1024;

// Feeds on(std::string_view) exactly `part.size` bytes of `source`, then
// checks their size and SHA-256 against the manifest.
template <class Source>
class PartReader {
public:
    PartReader(Source& source, const Part& part, std::string name)
        : source_(source), part_(part), left_(part.size), name_(std::move(name)) {}

    // One piece; false once the part is consumed and checked.
    template <class On>
    bool next(On&& on) {
        if (left_ == 0) {
            if (!checked_) {
                checked_ = true;
                if (sha_.finish() != part_.sha256)
                    file_error(ErrorKind::corrupt, "open", name_, "does not match the SHA-256 in its manifest");
            }
            return false;
        }
        piece_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(left_, read_piece)));
        const std::size_t got = source_.read(piece_.data(), piece_.size());
        if (got == 0) file_error(ErrorKind::corrupt, "open", name_, "is shorter than its manifest says");
        left_ -= got;
        const std::string_view bytes(piece_.data(), got);
        sha_.update(bytes);
        on(bytes);
        return true;
    }

    const std::string& name() const noexcept { return name_; }

private:
    Source& source_;
    const Part& part_;
    std::uint64_t left_;
    std::string name_;
    std::string piece_;
    Sha256 sha_;
    bool checked_ = false;
};

// The authenticated plaintext of one part, pulled with read() (0 at the end,
// once the whole file authenticated): a CheckpointReader reads from it.
template <class Source>
class OpeningReader {
public:
    OpeningReader(Source& source, const Part& part, const EncryptionKey& data_key, std::string name)
        : part_(source, part, name), opener_(data_key, std::move(name)) {}

    std::size_t read(char* data, std::size_t size) {
        if (at_end()) return 0;
        const std::size_t n = std::min(size, plain_.size() - at_);
        std::memcpy(data, plain_.data() + at_, n);
        at_ += n;
        return n;
    }

    // Exactly n bytes, or Error{corrupt}.
    std::string take(std::size_t n) {
        std::string out(n, '\0');
        std::size_t got = 0;
        while (got < n) {
            const std::size_t r = read(out.data() + got, n - got);
            if (r == 0) file_error(ErrorKind::corrupt, "open", part_.name(), "ends inside its key section");
            got += r;
        }
        return out;
    }

    // True once the file ended and authenticated whole with nothing unread.
    bool at_end() {
        while (at_ == plain_.size() && !done_) pull();
        return at_ == plain_.size();
    }

private:
    void pull() {
        plain_.clear();
        at_ = 0;
        const auto append = [this](std::string_view bytes) { plain_ += bytes; };
        if (!part_.next([&](std::string_view sealed) { opener_.write(sealed, append); })) {
            opener_.finish(append);
            done_ = true;
        }
    }

    PartReader<Source> part_;
    SegmentOpener opener_;
    std::string plain_;
    std::size_t at_ = 0;
    bool done_ = false;
};

// Keyless: the framing of one part, its size and SHA-256 against the manifest.
template <class Source>
void check_part_structure(Source& source, const Part& part, std::string name) {
    PartReader<Source> reader(source, part, name);
    FrameSplitter frames("verify_structure", std::move(name));
    const auto ignore = [](std::string_view, std::uint32_t, bool) {};
    while (reader.next([&](std::string_view bytes) { frames.write(bytes, ignore); })) {
    }
    frames.finish(ignore);
}

}  // namespace strata::detail::backup
