#pragma once

#include <algorithm>  // min
#include <concepts>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <optional>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <vector>

namespace strata {

// Checkpoint ids reach file names and object keys, so they are held to a
// safe alphabet: letters, digits, '_', '-', '.', not starting with '.', at
// most 128 bytes. Anything else ("../x", "a/b", NUL) is refused up front.
inline constexpr std::size_t max_checkpoint_id_size = 128;

inline void validate_checkpoint_id(std::string_view id) {
    if (id.empty() || id.size() > max_checkpoint_id_size)
        throw std::invalid_argument("strata: checkpoint id must be 1 to 128 bytes");
    if (id.front() == '.') throw std::invalid_argument("strata: checkpoint id must not start with '.'");
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.';
        if (!ok) throw std::invalid_argument("strata: checkpoint id may hold only letters, digits, '_', '-' and '.'");
    }
}

namespace detail {

// What begin(id) returns: takes the stream in pieces, then publishes it with
// its summary in one atomic step. Dropped without commit, it leaves nothing.
template <class W>
concept checkpoint_sink = std::move_constructible<W> && requires(W& w, std::string_view bytes) {
    w.write(bytes);
    w.commit(bytes);
};

// What open(id) returns: the stream exactly as written, in pieces.
template <class R>
concept checkpoint_source = requires(R& r, char* data, std::size_t size) {
    { r.read(data, size) } -> std::convertible_to<std::size_t>;
};

// Optional on a source: skip(n) passes over n bytes without fetching them
// (an incremental backup reaches its parent's key section past the records).
template <class R>
concept source_skips = requires(R& r, std::uint64_t n) { r.skip(n); };

// Passes over n bytes of `source`, reading them where it cannot skip.
template <class R>
void skip_bytes(R& source, std::uint64_t n) {
    if constexpr (source_skips<R>) {
        source.skip(n);
    } else {
        char piece[64 * 1024];
        while (n > 0) {
            const std::size_t got = source.read(piece, static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof piece)));
            if (got == 0) return;  // short: the next read finds the end
            n -= got;
        }
    }
}

template <class S>
concept store_has_name = requires(const S& s) {
    { s.name() } -> std::convertible_to<std::string_view>;
};
template <class S>
concept store_has_begin = requires(S& s, const std::string& id) {
    { s.begin(id) } -> checkpoint_sink;
};
template <class S>
concept store_has_open = requires(S& s, const std::string& id) {
    { s.open(id) } -> checkpoint_source;
};
template <class S>
concept store_has_summary = requires(S& s, const std::string& id) {
    { s.summary(id) } -> std::same_as<std::optional<std::string>>;
};
template <class S>
concept store_has_ids = requires(S& s) {
    { s.ids() } -> std::same_as<std::vector<std::string>>;
};
template <class S>
concept store_has_remove = requires(S& s, const std::string& id) {
    { s.remove(id) } -> std::convertible_to<bool>;
};

}  // namespace detail

// Where checkpoints live. Contract beyond the signatures:
// - begin(id) returns a sink; its commit(summary) makes the stream and its
//   summary durable and visible together, or not at all (a crash before
//   commit leaves no listed checkpoint and every earlier one intact);
// - ids() lists committed checkpoints only, sorted; summary(id) is nullopt
//   for an unknown id; open(id) reads the stream back, throws
//   Error{not_found} for an unknown id and Error{corrupt} when the stored
//   object is malformed;
// - failures throw strata::Error.
template <class S>
concept CheckpointStore = std::move_constructible<S> && detail::store_has_name<S> && detail::store_has_begin<S> &&
                          detail::store_has_open<S> && detail::store_has_summary<S> && detail::store_has_ids<S> &&
                          detail::store_has_remove<S>;

// Says in words what a would-be store lacks; Checkpointer calls it.
template <class S>
constexpr bool check_checkpoint_store() {
    static_assert(std::move_constructible<S>, "strata::CheckpointStore: must be move-constructible");
    static_assert(detail::store_has_name<S>, "strata::CheckpointStore: missing: std::string_view name() const");
    static_assert(detail::store_has_begin<S>,
                  "strata::CheckpointStore: missing: Sink begin(const std::string& id), where Sink has "
                  "write(std::string_view) and commit(std::string_view summary) and is movable");
    static_assert(detail::store_has_open<S>,
                  "strata::CheckpointStore: missing: Source open(const std::string& id), where Source has "
                  "std::size_t read(char*, std::size_t)");
    static_assert(detail::store_has_summary<S>,
                  "strata::CheckpointStore: missing: std::optional<std::string> summary(const std::string& id)");
    static_assert(detail::store_has_ids<S>, "strata::CheckpointStore: missing: std::vector<std::string> ids()");
    static_assert(detail::store_has_remove<S>, "strata::CheckpointStore: missing: bool remove(const std::string& id)");
    return CheckpointStore<S>;
}

}  // namespace strata
