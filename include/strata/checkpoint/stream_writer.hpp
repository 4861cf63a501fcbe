#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <stdexcept>  // logic_error
#include <string>
#include <string_view>
#include <utility>  // pair

#include "strata/checkpoint/detail/format.hpp"
#include "strata/codec/zlib_stream.hpp"
#include "strata/core/digest.hpp"
#include "strata/core/record.hpp"
#include "strata/core/temperature.hpp"

namespace strata {

// What a finished checkpoint stream amounts to.
struct CheckpointStreamSummary {
    Digest consistency_hash{};
    Digest stream_hash{};
    std::uint64_t stored_bytes = 0;
    std::uint64_t key_count = 0;
    std::uint64_t bytes = 0;
};

// Serialises a capture into the checkpoint stream (detail/format.hpp),
// compresses it as it goes and hands the compressed bytes to `sink`
// (anything with write(std::string_view)), hashing them on the way, so
// memory stays bounded by one batch whatever the size of the tiers.
template <class Sink>
class CheckpointWriter {
public:
    CheckpointWriter(Sink& sink, std::string_view id, int level = 1) : sink_(sink), deflater_(level) {
        buffer_ += detail::checkpoint::magic;
        detail::checkpoint::put_u64(buffer_, detail::checkpoint::format_version);
        detail::checkpoint::put_bytes(buffer_, id);
    }

    void begin_tier(std::size_t index, Temperature temperature, std::string_view name) {
        if (in_tier_) throw std::logic_error("strata: checkpoint tier begun twice");
        in_tier_ = true;
        tier_ = index;
        tier_keys_ = tier_bytes_ = 0;
        last_key_.clear();
        buffer_ += detail::checkpoint::tag_tier;
        detail::checkpoint::put_u64(buffer_, index);
        detail::checkpoint::put_u64(buffer_, static_cast<std::uint64_t>(temperature));
        detail::checkpoint::put_bytes(buffer_, name);
    }

    // Keys of a tier must come in strictly increasing order.
    void add(std::string_view key, const Record& r) {
        using namespace detail::checkpoint;
        if (!in_tier_) throw std::logic_error("strata: checkpoint record outside a tier");
        if (tier_keys_ > 0 && !(last_key_ < key)) throw std::logic_error("strata: checkpoint keys out of order");
        last_key_.assign(key);
        buffer_ += tag_record;
        put_bytes(buffer_, key);
        put_u64(buffer_, r.version);
        put_u64(buffer_, static_cast<std::uint64_t>(to_ns(r.updated_at)));
        put_u64(buffer_, r.expires_at ? flag_expires : 0);
        put_u64(buffer_, r.expires_at ? static_cast<std::uint64_t>(to_ns(*r.expires_at)) : 0);
        buffer_.append(reinterpret_cast<const char*>(r.checksum.data()), r.checksum.size());
        put_bytes(buffer_, r.value);
        hash_record(consistency_, scratch_, tier_, key, r);
        ++tier_keys_;
        tier_bytes_ += key.size() + r.value.size();
        if (buffer_.size() >= flush_at) flush();
    }

    // Ends the tier; returns its (keys, bytes).
    std::pair<std::uint64_t, std::uint64_t> end_tier() {
        if (!in_tier_) throw std::logic_error("strata: checkpoint tier ended twice");
        in_tier_ = false;
        buffer_ += detail::checkpoint::tag_tier_end;
        detail::checkpoint::put_u64(buffer_, tier_keys_);
        detail::checkpoint::put_u64(buffer_, tier_bytes_);
        total_.key_count += tier_keys_;
        total_.bytes += tier_bytes_;
        return {tier_keys_, tier_bytes_};
    }

    CheckpointStreamSummary finish() {
        if (in_tier_) end_tier();
        total_.consistency_hash = consistency_.finish();
        buffer_ += detail::checkpoint::tag_end;
        detail::checkpoint::put_u64(buffer_, total_.key_count);
        detail::checkpoint::put_u64(buffer_, total_.bytes);
        buffer_.append(reinterpret_cast<const char*>(total_.consistency_hash.data()), total_.consistency_hash.size());
        flush();
        deflater_.finish([this](std::string_view chunk) { emit(chunk); });
        total_.stream_hash = stream_.finish();
        return total_;
    }

private:
    static constexpr std::size_t flush_at = 256 * 1024;

    void flush() {
        deflater_.write(buffer_, [this](std::string_view chunk) { emit(chunk); });
        buffer_.clear();
    }

    void emit(std::string_view chunk) {
        stream_.update(chunk);
        total_.stored_bytes += chunk.size();
        sink_.write(chunk);
    }

    Sink& sink_;
    codec::Deflater deflater_;
    Sha256 consistency_, stream_;
    std::string buffer_, scratch_, last_key_;
    bool in_tier_ = false;
    std::size_t tier_ = 0;
    std::uint64_t tier_keys_ = 0, tier_bytes_ = 0;
    CheckpointStreamSummary total_;
};

}  // namespace strata
