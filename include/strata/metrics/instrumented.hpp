#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>  // invalid_argument
#include <string>
#include <string_view>
#include <utility>  // forward, move
#include <vector>

#include "strata/core/capabilities.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/metrics/detail/fixed_histogram.hpp"
#include "strata/metrics/metric_family.hpp"

namespace strata {

// Every call a tier answers, the optional ones (core/capabilities.hpp) last.
enum class TierOperation {
    fetch,
    store,
    erase,
    keys,
    fetch_many,
    store_many,
    erase_many,
    stats,
    ping,
    peek_many,
    idle_keys,
    sweep_expired,
    changed_since,
};

constexpr std::string_view to_string(TierOperation op) noexcept {
    switch (op) {
        case TierOperation::fetch: return "fetch";
        case TierOperation::store: return "store";
        case TierOperation::erase: return "erase";
        case TierOperation::keys: return "keys";
        case TierOperation::fetch_many: return "fetch_many";
        case TierOperation::store_many: return "store_many";
        case TierOperation::erase_many: return "erase_many";
        case TierOperation::stats: return "stats";
        case TierOperation::ping: return "ping";
        case TierOperation::peek_many: return "peek_many";
        case TierOperation::idle_keys: return "idle_keys";
        case TierOperation::sweep_expired: return "sweep_expired";
        case TierOperation::changed_since: return "changed_since";
    }
    return "unknown";
}

inline constexpr std::size_t tier_operation_count = static_cast<std::size_t>(TierOperation::changed_since) + 1;

// The calls that take a batch of keys or entries, whose sizes are counted.
constexpr bool is_batch_operation(TierOperation op) noexcept {
    return op == TierOperation::fetch_many || op == TierOperation::store_many || op == TierOperation::erase_many ||
           op == TierOperation::peek_many;
}

// Whether tier T answers `op`: the Tier calls always, a capability when T has it.
template <class T>
constexpr bool tier_answers(TierOperation op) noexcept {
    switch (op) {
        case TierOperation::peek_many: return HasPeekMany<T>;
        case TierOperation::idle_keys: return HasIdleKeys<T>;
        case TierOperation::sweep_expired: return HasSweepExpired<T>;
        case TierOperation::changed_since: return HasChangedSince<T>;
        default: return true;
    }
}

// Failures are counted per ErrorKind, and anything thrown that is not a
// strata::Error under one more kind, "other".
inline constexpr std::size_t error_kind_count = static_cast<std::size_t>(ErrorKind::invalid) + 1;
static_assert(to_string(static_cast<ErrorKind>(error_kind_count)) == "unknown",
              "strata: a new ErrorKind must be counted: update error_kind_count in metrics/instrumented.hpp");
inline constexpr std::string_view other_error_kind = "other";

constexpr std::string_view error_kind_label(std::size_t index) noexcept {
    return index < error_kind_count ? to_string(static_cast<ErrorKind>(index)) : other_error_kind;
}

namespace detail {

// 1-2-5 series from 50 us to 10 s, in nanoseconds.
inline constexpr std::array<std::uint64_t, 17> latency_bounds_ns = {
    50'000,      100'000,     200'000,       500'000,       1'000'000,     2'000'000,
    5'000'000,   10'000'000,  20'000'000,    50'000'000,    100'000'000,   200'000'000,
    500'000'000, 1'000'000'000, 2'000'000'000, 5'000'000'000, 10'000'000'000};
// 1-2-5 series from 1 to 10,000 keys per batch.
inline constexpr std::array<std::uint64_t, 13> batch_bounds = {1,   2,    5,    10,   20,   50,   100,
                                                               200, 500, 1000, 2000, 5000, 10000};

// One operation's counters, on cache lines of its own so threads calling
// different operations do not contend.
struct alignas(64) OperationCounters {
    FixedHistogram<latency_bounds_ns> duration;  // every call, failed or not; its count is the calls
    FixedHistogram<batch_bounds> batch;          // batch operations only
    std::array<std::atomic<std::uint64_t>, error_kind_count + 1> errors{};  // last: other
    std::atomic<std::uint64_t> bytes{0};  // values read (fetches) or written (stores)
};

inline void add_relaxed(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
}

inline std::uint64_t value_bytes(const std::vector<std::optional<Record>>& got) noexcept {
    std::uint64_t n = 0;
    for (const auto& r : got)
        if (r) n += r->value.size();
    return n;
}

}  // namespace detail

// What one operation of an instrumented tier counted, as plain figures.
struct OperationFigures {
    TierOperation operation{};
    std::uint64_t calls = 0;
    std::array<std::uint64_t, error_kind_count + 1> errors{};  // by ErrorKind, last: other
    HistogramFigures duration_seconds;
    std::optional<HistogramFigures> batch_size;  // batch operations only
    std::uint64_t bytes_read = 0;                // values of the records returned
    std::uint64_t bytes_written = 0;             // values of the records stored

