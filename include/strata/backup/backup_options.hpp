#pragma once

#include <cstddef>  // size_t
#include <functional>

#include "strata/backup/encryption_key.hpp"
#include "strata/backup/retention.hpp"
#include "strata/core/record.hpp"  // Clock

namespace strata {

struct BackupOptions {
    // A user key of the repository; the first backup into an empty store
    // makes the repository's key ring with it.
    EncryptionKey key;
    int compression_level = 1;  // zlib, 0 (none) to 9
    // Hold writes through the manager for full, snapshot, incremental and
    // differential captures (a consistent cut). Off, writes go on and
    // BackupInfo::version_cut records where the capture began. Emergency
    // backups never wait for writes.
    bool hold_writes = true;
    BackupRetention retention{};
    std::size_t batch_size = 1000;  // keys per read or write
    // Where creation times and retention ages come from (tests step it).
    std::function<Clock::time_point()> clock = [] { return Clock::now(); };
};

}  // namespace strata
