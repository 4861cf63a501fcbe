#pragma once

#include <chrono>
#include <cstdint>  // uint64_t
#include <optional>
#include <string>

#include "strata/core/digest.hpp"

namespace strata {

using Clock = std::chrono::system_clock;

// One stored value with what every tier keeps beside it. The checksum is the
// SHA-256 of `value`, computed once by the manager and never recomputed by a
// tier, so corruption anywhere on the way shows on the next read.
struct Record {
    std::string value;
    std::uint64_t version = 0;
    Clock::time_point updated_at{};
    std::optional<Clock::time_point> expires_at;
    Digest checksum{};

    bool expired(Clock::time_point now = Clock::now()) const noexcept {
        return expires_at && *expires_at <= now;
    }

    // True when the value still hashes to the checksum it was written with.
    bool intact() const { return sha256(value) == checksum; }
};

// A key with its record, the element of batch writes.
struct Entry {
    std::string key;
    Record record;
};

// Builds the record the manager writes: the checksum is computed here, once.
inline Record make_record(std::string value, std::uint64_t version,
                          std::optional<Clock::time_point> expires_at = std::nullopt,
                          Clock::time_point now = Clock::now()) {
    Record r;
    r.checksum = sha256(value);
    r.value = std::move(value);
    r.version = version;
    r.updated_at = now;
    r.expires_at = expires_at;
    return r;
}

// What a tier returns for a key whose stored bytes cannot be decoded: its
// checksum matches no value, so the manager treats it like any other corrupt
// copy (counted, skipped, repaired). `why` travels in the value for reports.
inline Record unreadable_record(std::string why) {
    Record r;
    r.value = std::move(why);
    r.checksum = Digest{};  // no known value hashes to all zeros
    return r;
}

}  // namespace strata
