#pragma once

#include <atomic>
#include <bit>      // bit_ceil
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <functional>  // hash
#include <memory>      // unique_ptr
#include <string_view>
#include <vector>

namespace strata::detail {

// Lets a reader prove that no write of a key overlapped its read, without
// taking a lock. A write changes the tiers one after another (the durable
// copy first, then the hotter ones), so a read that runs into the middle of
// a write could return a newer value from one tier and, a moment later,
// an older one from another. Each key hashes to a slot counting writes
// begun and writes ended. A read whose slot showed no write inside when it
// began (begun, then ended, read in that order, equal) and no write begun
// since when it ended saw the tiers between writes; any other read is done
// again. The slots are many more than the write stripes, so unrelated keys
// seldom share one.
class WriteMarks {
public:
    explicit WriteMarks(std::size_t slots)
        : mask_(std::bit_ceil(slots ? slots : 1) - 1), slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

    std::size_t slot(std::string_view key) const noexcept {
        // Multiplied so that the slot does not follow the stripe (same hash).
        return static_cast<std::size_t>((std::hash<std::string_view>{}(key) * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
    }

    // What a reader notes before it reads: the writes begun, or nullopt-like
    // `busy` when one is inside.
    static constexpr std::uint64_t busy = ~std::uint64_t{0};
    std::uint64_t snapshot(std::size_t slot) const noexcept {
        const auto begun = slots_[slot].begun.load(std::memory_order_seq_cst);
        const auto ended = slots_[slot].ended.load(std::memory_order_seq_cst);
        return begun == ended ? begun : busy;
    }

    bool quiet_since(std::size_t slot, std::uint64_t seen) const noexcept {
        return seen != busy && slots_[slot].begun.load(std::memory_order_seq_cst) == seen;
    }

    // Marks the keys written for as long as it lives.
    class Writing {
    public:
        template <class Keys>
        Writing(WriteMarks& owner, const Keys& keys) : owner_(owner) {
            slots_.reserve(std::size(keys));
            for (const auto& k : keys) slots_.push_back(owner_.slot(key_of(k)));
            for (auto s : slots_) owner_.slots_[s].begun.fetch_add(1, std::memory_order_seq_cst);
        }
        Writing(const Writing&) = delete;
        Writing& operator=(const Writing&) = delete;
        ~Writing() {
            for (auto s : slots_) owner_.slots_[s].ended.fetch_add(1, std::memory_order_seq_cst);
        }

    private:
        template <class K>
        static std::string_view key_of(const K& k) {
            if constexpr (requires { k.key; })
                return k.key;
            else
                return k;
        }

        WriteMarks& owner_;
        std::vector<std::size_t> slots_;
    };

private:
    struct Slot {
        std::atomic<std::uint64_t> begun{0}, ended{0};
    };
    std::size_t mask_;
    std::unique_ptr<Slot[]> slots_;
};

}  // namespace strata::detail
