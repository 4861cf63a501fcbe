#pragma once

#include <algorithm>  // equal, reverse
#include <cstddef>    // size_t
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // declval, move
#include <vector>

#include "strata/backup/backup_info.hpp"
#include "strata/backup/detail/key_section.hpp"
#include "strata/backup/detail/manifest.hpp"
#include "strata/backup/detail/parked_chain.hpp"
#include "strata/backup/detail/sealed_parts.hpp"
#include "strata/backup/encryption_key.hpp"
#include "strata/backup/key_ring.hpp"
#include "strata/checkpoint/checkpoint_store.hpp"  // validate_checkpoint_id
#include "strata/checkpoint/stream_reader.hpp"
#include "strata/core/error.hpp"

// A store's backups as a BackupManager reads them: the data key unwrapped
// from the store's key ring by the user's key, manifests authenticated
// under it, chains resolved and every part read and authenticated.
namespace strata::detail::backup {

template <class S>
class Repository {
public:
    using Source = decltype(std::declval<S&>().open(std::declval<const std::string&>()));

    Repository(S store, EncryptionKey user_key) : store_(std::move(store)), user_key_(std::move(user_key)) {}

    S& store() noexcept { return store_; }

    // The repository's data key, from the store's key ring, made on the
    // first backup into an empty store (`create`). A key not in the ring is
    // rejected.
    EncryptionKey data_key(bool create) {
        std::lock_guard lock(key_mutex_);
        if (data_key_) return *data_key_;
        auto ring = store_.key_ring();
        if (!ring) {
            if (!create)
                throw Error(ErrorKind::not_found, "backup", "open",
                            "store '" + std::string(store_.name()) + "' holds no key ring: no backup was made there");
            const KeyRing made = KeyRing::create(user_key_);
            store_.store_key_ring(made.serialize());
            ring = store_.key_ring();
            if (!ring) throw Error(ErrorKind::unavailable, "backup", "create", "the key ring just stored reads back as absent");
        }
        try {
            data_key_ = KeyRing::parse(*ring).unwrap(user_key_);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::rejected) throw;
            throw Error(ErrorKind::rejected, "backup", "open",
                        "wrong key: the key given is not a user key of the repository in store '" +
                            std::string(store_.name()) + "'");
        }
        return *data_key_;
    }

    // Every backup whose manifest reads, oldest first. A committed manifest
    // never changes, so each is read from the store once.
    std::vector<BackupInfo> list() {
        const auto ids = store_.ids();
        std::map<std::string, BackupInfo> known;
        {
            std::lock_guard lock(known_mutex_);
            known = known_;
        }
        std::vector<BackupInfo> out;
        std::map<std::string, BackupInfo> still;
        for (const auto& id : ids) {
            auto it = known.find(id);
            if (it == known.end()) {
                auto m = try_manifest(id);
                if (!m) continue;
                it = known.emplace(id, std::move(m->info)).first;
            }
            out.push_back(it->second);
            still.insert(*it);
        }
        std::lock_guard lock(known_mutex_);
        known_ = std::move(still);
        return out;
    }

    // Unauthenticated: what the manifest says, for listing.
    std::optional<BackupInfo> get(const std::string& id) {
        validate_checkpoint_id(id);
        auto raw = store_.summary(id);
        if (!raw) return std::nullopt;
        return read_manifest(*raw, id, "get").info;
    }

    // The manifest of `id`, authenticated under the repository's key.
    Manifest load(const std::string& id, std::string_view op) {
        validate_checkpoint_id(id);
        auto raw = store_.summary(id);
        if (!raw) throw Error(ErrorKind::not_found, "backup", std::string(op), "no backup '" + id + "'");
        Manifest m = read_manifest(*raw, id, op);
        authenticate_manifest(*raw, data_key(false), id);
        return m;
    }

    // The chain ending at `id`, base first, every manifest authenticated.
    // A missing link is Error{not_found} naming it; nothing is read further.
    std::vector<Manifest> resolve(const std::string& id, std::string_view op) {
        std::vector<Manifest> chain{load(id, op)};
        while (!chain.back().info.parent.empty()) {
            const std::string& parent = chain.back().info.parent;
            if (!(parent < chain.back().info.id))
                backup_error(ErrorKind::corrupt, op, chain.back().info.id, "names a later backup as its parent");
            if (!store_.summary(parent))
                throw Error(ErrorKind::not_found, "backup", std::string(op),
                            "backup '" + id + "' needs backup '" + parent + "', which is missing: the chain is broken");
            chain.push_back(load(parent, op));
        }
        std::reverse(chain.begin(), chain.end());
        return chain;
    }

