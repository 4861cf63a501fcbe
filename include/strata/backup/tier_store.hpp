#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>  // move
#include <vector>

#include "strata/backup/backup_store.hpp"
#include "strata/checkpoint/tier_store.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"

namespace strata {

// Backups in any strata::Tier (S3 for off-site storage, a FileTier on a
// network mount): each backup stored as TierCheckpointStore stores a
// checkpoint (chunks, then the manifest last, so a writer killed before it
// leaves nothing listed), and the key ring as the record `<prefix>keyring`.
// The store owns its tier: give it one of its own, not a tier it backs up.
template <Tier T>
class TierBackupStore {
public:
    explicit TierBackupStore(T tier, TierStoreOptions options = backup_defaults())
        : ring_key_(options.prefix + "keyring"), files_(std::move(tier), std::move(options)) {}

    static TierStoreOptions backup_defaults() {
        TierStoreOptions o;
        o.prefix = "backups/";
        o.name = "tier-backups";
        return o;
    }

    std::string_view name() const noexcept { return files_.name(); }
    T& tier() noexcept { return files_.tier(); }

    auto begin(const std::string& id) { return files_.begin(id); }
    auto open(const std::string& id) { return files_.open(id); }
    std::optional<std::string> summary(const std::string& id) { return files_.summary(id); }
    std::vector<std::string> ids() { return files_.ids(); }
    bool remove(const std::string& id) { return files_.remove(id); }

    std::optional<std::string> key_ring() {
        auto r = tier().fetch(ring_key_);
        if (!r) return std::nullopt;
        if (!r->intact())
            throw Error(ErrorKind::corrupt, std::string(name()), "key_ring", "the stored key ring fails its checksum");
        return std::move(r->value);
    }

    // One record, so the ring is replaced whole or not at all.
    void store_key_ring(std::string_view bytes) {
        const auto old = tier().fetch(ring_key_);
        tier().store(ring_key_, make_record(std::string(bytes), old ? old->version + 1 : 1));
    }

private:
    std::string ring_key_;
    TierCheckpointStore<T> files_;
};

}  // namespace strata
