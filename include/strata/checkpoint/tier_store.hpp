#pragma once

#include <algorithm>  // sort, min
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <cstdio>     // snprintf
#include <optional>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <utility>  // move, exchange
#include <vector>

#include "strata/checkpoint/checkpoint_store.hpp"
#include "strata/checkpoint/detail/format.hpp"  // put_u64, get_u64
#include "strata/core/error.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"

namespace strata {

struct TierStoreOptions {
    std::string prefix = "checkpoints/";
    // Stream bytes per stored record: big enough to keep round trips few,
    // small enough that no backend balks at one value.
    std::size_t chunk_size = std::size_t{4} << 20;
    std::string name = "tier-checkpoints";
};

// Keeps checkpoints in any strata::Tier (S3 for cheap durable storage, or a
// FileTier): the stream as records `<prefix><id>/data/<n>` of chunk_size
// bytes, then `<prefix><id>/summary` (chunk count, stream size, summary)
// written last. Only a summary makes a checkpoint exist, so a writer killed
// before it leaves nothing listed; remove(id) also clears such leftovers.
// Every chunk carries its record checksum, checked on the way back. The
// store owns its tier: give it one of its own, not a tier it checkpoints.
template <Tier T>
class TierCheckpointStore {
public:
    explicit TierCheckpointStore(T tier, TierStoreOptions options = {})
        : tier_(std::move(tier)), options_(std::move(options)) {
        if (options_.chunk_size == 0) throw std::invalid_argument("strata: TierStoreOptions::chunk_size must be > 0");
    }

    std::string_view name() const noexcept { return options_.name; }
    T& tier() noexcept { return tier_; }

    class Sink {
    public:
        Sink(Sink&& o) noexcept
            : store_(o.store_), id_(std::move(o.id_)), buffer_(std::move(o.buffer_)), chunks_(o.chunks_),
              size_(o.size_), done_(std::exchange(o.done_, true)) {}
        Sink& operator=(Sink&&) = delete;
        ~Sink() {
            if (done_ || chunks_ == 0) return;
            try {
                std::vector<std::string> keys;
                for (std::uint64_t i = 0; i < chunks_; ++i) keys.push_back(store_->chunk_key(id_, i));
                store_->tier_.erase_many(keys);
            } catch (...) {  // best effort: remove(id) clears what is left
            }
        }

        void write(std::string_view bytes) {
            while (!bytes.empty()) {
                const std::size_t n = std::min(bytes.size(), store_->options_.chunk_size - buffer_.size());
                buffer_.append(bytes.substr(0, n));
                bytes.remove_prefix(n);
                if (buffer_.size() == store_->options_.chunk_size) flush();
            }
        }

        void commit(std::string_view summary) {
            if (!buffer_.empty()) flush();
            std::string value;
            detail::checkpoint::put_u64(value, chunks_);
            detail::checkpoint::put_u64(value, size_);
            value += summary;
            store_->tier_.store(store_->summary_key(id_), make_record(std::move(value), 1));
            done_ = true;
        }

    private:
        friend class TierCheckpointStore;
        Sink(TierCheckpointStore* store, std::string id) : store_(store), id_(std::move(id)) {}

        void flush() {
            size_ += buffer_.size();
            store_->tier_.store(store_->chunk_key(id_, chunks_), make_record(std::move(buffer_), 1));
            ++chunks_;
            buffer_.clear();
        }

        TierCheckpointStore* store_;
        std::string id_, buffer_;
        std::uint64_t chunks_ = 0, size_ = 0;
        bool done_ = false;
    };

    class Source {
    public:
        std::size_t read(char* data, std::size_t size) {
            while (pos_ == chunk_.size()) {
                if (next_ == chunks_) return 0;
                const auto key = store_->chunk_key(id_, next_++);
                auto r = store_->tier_.fetch(key);
                if (!r) store_->corrupt(id_, "lacks chunk " + std::to_string(next_ - 1));
                if (!r->intact()) store_->corrupt(id_, "has a damaged chunk " + std::to_string(next_ - 1));
                chunk_ = std::move(r->value);
                pos_ = 0;
                if (next_ == 1) whole_ = chunk_.size();
            }
            const std::size_t n = std::min(size, chunk_.size() - pos_);
            std::copy_n(chunk_.data() + pos_, n, data);
            pos_ += n;
            return n;
        }