    // Reads a whole backup, authenticating it: on_record(tier position,
    // key, record) for every record, then the key section is checked.
    // Everything handed out is authentic, but the backup is whole only once
    // this returns.
    template <class OnRecord>
    void read(const Manifest& m, OnRecord&& on_record) {
        const EncryptionKey data = data_key(false);
        const std::string& id = m.info.id;
        auto source = store_.open(id);
        OpeningReader<Source> records(source, m.records_part, data, id + "/records");
        CheckpointReader reader(records, m.records, "verify");
        std::size_t position = 0;
        reader.run([&](const CapturedTier& t) {
                       position = static_cast<std::size_t>(&t - m.records.tiers.data());
                   },
                   [&](std::string key, Record r) { on_record(position, std::move(key), std::move(r)); },
                   [](const CapturedTier&) {});
        if (!records.at_end()) backup_error(ErrorKind::corrupt, "verify", id, "has bytes after its records");
        OpeningReader<Source> opened(source, m.keys_part, data, id + "/keys");
        KeySectionReader<Source> keys(opened, id);
        std::string key;
        for (std::size_t i = 0; i < m.records.tiers.size(); ++i) {
            keys.begin_tier();
            while (keys.next(key)) {
            }
        }
        keys.finish(m.keys_hash);
        expect_end(source, id);
    }

    // Keyless, for a store's operator: the manifest is intact and the parts
    // have its sizes, SHA-256 and well-formed segments; else Error{corrupt}.
    void check_structure(const std::string& id) {
        validate_checkpoint_id(id);
        auto raw = store_.summary(id);
        if (!raw) throw Error(ErrorKind::not_found, "backup", "verify_structure", "no backup '" + id + "'");
        const Manifest m = read_manifest(*raw, id, "verify_structure");
        auto source = store_.open(id);
        check_part_structure(source, m.records_part, id + "/records");
        check_part_structure(source, m.keys_part, id + "/keys");
        expect_end(source, id);
    }

    // The chain read whole, every part authenticated, and the state at its
    // last cut parked (keys in memory, records in a temporary file).
    ParkedChain park(const std::vector<Manifest>& chain) {
        const auto& last = chain.back();
        KeySection<Source> section(store_.open(last.info.id), last, data_key(false));
        ParkedChain parked(read_key_section(section.opened, last.records.tiers.size(), last.keys_hash, last.info.id));
        for (auto part = chain.rbegin(); part != chain.rend(); ++part) {
            if (!same_tiers(part->records, last.records))
                backup_error(ErrorKind::corrupt, "restore", part->info.id,
                             "captured other tiers than '" + last.info.id + "', which builds on it");
            read(*part, [&](std::size_t i, const std::string& key, const Record& r) { parked.offer(i, key, r); });
        }
        return parked;
    }

private:
    static void expect_end(Source& source, const std::string& id) {
        char extra = 0;
        if (source.read(&extra, 1) != 0) backup_error(ErrorKind::corrupt, "verify", id, "has bytes after its last part");
    }

    static bool same_tiers(const CheckpointInfo& a, const CheckpointInfo& b) {
        return std::equal(a.tiers.begin(), a.tiers.end(), b.tiers.begin(), b.tiers.end(),
                          [](const CapturedTier& x, const CapturedTier& y) {
                              return x.index == y.index && x.name == y.name && x.temperature == y.temperature;
                          });
    }

    // nullopt for a backup removed since it was listed, or one whose stored
    // object or manifest is damaged (a file cut short): the others list.
    std::optional<Manifest> try_manifest(const std::string& id) {
        try {
            auto raw = store_.summary(id);
            if (!raw) return std::nullopt;
            return read_manifest(*raw, id, "list");
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt) throw;
            return std::nullopt;
        }
    }

    S store_;
    EncryptionKey user_key_;
    std::mutex key_mutex_;
    std::optional<EncryptionKey> data_key_;
    std::mutex known_mutex_;
    std::map<std::string, BackupInfo> known_;
};

}  // namespace strata::detail::backup
