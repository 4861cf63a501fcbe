#pragma once

#include <algorithm>  // set_union
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <iterator>   // back_inserter
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // move
#include <variant>
#include <vector>

#include "strata/backup/backup_store.hpp"
#include "strata/core/error.hpp"

namespace strata {

// One backup written to two stores at once (a local directory and S3, say),
// each byte once to each, so losing either store loses no backup:
//
//     strata::BackupManager backups{mgr,
//         strata::MirroredBackupStore{strata::DirectoryBackupStore{"/var/backups/app"},
//                                     strata::TierBackupStore{strata::S3Tier{s3_options}}},
//         options};
//
// A backup is committed to both or to neither: when the second store fails
// to commit, the first store's copy is removed again, so each store keeps
// whole chains on its own and either one alone can restore on a new machine.
// (A crash between the two commits leaves the backup in the first store
// only; the next backup of either store still builds on what that store
// lists.) Reads come from the first store that holds a backup. Both stores
// hold the same key ring: one missing it gets the other's, and two
// different rings are Error{conflict}, since a backup sealed under one
// repository's data key does not open under the other's. Start mirroring
// with a full backup: incrementals made before hold their parents in the
// first store only.
template <BackupStore Primary, BackupStore Secondary>
class MirroredBackupStore {
    using PrimarySink = decltype(std::declval<Primary&>().begin(std::declval<const std::string&>()));
    using SecondarySink = decltype(std::declval<Secondary&>().begin(std::declval<const std::string&>()));
    using PrimarySource = decltype(std::declval<Primary&>().open(std::declval<const std::string&>()));
    using SecondarySource = decltype(std::declval<Secondary&>().open(std::declval<const std::string&>()));

public:
    MirroredBackupStore(Primary primary, Secondary secondary)
        : primary_(std::move(primary)),
          secondary_(std::move(secondary)),
          name_(std::string(primary_.name()) + "+" + std::string(secondary_.name())) {}

    class Sink {
    public:
        void write(std::string_view bytes) {
            primary_.write(bytes);
            secondary_.write(bytes);
        }

        void commit(std::string_view summary) {
            primary_.commit(summary);
            try {
                secondary_.commit(summary);
            } catch (...) {
                try {
                    store_->primary_.remove(id_);
                } catch (const Error&) {
                    // The secondary's failure is the one to report; the
                    // primary keeps a backup the secondary lacks.
                }
                throw;
            }
        }

    private:
        Sink(MirroredBackupStore& store, std::string id, PrimarySink primary, SecondarySink secondary)
            : store_(&store), id_(std::move(id)), primary_(std::move(primary)), secondary_(std::move(secondary)) {}
        friend class MirroredBackupStore;

        MirroredBackupStore* store_;
        std::string id_;
        PrimarySink primary_;
        SecondarySink secondary_;
    };

    class Source {
    public:
        std::size_t read(char* data, std::size_t size) {
            return std::visit([&](auto& s) -> std::size_t { return s.read(data, size); }, source_);
        }
        void skip(std::uint64_t n) {
            std::visit([&](auto& s) { detail::skip_bytes(s, n); }, source_);
        }

    private:
        explicit Source(std::variant<PrimarySource, SecondarySource> source) : source_(std::move(source)) {}
        friend class MirroredBackupStore;

        std::variant<PrimarySource, SecondarySource> source_;
    };

    std::string_view name() const noexcept { return name_; }
    Primary& primary() noexcept { return primary_; }
    Secondary& secondary() noexcept { return secondary_; }

    Sink begin(const std::string& id) { return Sink(*this, id, primary_.begin(id), secondary_.begin(id)); }

    Source open(const std::string& id) {
        using Either = std::variant<PrimarySource, SecondarySource>;
        try {
            return Source(Either(std::in_place_index<0>, primary_.open(id)));
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
        }
        return Source(Either(std::in_place_index<1>, secondary_.open(id)));
    }

    std::optional<std::string> summary(const std::string& id) {
        if (auto s = primary_.summary(id)) return s;
        return secondary_.summary(id);
    }

    std::vector<std::string> ids() {
        const auto a = primary_.ids();
        const auto b = secondary_.ids();
        std::vector<std::string> out;
        std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
        return out;
    }

    bool remove(const std::string& id) {
        const bool a = primary_.remove(id);
        const bool b = secondary_.remove(id);
        return a || b;
    }

    std::optional<std::string> key_ring() {
        auto a = primary_.key_ring();
        auto b = secondary_.key_ring();
        if (a && b && *a != *b)
            throw Error(ErrorKind::conflict, name_, "key_ring",
                        "stores '" + std::string(primary_.name()) + "' and '" + std::string(secondary_.name()) +
                            "' hold different key rings: they belong to different repositories");
        if (a && !b) secondary_.store_key_ring(*a);
        if (b && !a) primary_.store_key_ring(*b);
        return a ? a : b;
    }

    void store_key_ring(std::string_view bytes) {
        primary_.store_key_ring(bytes);
        secondary_.store_key_ring(bytes);
    }

private:
    Primary primary_;
    Secondary secondary_;
    std::string name_;
};

}  // namespace strata
