#pragma once

#include <algorithm>  // min
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <cstring>    // memcpy
#include <new>        // bad_alloc
#include <string>
#include <string_view>
#include <utility>    // move

#include "strata/checkpoint/checkpoint_info.hpp"
#include "strata/checkpoint/detail/format.hpp"
#include "strata/codec/zlib_stream.hpp"
#include "strata/core/digest.hpp"
#include "strata/core/key.hpp"
#include "strata/core/record.hpp"

namespace strata {

// Reads a checkpoint stream back from `source` (anything with
// std::size_t read(char*, std::size_t), 0 at the end) and checks it against
// the summary it was stored with: structure, order, sizes, each record's
// checksum, the consistency hash and the SHA-256 of the stored bytes. Any
// mismatch throws Error{corrupt}. Streams, like the writer: memory holds one
// record and one compressed chunk at a time. A length read from the stream
// is trusted only as far as the rest of the stream could inflate to it and
// the summary's byte count allows, so a damaged length fails at once rather
// than buffering the stream in search of bytes that are not there.
template <class Source>
class CheckpointReader {
public:
    CheckpointReader(Source& source, const CheckpointInfo& info, std::string_view op = "verify")
        : source_(source), info_(info), op_(op) {}

    // on_tier(const CapturedTier&), on_record(std::string key, Record),
    // on_tier_end(const CapturedTier&). Nothing the callbacks see has been
    // checked against the stream hash yet: that is known only at the end.
    template <class OnTier, class OnRecord, class OnTierEnd>
    void run(OnTier&& on_tier, OnRecord&& on_record, OnTierEnd&& on_tier_end) {
        using namespace detail::checkpoint;
        if (take(magic.size()) != magic) fail("has a bad magic number");
        if (const auto v = u64(); v != format_version) fail("has unknown format version " + std::to_string(v));
        if (take_bytes(max_name) != info_.id) fail("holds a different checkpoint's id");

        Sha256 consistency;
        std::string scratch, last_key;
        std::uint64_t keys = 0, bytes = 0;
        for (const CapturedTier& tier : info_.tiers) {
            if (tag() != tag_tier) fail("lacks tier " + std::to_string(tier.index));
            if (u64() != tier.index || u64() != static_cast<std::uint64_t>(tier.temperature) ||
                take_bytes(max_name) != tier.name)
                fail("holds a tier that does not match its summary");
            on_tier(tier);
            std::uint64_t tier_keys = 0, tier_bytes = 0;
            while (tag() == tag_record) {
                std::string key = take_bytes(max_key_size);
                if (key.empty() || key.find('\0') != std::string::npos) fail("holds an invalid key");
                if (tier_keys > 0 && !(last_key < key)) fail("holds keys out of order in tier " + tier.name);
                const std::uint64_t counted = bytes + tier_bytes + key.size();
                if (counted > info_.bytes) fail("holds more bytes than its summary counts");
                Record r = record(info_.bytes - counted);
                if (!r.intact()) fail("holds a record whose checksum does not match: key '" + key + "'");
                hash_record(consistency, scratch, tier.index, key, r);
                ++tier_keys;
                tier_bytes += key.size() + r.value.size();
                last_key = key;
                on_record(std::move(key), std::move(r));
            }
            // The loop stopped on a tag that was not a record.
            if (last_tag_ != tag_tier_end) fail("has a malformed tier section");
            if (u64() != tier_keys || u64() != tier_bytes || tier_keys != tier.keys || tier_bytes != tier.bytes)
                fail("has wrong counts for tier " + tier.name);
            on_tier_end(tier);
            keys += tier_keys;
            bytes += tier_bytes;
        }
        if (tag() != tag_end) fail("has an unexpected section after its tiers");
        if (u64() != keys || u64() != bytes || keys != info_.key_count || bytes != info_.bytes)
            fail("has wrong totals");
        Digest stored{};
        std::memcpy(stored.data(), take(stored.size()).data(), stored.size());
        if (stored != consistency.finish() || stored != info_.consistency_hash)
            fail("does not match its consistency hash");
        drain();
    }

private:
    static constexpr std::size_t max_name = 4096;

