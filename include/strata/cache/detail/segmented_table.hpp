#pragma once

#include <array>
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint64_t
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/cache/detail/key_hash.hpp"
#include "strata/core/record.hpp"

namespace strata::detail {

// The entries of one cache shard: `Segments` intrusive recency lists (most
// recent first) under one open-addressing index. Plain LRU uses one segment;
// W-TinyLFU uses three (window, probation, protected).
//
// Built for the cost of a cache hit, which should be close to that of a bare
// hash map: the index is a flat array of (hash, entry) slots probed linearly,
// so a probe reads one slot line and then the entry itself (no bucket array,
// chain node and list node to chase, no division by a prime); a lookup by
// HashedKey allocates nothing and never rehashes. Deletion shifts later
// slots back instead of leaving tombstones. Entries never move, so a Handle
// stays valid until its entry is erased. Not thread-safe (the owning shard
// holds the lock) and not movable (the lists point at their own heads).
template <std::size_t Segments>
class SegmentedTable {
    struct Links {
        Links* prev;
        Links* next;
    };

public:
    static constexpr Clock::time_point never = Clock::time_point::max();

    struct Entry : Links {
        std::string key;
        std::string value;
        Clock::time_point expires_at;
        std::size_t hash;
        std::uint64_t placed;  // the segment's placement count when this entry last went to its front
        std::uint8_t segment;
    };
    using Handle = Entry*;

    SegmentedTable() noexcept {
        for (auto& h : heads_) h.prev = h.next = &h;
    }
    SegmentedTable(const SegmentedTable&) = delete;
    SegmentedTable& operator=(const SegmentedTable&) = delete;
    ~SegmentedTable() { clear(); }

    // The entry for `key`, or nullptr.
    Handle find(const HashedKey& key) const noexcept {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = key.hash & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.entry == nullptr) return nullptr;
            if (s.hash == key.hash && s.entry->key == key.key) return s.entry;
        }
    }

    // Makes `h` the most recent entry of `segment`.
    void move_to_front(Handle h, std::size_t segment) noexcept {
        unlink(h);
        --sizes_[h->segment];
        link_front(h, segment);
    }

    // Records a use of `h` in its segment: moves it to the front unless it is
    // provably among the `near` most recent entries already (fewer than
    // `near` entries went to the front since it did). Such a use then counts
    // as if it happened when the entry last went to the front, which is
    // recent anyway; in exchange a hot entry does not rewrite three list
    // nodes (cache misses under the shard's lock) on every hit.
    void touch(Handle h, std::size_t near) noexcept {
        if (placements_[h->segment] - h->placed >= near) move_to_front(h, h->segment);
    }

    Handle emplace_front(std::size_t segment, const HashedKey& key, std::string_view value,
                         Clock::time_point expires_at) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        auto* e = new Entry{{nullptr, nullptr}, std::string(key.key), std::string(value), expires_at, key.hash, 0, 0};
        place(Slot{key.hash, e});
        ++size_;
        link_front(e, segment);
        return e;
    }

    void erase(Handle h) noexcept {
        std::size_t i = h->hash & mask_;
        while (slots_[i].entry != h) i = (i + 1) & mask_;
        // Backward-shift deletion: pull forward every later slot of the run
        // whose home is not between the hole and itself.
        for (std::size_t j = i;;) {
            j = (j + 1) & mask_;
            if (slots_[j].entry == nullptr) break;
            const std::size_t home = slots_[j].hash & mask_;
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            slots_[i] = slots_[j];
            i = j;
        }
        slots_[i] = Slot{};
        --size_;
        unlink(h);
        --sizes_[h->segment];
        delete h;
    }

    // Calls `visit` with each entry of `segment`, most recent first, while it returns true.
    template <class Visit>
    void walk(std::size_t segment, Visit&& visit) const {
        const Links& head = heads_[segment];
        for (const Links* l = head.next; l != &head; l = l->next)
            if (!visit(static_cast<const Entry&>(*l))) return;
    }

    // The least recent entry of `segment`; the segment must not be empty.
    Handle back(std::size_t segment) noexcept { return static_cast<Handle>(heads_[segment].prev); }

    std::size_t size(std::size_t segment) const noexcept { return sizes_[segment]; }
    std::size_t size() const noexcept { return size_; }

    void clear() noexcept {
        for (auto& head : heads_) {
            for (Links* l = head.next; l != &head;) {
                Links* next = l->next;
                delete static_cast<Handle>(l);
                l = next;
            }
            head.prev = head.next = &head;
        }
        slots_ = std::vector<Slot>();
        mask_ = 0;
        size_ = 0;
        sizes_.fill(0);
    }

    // Reads the clock only for entries that carry an expiry.
    static bool expired(const Entry& e) noexcept { return e.expires_at != never && e.expires_at <= Clock::now(); }

private:
    struct Slot {
        std::size_t hash = 0;
        Entry* entry = nullptr;
    };

    void unlink(Links* l) noexcept {
        l->prev->next = l->next;
        l->next->prev = l->prev;
    }

    void link_front(Handle h, std::size_t segment) noexcept {
        Links& head = heads_[segment];
        h->prev = &head;
        h->next = head.next;
        head.next->prev = h;
        head.next = h;
        h->segment = static_cast<std::uint8_t>(segment);
        h->placed = ++placements_[segment];
        ++sizes_[segment];
    }

    void place(Slot s) noexcept {
        std::size_t i = s.hash & mask_;
        while (slots_[i].entry != nullptr) i = (i + 1) & mask_;
        slots_[i] = s;
    }

    // Keeps the load at or under one half, so probe runs stay short.
    void grow() {
        std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
        old.swap(slots_);
        mask_ = slots_.size() - 1;
        for (const Slot& s : old)
            if (s.entry != nullptr) place(s);
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
    std::array<Links, Segments> heads_;
    std::array<std::size_t, Segments> sizes_{};
    std::array<std::uint64_t, Segments> placements_{};
};

// The stored form of an optional expiry.
inline Clock::time_point expiry_or_never(const std::optional<Clock::time_point>& expires_at) noexcept {
    return expires_at ? *expires_at : Clock::time_point::max();
}

}  // namespace strata::detail
