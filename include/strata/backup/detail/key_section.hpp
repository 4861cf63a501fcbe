#pragma once

#include <cstdint>  // uint64_t
#include <string>
#include <string_view>
#include <utility>  // exchange, move
#include <vector>

#include "strata/backup/detail/manifest.hpp"      // backup_error
#include "strata/backup/detail/sealed_parts.hpp"  // OpeningReader, read_piece
#include "strata/checkpoint/checkpoint_store.hpp"  // skip_bytes
#include "strata/checkpoint/detail/format.hpp"    // put_u64, put_bytes, get_u64
#include "strata/core/digest.hpp"
#include "strata/core/key.hpp"  // max_key_size

// A backup's key section: per captured tier, its key count, then each key,
// sorted. Written and read a key at a time, so a backup of a million keys
// never holds the section whole.
namespace strata::detail::backup {

template <class Out>
class KeySectionWriter {
public:
    explicit KeySectionWriter(Out& out) : out_(out) {}

    void begin_tier(std::uint64_t count) { detail::checkpoint::put_u64(buf_, count); }

    void add(std::string_view key) {
        detail::checkpoint::put_bytes(buf_, key);
        if (buf_.size() >= read_piece) flush();
    }

    // The SHA-256 of the section, for the manifest.
    Digest finish() {
        flush();
        return hash_.finish();
    }

private:
    void flush() {
        hash_.update(buf_);
        out_.write(buf_);
        buf_.clear();
    }

    Out& out_;
    std::string buf_;
    Sha256 hash_;
};

// Checks every key (size, order) on the way and the section's hash at the
// end; anything off is Error{corrupt} naming the backup.
template <class Source>
class KeySectionReader {
public:
    KeySectionReader(OpeningReader<Source>& in, std::string_view id) : in_(in), id_(id) {}

    // The next tier's key count.
    std::uint64_t begin_tier() {
        left_ = u64();
        last_.clear();
        return left_;
    }

    // The tier's next key into `key`; false after its last.
    bool next(std::string& key) {
        if (left_ == 0) return false;
        const std::uint64_t n = u64();
        if (n == 0 || n > max_key_size) backup_error(ErrorKind::corrupt, "open", id_, "holds an invalid key");
        key = take(static_cast<std::size_t>(n));
        if (!last_.empty() && !(last_ < key)) backup_error(ErrorKind::corrupt, "open", id_, "holds keys out of order");
        last_ = key;
        --left_;
        return true;
    }

    void finish(const Digest& expected) {
        if (!in_.at_end()) backup_error(ErrorKind::corrupt, "open", id_, "has bytes after its key section");
        if (hash_.finish() != expected)
            backup_error(ErrorKind::corrupt, "open", id_, "has a key section that does not match its manifest");
    }

private:
    std::string take(std::size_t n) {
        std::string s = in_.take(n);
        hash_.update(s);
        return s;
    }
    std::uint64_t u64() { return detail::checkpoint::get_u64(take(8), 0); }

    OpeningReader<Source>& in_;
    std::string_view id_;
    Sha256 hash_;
    std::uint64_t left_ = 0;
    std::string last_;
};

// The whole section, for a restore (which holds the cut's keys anyway).
template <class Source>
std::vector<std::vector<std::string>> read_key_section(OpeningReader<Source>& in, std::size_t tiers,
                                                       const Digest& expected, std::string_view id) {
    KeySectionReader<Source> reader(in, id);
    std::vector<std::vector<std::string>> out(tiers);
    std::string key;
    for (auto& keys : out) {
        reader.begin_tier();
        while (reader.next(key)) keys.push_back(key);
    }
    reader.finish(expected);
    return out;
}


// The key section of backup `m`, opened past its records, which a source
// that can skip does not fetch.
template <class Source>
struct KeySection {
    KeySection(Source from, const Manifest& m, const EncryptionKey& data)
        : source(std::move(from)),
          opened((detail::skip_bytes(source, m.records_part.size), source), m.keys_part, data, m.info.id + "/keys") {}
    KeySection(const KeySection&) = delete;  // `opened` reads from `source`
    KeySection& operator=(const KeySection&) = delete;

    Source source;
    OpeningReader<Source> opened;
};

// A parent's key section walked beside a new cut, tier by tier and key by
// key in order, counting the keys gone since.
template <class Source>
class DeletedKeys {
public:
    DeletedKeys(Source source, const Manifest& parent, const EncryptionKey& data)
        : parent_(parent), section_(std::move(source), parent, data), keys_(section_.opened, parent_.info.id) {}

    void begin_tier() {
        keys_.begin_tier();
        have_ = keys_.next(key_);
    }
    // `key`, in order, is at the new cut.
    void present(const std::string& key) {
        while (have_ && key_ < key) gone();
        if (have_ && key_ == key) have_ = keys_.next(key_);
    }
    // The tier's keys gone.
    std::uint64_t end_tier() {
        while (have_) gone();
        return std::exchange(deleted_, 0);
    }
    void finish() { keys_.finish(parent_.keys_hash); }

private:
    void gone() {
        ++deleted_;
        have_ = keys_.next(key_);
    }

    const Manifest& parent_;
    KeySection<Source> section_;
    KeySectionReader<Source> keys_;
    std::string key_;
    bool have_ = false;
    std::uint64_t deleted_ = 0;
};

}  // namespace strata::detail::backup
