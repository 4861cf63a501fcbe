#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <string_view>

#include "strata/checkpoint/checkpoint_store.hpp"

namespace strata {

namespace detail {

template <class S>
concept store_has_key_ring = requires(S& s) {
    { s.key_ring() } -> std::same_as<std::optional<std::string>>;
};
template <class S>
concept store_has_store_key_ring = requires(S& s, std::string_view bytes) { s.store_key_ring(bytes); };

}  // namespace detail

// Where backups live: a CheckpointStore (each backup is one stream, its
// manifest as the summary, committed together, so a crash mid-backup leaves
// nothing listed), plus the repository's key ring:
// - key_ring() is nullopt until store_key_ring(bytes) first ran;
// - store_key_ring(bytes) replaces the ring whole or not at all.
template <class S>
concept BackupStore =
    CheckpointStore<S> && detail::store_has_key_ring<S> && detail::store_has_store_key_ring<S>;

// Says in words what a would-be store lacks; BackupManager calls it.
template <class S>
constexpr bool check_backup_store() {
    static_assert(check_checkpoint_store<S>(), "strata::BackupStore: must first be a CheckpointStore (see above)");
    static_assert(detail::store_has_key_ring<S>, "strata::BackupStore: missing: std::optional<std::string> key_ring()");
    static_assert(detail::store_has_store_key_ring<S>,
                  "strata::BackupStore: missing: void store_key_ring(std::string_view bytes)");
    return BackupStore<S>;
}

}  // namespace strata
