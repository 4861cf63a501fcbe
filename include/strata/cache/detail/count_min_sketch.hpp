#pragma once

#include <algorithm>  // fill, min
#include <bit>        // bit_ceil
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <vector>

#include "strata/cache/detail/key_hash.hpp"

namespace strata::detail {

// A count-min sketch: `rows` rows of saturating `Bits`-bit counters packed
// into 64-bit words. It estimates how often a hash was counted, never below
// the true count (up to saturation), in memory fixed at construction however
// many distinct keys it sees. 4-bit counters are what W-TinyLFU needs (it
// only compares small frequencies); wider ones count up to larger thresholds.
template <unsigned Bits>
class CountMinSketch {
    static_assert(Bits == 4 || Bits == 8 || Bits == 16, "CountMinSketch: Bits must be 4, 8 or 16");

public:
    static constexpr unsigned rows = 4;
    static constexpr unsigned max_count = (1u << Bits) - 1;

    // `width` counters per row, rounded up to a power of two of at least a word.
    explicit CountMinSketch(std::size_t width)
        : width_(std::bit_ceil(std::max<std::size_t>(width, per_word))), words_(rows * width_ / per_word, 0) {}

    void increment(std::size_t hash) noexcept {
        for (unsigned r = 0; r < rows; ++r) {
            const std::size_t i = slot(hash, r);
            std::uint64_t& w = words_[i / per_word];
            const unsigned shift = (i % per_word) * Bits;
            if (((w >> shift) & max_count) != max_count) w += std::uint64_t{1} << shift;
        }
    }

    unsigned estimate(std::size_t hash) const noexcept {
        unsigned m = max_count;
        for (unsigned r = 0; r < rows; ++r) {
            const std::size_t i = slot(hash, r);
            m = std::min(m, static_cast<unsigned>((words_[i / per_word] >> ((i % per_word) * Bits)) & max_count));
        }
        return m;
    }

    // Ages every counter at once (TinyLFU's reset): recent popularity then
    // outweighs popularity long past.
    void halve() noexcept {
        for (auto& w : words_) w = (w >> 1) & halve_mask;
    }

    void clear() noexcept { std::fill(words_.begin(), words_.end(), 0); }

    std::size_t memory_bytes() const noexcept { return words_.size() * sizeof(std::uint64_t); }

private:
    static constexpr unsigned per_word = 64 / Bits;
    // In every counter, all bits but the top one: what is left after a shift
    // right once the bit borrowed from the neighbour is cleared.
    static constexpr std::uint64_t halve_mask = [] {
        std::uint64_t m = 0;
        for (unsigned c = 0; c < per_word; ++c) m |= std::uint64_t{max_count >> 1} << (c * Bits);
        return m;
    }();

    // Counter index of `hash` in row `r`: independent bits per row, rows laid
    // out one after another.
    std::size_t slot(std::size_t hash, unsigned r) const noexcept {
        const std::uint64_t h = mix64(hash + 0x9e3779b97f4a7c15ULL * (r + 1));
        return r * width_ + (h & (width_ - 1));
    }

    std::size_t width_;
    std::vector<std::uint64_t> words_;
};

}  // namespace strata::detail
