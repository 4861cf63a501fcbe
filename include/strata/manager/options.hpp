#pragma once

#include <chrono>
#include <cstddef>  // size_t
#include <optional>

namespace strata {

// How a StateManager behaves; the defaults keep every acknowledged write in a
// durable tier.
struct ManagerOptions {
    // A write into a non-durable tier also goes to the first durable tier
    // below it before the write returns.
    bool write_through = true;
    // A corrupt copy found on read is overwritten with the next valid one.
    bool repair_corrupt = true;
    // Writes to keys that hash to the same stripe are serialised; more
    // stripes, less false contention.
    std::size_t lock_stripes = 1024;
    // Slots readers check to prove no write of a key overlapped their read
    // (16 bytes each); more slots, fewer reads done again for a write of an
    // unrelated key.
    std::size_t write_mark_slots = 16384;
    // How old the keys and bytes tier_stats() reports (and metrics export)
    // may be: a tier's stats() can be a scan (an S3 listing, a PostgreSQL
    // count), too costly for every metrics scrape. Zero reads them each time.
    std::chrono::milliseconds tier_stats_max_age{60'000};
};

using Options = ManagerOptions;

// Per-write options. `ttl` makes the record expire that long after the
// write, in every tier that holds it.
struct SetOptions {
    std::optional<std::chrono::milliseconds> ttl;
};

// For get_or_compute: how long a caller waits for another caller's
// computation of the same key before giving up with Error{timeout}
// (nullopt: as long as it takes). The computation goes on for the others.
struct ComputeOptions {
    std::optional<std::chrono::milliseconds> wait;
};

}  // namespace strata