    [[noreturn]] void fail(const std::string& why) const { detail::checkpoint::corrupt(op_, info_.id, why); }

    // Reads until `n` decompressed bytes are buffered.
    void need(std::size_t n) {
        while (buffer_.size() - pos_ < n) {
            if (pos_ > 0) {
                buffer_.erase(0, pos_);
                erased_ += pos_;
                pos_ = 0;
            }
            if (inflater_.done()) fail("is truncated (its stream ends early)");
            if (!pull()) fail("is truncated");
        }
    }

    // Feeds one compressed chunk to the inflater; false at the end of the
    // source. Never more than the summary's stored size, which so bounds what
    // the inflater can produce.
    bool pull() {
        chunk_.resize(codec::zlib_chunk_size);
        const std::size_t got = source_.read(chunk_.data(), chunk_.size());
        if (got == 0) return false;
        if (got > info_.stored_bytes - stored_) fail("is longer than its summary says");
        const std::string_view bytes(chunk_.data(), got);
        stream_.update(bytes);
        stored_ += got;
        try {
            inflater_.write(bytes, buffer_);
        } catch (const codec::ZlibError& e) {
            fail(std::string("has a damaged compressed stream: ") + e.what());
        } catch (const std::bad_alloc&) {
            fail("inflates to more than memory holds");
        }
        return true;
    }

    // Everything after the end section: only the zlib trailer may remain.
    void drain() {
        while (pull()) {
        }
        if (!inflater_.done()) fail("is truncated (no end of stream)");
        if (pos_ != buffer_.size()) fail("has bytes after its end");
        if (stored_ != info_.stored_bytes) fail("has the wrong size");
        if (stream_.finish() != info_.stream_hash) fail("does not match its stored SHA-256");
    }

    std::string_view take(std::size_t n) {
        need(n);
        const std::string_view out(buffer_.data() + pos_, n);
        pos_ += n;
        return out;
    }

    char tag() { return last_tag_ = take(1)[0]; }

    std::uint64_t u64() { return detail::checkpoint::get_u64(take(8), 0); }

    std::string take_bytes(std::uint64_t limit) {
        const std::uint64_t n = u64();
        if (n > limit) fail("holds an impossible length");
        if (n > codec::zlib_max_inflated(info_.stored_bytes) - (erased_ + pos_))
            fail("holds a length of " + std::to_string(n) + " bytes that its stream is too short to hold");
        try {
            return std::string(take(static_cast<std::size_t>(n)));
        } catch (const std::bad_alloc&) {
            fail("holds a " + std::to_string(n) + "-byte field that does not fit in memory");
        }
    }

    // `most_value`: what the summary's byte count leaves for this value.
    Record record(std::uint64_t most_value) {
        using namespace detail::checkpoint;
        Record r;
        r.version = u64();
        r.updated_at = from_ns(static_cast<std::int64_t>(u64()));
        const std::uint64_t flags = u64();
        const auto expires = static_cast<std::int64_t>(u64());
        if (flags & ~flag_expires) fail("holds a record with unknown flags");
        if (flags & flag_expires)
            r.expires_at = from_ns(expires);
        else if (expires != 0)
            fail("holds an expiry without its flag");
        std::memcpy(r.checksum.data(), take(r.checksum.size()).data(), r.checksum.size());
        r.value = take_bytes(std::min(most_value, envelope::max_value_size));
        return r;
    }

    Source& source_;
    const CheckpointInfo& info_;
    std::string_view op_;
    codec::Inflater inflater_;
    Sha256 stream_;
    std::uint64_t stored_ = 0;
    std::string buffer_, chunk_;
    std::uint64_t erased_ = 0;  // inflated bytes consumed and dropped from buffer_
    std::size_t pos_ = 0;
    char last_tag_ = 0;
};

}  // namespace strata