    std::uint64_t errors_of(ErrorKind kind) const noexcept { return errors[static_cast<std::size_t>(kind)]; }
    std::uint64_t other_errors() const noexcept { return errors[error_kind_count]; }
    std::uint64_t error_total() const noexcept {
        std::uint64_t n = 0;
        for (auto e : errors) n += e;
        return n;
    }
};

// An instrumented tier's figures: one entry per operation the tier answers,
// in TierOperation order.
struct TierFigures {
    std::string tier;
    std::vector<OperationFigures> operations;

    // Throws std::invalid_argument for an operation the tier does not answer.
    const OperationFigures& operator[](TierOperation op) const {
        for (const auto& o : operations)
            if (o.operation == op) return o;
        throw std::invalid_argument("strata: tier '" + tier + "' does not answer " + std::string(to_string(op)));
    }
    std::uint64_t bytes_read() const noexcept {
        std::uint64_t n = 0;
        for (const auto& o : operations) n += o.bytes_read;
        return n;
    }
    std::uint64_t bytes_written() const noexcept {
        std::uint64_t n = 0;
        for (const auto& o : operations) n += o.bytes_written;
        return n;
    }
};

// A tier that forwards every call to tier T and counts it: calls, failures by
// kind (rethrown unchanged), latency, batch sizes, value bytes read and
// written. Same temperature, durability and name as T, and each optional
// capability exactly when T has it. Counting is a few relaxed atomic adds per
// call on counters kept behind a pointer, so the tier stays movable (a
// moved-from Instrumented may only be destroyed or assigned to).
template <Tier T>
class Instrumented {
public:
    static constexpr Temperature temperature = T::temperature;
    static constexpr bool durable = T::durable;

    explicit Instrumented(T tier) : tier_(std::move(tier)), counters_(std::make_unique<Counters>()) {}

    T& inner() noexcept { return tier_; }
    const T& inner() const noexcept { return tier_; }

    std::string_view name() const { return tier_.name(); }

    std::optional<Record> fetch(std::string_view key) {
        auto got = measured(TierOperation::fetch, [&] { return tier_.fetch(key); });
        if (got) count_bytes(TierOperation::fetch, got->value.size());
        return got;
    }
    void store(std::string_view key, const Record& record) {
        measured(TierOperation::store, [&] { tier_.store(key, record); });
        count_bytes(TierOperation::store, record.value.size());
    }
    bool erase(std::string_view key) {
        return measured(TierOperation::erase, [&] { return static_cast<bool>(tier_.erase(key)); });
    }
    std::vector<std::string> keys(std::string_view glob) {
        return measured(TierOperation::keys, [&] { return tier_.keys(glob); });
    }
    std::vector<std::optional<Record>> fetch_many(std::span<const std::string> keys) {
        auto got = measured_batch(TierOperation::fetch_many, keys.size(), [&] { return tier_.fetch_many(keys); });
        count_bytes(TierOperation::fetch_many, detail::value_bytes(got));
        return got;
    }
    void store_many(std::span<const Entry> entries) {
        measured_batch(TierOperation::store_many, entries.size(), [&] { tier_.store_many(entries); });
        std::uint64_t n = 0;
        for (const auto& e : entries) n += e.record.value.size();
        count_bytes(TierOperation::store_many, n);
    }
    std::size_t erase_many(std::span<const std::string> keys) {
        return measured_batch(TierOperation::erase_many, keys.size(),
                              [&] { return static_cast<std::size_t>(tier_.erase_many(keys)); });
    }
    TierStats stats() {
        return measured(TierOperation::stats, [&] { return tier_.stats(); });
    }
    bool ping() {
        return measured(TierOperation::ping, [&] { return static_cast<bool>(tier_.ping()); });
    }

    std::vector<std::optional<Record>> peek_many(std::span<const std::string> keys)
        requires HasPeekMany<T>
    {
        auto got = measured_batch(TierOperation::peek_many, keys.size(), [&] { return tier_.peek_many(keys); });
        count_bytes(TierOperation::peek_many, detail::value_bytes(got));
        return got;
    }
    std::vector<std::string> idle_keys(std::chrono::milliseconds age)
        requires HasIdleKeys<T>
    {
        return measured(TierOperation::idle_keys, [&] { return tier_.idle_keys(age); });
    }
    std::size_t sweep_expired()
        requires HasSweepExpired<T>
    {
        return measured(TierOperation::sweep_expired, [&] { return static_cast<std::size_t>(tier_.sweep_expired()); });
    }
    std::vector<std::string> changed_since(std::uint64_t version)
        requires HasChangedSince<T>
    {
        return measured(TierOperation::changed_since, [&] { return tier_.changed_since(version); });
    }