        // Every chunk but the last holds as many bytes as the first (the
        // sink cuts them so), so whole chunks are passed over unfetched. A
        // store that broke that only misplaces what the reader then
        // authenticates.
        void skip(std::uint64_t n) {
            while (n > 0) {
                if (pos_ < chunk_.size()) {
                    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, chunk_.size() - pos_));
                    pos_ += k;
                    n -= k;
                } else if (next_ > 0 && next_ + 1 < chunks_ && n >= whole_) {
                    ++next_;
                    n -= whole_;
                } else {
                    char byte = 0;
                    if (read(&byte, 1) == 0) return;
                    --n;
                }
            }
        }

    private:
        friend class TierCheckpointStore;
        Source(TierCheckpointStore* store, std::string id, std::uint64_t chunks)
            : store_(store), id_(std::move(id)), chunks_(chunks) {}
        TierCheckpointStore* store_;
        std::string id_, chunk_;
        std::uint64_t chunks_, next_ = 0, whole_ = 0;
        std::size_t pos_ = 0;
    };

    Sink begin(const std::string& id) {
        validate_checkpoint_id(id);
        if (tier_.fetch(summary_key(id)))
            throw Error(ErrorKind::conflict, options_.name, "begin", "checkpoint '" + id + "' already exists");
        return Sink(this, id);
    }

    Source open(const std::string& id) {
        validate_checkpoint_id(id);
        auto head = load_summary(id);
        if (!head) throw Error(ErrorKind::not_found, options_.name, "open", "no checkpoint '" + id + "'");
        return Source(this, id, detail::checkpoint::get_u64(*head, 0));
    }

    std::optional<std::string> summary(const std::string& id) {
        validate_checkpoint_id(id);
        auto head = load_summary(id);
        if (!head) return std::nullopt;
        return head->substr(16);
    }

    std::vector<std::string> ids() {
        std::vector<std::string> out;
        for (auto& key : tier_.keys(glob_escape(options_.prefix) + "*/summary")) {
            std::string id = key.substr(options_.prefix.size(), key.size() - options_.prefix.size() - 8);
            try {
                validate_checkpoint_id(id);
            } catch (const std::invalid_argument&) {
                continue;  // not one of ours
            }
            out.push_back(std::move(id));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    // Unlists first (the summary), then removes the chunks.
    bool remove(const std::string& id) {
        validate_checkpoint_id(id);
        const bool existed = tier_.erase(summary_key(id));
        auto chunks = tier_.keys(glob_escape(options_.prefix + id + "/data/") + "*");
        if (!chunks.empty()) tier_.erase_many(chunks);
        return existed;
    }

private:
    std::string summary_key(const std::string& id) const { return options_.prefix + id + "/summary"; }

    std::string chunk_key(const std::string& id, std::uint64_t n) const {
        char digits[24];
        std::snprintf(digits, sizeof digits, "%08llu", static_cast<unsigned long long>(n));
        return options_.prefix + id + "/data/" + digits;
    }

    [[noreturn]] void corrupt(const std::string& id, const std::string& why) const {
        throw Error(ErrorKind::corrupt, options_.name, "open", "checkpoint '" + id + "' " + why);
    }

    // The summary record's value, checked; nullopt if absent.
    std::optional<std::string> load_summary(const std::string& id) {
        auto r = tier_.fetch(summary_key(id));
        if (!r) return std::nullopt;
        if (!r->intact() || r->value.size() < 16) corrupt(id, "has a damaged summary record");
        return std::move(r->value);
    }

    T tier_;
    TierStoreOptions options_;
};

}  // namespace strata