    // What was counted so far. Taken while calls go on, each figure is exact
    // for some moment, but two figures need not be for the same moment.
    TierFigures figures() const {
        TierFigures out{std::string(tier_.name()), {}};
        for (std::size_t i = 0; i < tier_operation_count; ++i) {
            const auto op = static_cast<TierOperation>(i);
            if (!tier_answers<T>(op)) continue;
            const auto& c = counters_->of[i];
            OperationFigures f;
            f.operation = op;
            f.duration_seconds = c.duration.figures(1e9);
            f.calls = f.duration_seconds.count;
            for (std::size_t k = 0; k < f.errors.size(); ++k) f.errors[k] = c.errors[k].load(std::memory_order_relaxed);
            if (is_batch_operation(op)) f.batch_size = c.batch.figures();
            const auto bytes = c.bytes.load(std::memory_order_relaxed);
            (reads_values(op) ? f.bytes_read : f.bytes_written) = bytes;
            out.operations.push_back(std::move(f));
        }
        return out;
    }

private:
    struct Counters {
        std::array<detail::OperationCounters, tier_operation_count> of;
    };

    static constexpr bool reads_values(TierOperation op) noexcept {
        return op != TierOperation::store && op != TierOperation::store_many;
    }

    void count_bytes(TierOperation op, std::uint64_t n) noexcept {
        detail::add_relaxed(counters_->of[static_cast<std::size_t>(op)].bytes, n);
    }

    template <class F>
    decltype(auto) measured_batch(TierOperation op, std::size_t size, F&& call) {
        counters_->of[static_cast<std::size_t>(op)].batch.observe(size);
        return measured(op, std::forward<F>(call));
    }

    // Runs `call`, recording its duration whether it returns or throws, and
    // the kind of what it throws, which goes on unchanged.
    template <class F>
    decltype(auto) measured(TierOperation op, F&& call) {
        auto& c = counters_->of[static_cast<std::size_t>(op)];
        const struct Timer {
            detail::OperationCounters& c;
            std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
            ~Timer() {
                const auto took = std::chrono::steady_clock::now() - start;
                c.duration.observe(static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
            }
        } timer{c};
        try {
            return call();
        } catch (const Error& e) {
            detail::add_relaxed(c.errors[static_cast<std::size_t>(e.kind())], 1);
            throw;
        } catch (...) {
            detail::add_relaxed(c.errors[error_kind_count], 1);
            throw;
        }
    }

    T tier_;
    std::unique_ptr<Counters> counters_;
};

// The tier's figures under strata_tier_* families, labelled with its name.
// Every ErrorKind (and "other") is listed for every operation, zero or not,
// so a rate over errors starts from the first scrape.
template <class T>
void collect_metrics(const Instrumented<T>& tier, MetricFamilies& out) {
    const TierFigures f = tier.figures();
    const auto labels = [&](TierOperation op) {
        return std::vector<MetricLabel>{{"tier", f.tier}, {"operation", std::string(to_string(op))}};
    };
    for (const auto& o : f.operations)
        out.add("strata_tier_operations_total", "Calls answered by a tier, failed ones included.",
                MetricType::counter, labels(o.operation), static_cast<double>(o.calls));
    for (const auto& o : f.operations)
        for (std::size_t k = 0; k < o.errors.size(); ++k) {
            auto l = labels(o.operation);
            l.push_back({"kind", std::string(error_kind_label(k))});
            out.add("strata_tier_errors_total",
                    "Calls to a tier that failed, by strata::ErrorKind (other: not a strata::Error).",
                    MetricType::counter, std::move(l), static_cast<double>(o.errors[k]));
        }
    for (const auto& o : f.operations)
        out.add_histogram("strata_tier_operation_duration_seconds", "Time a tier took to answer a call.",
                          labels(o.operation), o.duration_seconds.buckets, o.duration_seconds.count,
                          o.duration_seconds.sum);
    for (const auto& o : f.operations)
        if (o.batch_size)
            out.add_histogram("strata_tier_batch_size", "Keys or entries per batch call to a tier.",
                              labels(o.operation), o.batch_size->buckets, o.batch_size->count, o.batch_size->sum);
    out.add("strata_tier_read_bytes_total", "Bytes of record values a tier returned.", MetricType::counter,
            {{"tier", f.tier}}, static_cast<double>(f.bytes_read()));
    out.add("strata_tier_written_bytes_total", "Bytes of record values a tier stored.", MetricType::counter,
            {{"tier", f.tier}}, static_cast<double>(f.bytes_written()));
}

}  // namespace strata
