// strata::Instrumented over the real MemoryTier and FileTier, over a tier
// that fails on demand (Switchable), and under a StateManager.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <strata/cache/lru_cache.hpp>
#include <strata/manager/state_manager.hpp>
#include <strata/metrics/instrumented.hpp>
#include <strata/promotion/never_promote.hpp>
#include <strata/tiers/file.hpp>
#include <strata/tiers/memory.hpp>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::ErrorKind;
using strata::Instrumented;
using strata::TierFigures;
using strata::TierOperation;
using strata::testing::Switchable;
using strata::testing::TempDir;

namespace {

// A tier with the Tier calls and no optional capability, to show that
// Instrumented adds none of its own.
class BareTier {
public:
    static constexpr strata::Temperature temperature = strata::Temperature::warm;
    static constexpr bool durable = true;

    std::string_view name() const { return tier_.name(); }
    std::optional<strata::Record> fetch(std::string_view k) { return tier_.fetch(k); }
    void store(std::string_view k, const strata::Record& r) { tier_.store(k, r); }
    bool erase(std::string_view k) { return tier_.erase(k); }
    std::vector<std::string> keys(std::string_view g) { return tier_.keys(g); }
    std::vector<std::optional<strata::Record>> fetch_many(std::span<const std::string> k) {
        return tier_.fetch_many(k);
    }
    void store_many(std::span<const strata::Entry> e) { tier_.store_many(e); }
    std::size_t erase_many(std::span<const std::string> k) { return tier_.erase_many(k); }
    strata::TierStats stats() { return tier_.stats(); }
    bool ping() { return tier_.ping(); }

private:
    strata::MemoryTier tier_;
};

using InstrumentedMemory = Instrumented<strata::MemoryTier>;
using InstrumentedFile = Instrumented<strata::FileTier>;
using InstrumentedBare = Instrumented<BareTier>;

static_assert(strata::check_tier<InstrumentedMemory>());
static_assert(strata::check_tier<InstrumentedFile>());
static_assert(strata::check_tier<InstrumentedBare>());
static_assert(strata::check_capabilities<InstrumentedMemory>());
static_assert(!std::is_polymorphic_v<InstrumentedMemory>);
static_assert(std::is_nothrow_move_constructible_v<Instrumented<BareTier>>);
static_assert(InstrumentedFile::temperature == strata::FileTier::temperature);
static_assert(InstrumentedFile::durable == strata::FileTier::durable);
static_assert(InstrumentedMemory::temperature == strata::MemoryTier::temperature);
static_assert(InstrumentedMemory::durable == strata::MemoryTier::durable);
static_assert(strata::MetricSource<InstrumentedMemory>);

// Each capability forwarded exactly when the wrapped tier has it.
template <class T>
constexpr bool forwards_exactly() {
    using I = Instrumented<T>;
    return strata::HasPeekMany<I> == strata::HasPeekMany<T> && strata::HasIdleKeys<I> == strata::HasIdleKeys<T> &&
           strata::HasSweepExpired<I> == strata::HasSweepExpired<T> &&
           strata::HasChangedSince<I> == strata::HasChangedSince<T>;
}
static_assert(forwards_exactly<strata::MemoryTier>());
static_assert(forwards_exactly<strata::FileTier>());
static_assert(forwards_exactly<BareTier>());
static_assert(strata::HasPeekMany<InstrumentedMemory> && strata::HasIdleKeys<InstrumentedMemory> &&
              strata::HasSweepExpired<InstrumentedMemory> && strata::HasChangedSince<InstrumentedMemory>);
static_assert(!strata::HasPeekMany<InstrumentedBare> && !strata::HasIdleKeys<InstrumentedBare> &&
              !strata::HasSweepExpired<InstrumentedBare> && !strata::HasChangedSince<InstrumentedBare>);

strata::Record record_of(std::string value, std::uint64_t version = 1) {
    return strata::make_record(std::move(value), version);
}

std::vector<std::string> numbered_keys(std::size_t n, std::string_view prefix = "k") {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < n; ++i) keys.push_back(std::string(prefix) + std::to_string(i));
    return keys;
}

// Bucket bounds with their cumulative counts, to compare whole histograms.
std::vector<std::pair<double, std::uint64_t>> cumulative(const strata::HistogramFigures& h) {
    std::vector<std::pair<double, std::uint64_t>> out;
    for (const auto& b : h.buckets) out.emplace_back(b.upper_bound, b.cumulative_count);
    return out;
}

// What must hold of any histogram: cumulative counts never fall, the last
// listed bucket holds no more than the count (+Inf), sum within the bounds
// the counts allow.
void expect_consistent(const strata::HistogramFigures& h) {
    ASSERT_FALSE(h.buckets.empty());
    for (std::size_t i = 1; i < h.buckets.size(); ++i) {
        EXPECT_LT(h.buckets[i - 1].upper_bound, h.buckets[i].upper_bound);
        EXPECT_LE(h.buckets[i - 1].cumulative_count, h.buckets[i].cumulative_count);
    }
    EXPECT_LE(h.buckets.back().cumulative_count, h.count);
    double lower = 0, upper = 0;  // the least and most the sum can be
    std::uint64_t below = 0;
    double previous_bound = 0;
    for (const auto& b : h.buckets) {
        const auto in_bucket = static_cast<double>(b.cumulative_count - below);
        lower += in_bucket * previous_bound;
        upper += in_bucket * b.upper_bound;
        below = b.cumulative_count;
        previous_bound = b.upper_bound;
    }
    lower += static_cast<double>(h.count - below) * previous_bound;
    EXPECT_GE(h.sum, lower * (1 - 1e-12));
    if (h.count == below) {
        EXPECT_LE(h.sum, upper * (1 + 1e-12));
    }
    EXPECT_EQ(h.count == 0, h.sum == 0);
}

std::uint64_t total_calls(const TierFigures& f) {
    std::uint64_t n = 0;
    for (const auto& o : f.operations) n += o.calls;
    return n;
}

// ---- the histogram on its own -------------------------------------------

TEST(FixedHistogram, BucketsAreTheOneTwoFiveSeriesFromFiftyMicrosecondsToTenSeconds) {
    const strata::detail::FixedHistogram<strata::detail::latency_bounds_ns> h;
    std::vector<double> bounds;
    for (const auto& b : h.figures(1e9).buckets) bounds.push_back(b.upper_bound);
    EXPECT_EQ(bounds, (std::vector<double>{50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 0.1,
                                           0.2, 0.5, 1, 2, 5, 10}));
}

TEST(FixedHistogram, AnObservationOnABoundCountsInThatBucketAndPastTheLastOnlyInTheCount) {
    strata::detail::FixedHistogram<strata::detail::batch_bounds> h;
    for (std::uint64_t v : {0, 1, 2, 3, 5, 6, 10'000, 10'001, 50'000}) h.observe(v);
    const auto f = h.figures();
    EXPECT_EQ(cumulative(f), (std::vector<std::pair<double, std::uint64_t>>{{1, 2},
                                                                            {2, 3},
                                                                            {5, 5},
                                                                            {10, 6},
                                                                            {20, 6},
                                                                            {50, 6},
                                                                            {100, 6},
                                                                            {200, 6},
                                                                            {500, 6},
                                                                            {1000, 6},
                                                                            {2000, 6},
                                                                            {5000, 6},
                                                                            {10000, 7}}));
    EXPECT_EQ(f.count, 9u);
    EXPECT_EQ(f.sum, 0 + 1 + 2 + 3 + 5 + 6 + 10'000 + 10'001 + 50'000);
    expect_consistent(f);
}

// ---- every operation counted, over the real tiers --------------------------

struct MemoryTierMaker {
    static strata::MemoryTier make(const TempDir&) { return strata::MemoryTier{}; }
};
struct FileTierMaker {
    static strata::FileTier make(const TempDir& dir) { return strata::FileTier{dir.path}; }
};

template <class Maker>
class InstrumentedTierTest : public ::testing::Test {
protected:
    TempDir dir{"strata-instrumented"};
    Instrumented<decltype(Maker::make(dir))> tier{Maker::make(dir)};
};

using Makers = ::testing::Types<MemoryTierMaker, FileTierMaker>;
TYPED_TEST_SUITE(InstrumentedTierTest, Makers);

TYPED_TEST(InstrumentedTierTest, CountsEachCallOfEachOperationAndTheValueBytes) {
    auto& t = this->tier;
    t.store("a", record_of("12345"));         // 5 bytes written
    t.store("b", record_of("1234567890"));    // 10
    ASSERT_TRUE(t.fetch("a"));                // 5 read
    EXPECT_FALSE(t.fetch("missing"));         // nothing read
    const std::vector<strata::Entry> entries{{"c", record_of("xyz")}, {"d", record_of("")}, {"e", record_of("4444")}};
    t.store_many(entries);  // 7 written
    const std::vector<std::string> wanted{"a", "b", "c", "missing"};
    EXPECT_EQ(t.fetch_many(wanted).size(), 4u);  // 5 + 10 + 3 read
    EXPECT_EQ(t.peek_many(std::span(wanted).first(2)).size(), 2u);  // 15 read
    EXPECT_EQ(t.keys("*").size(), 5u);
    EXPECT_TRUE(t.erase("e"));
    const std::vector<std::string> gone{"c", "d", "missing"};
    EXPECT_EQ(t.erase_many(gone), 2u);
    EXPECT_EQ(t.stats().keys, 2u);
    EXPECT_TRUE(t.ping());
    EXPECT_TRUE(t.ping());
    EXPECT_EQ(t.changed_since(0).size(), 2u);
    EXPECT_EQ(t.idle_keys(1h).size(), 0u);
    EXPECT_EQ(t.sweep_expired(), 0u);

    const TierFigures f = t.figures();
    EXPECT_EQ(f.tier, std::string(t.name()));
    EXPECT_EQ(f.operations.size(), strata::tier_operation_count);  // both tiers have every capability
    const std::vector<std::pair<TierOperation, std::uint64_t>> calls{
        {TierOperation::fetch, 2},         {TierOperation::store, 2},     {TierOperation::erase, 1},
        {TierOperation::keys, 1},          {TierOperation::fetch_many, 1}, {TierOperation::store_many, 1},
        {TierOperation::erase_many, 1},    {TierOperation::stats, 1},     {TierOperation::ping, 2},
        {TierOperation::peek_many, 1},     {TierOperation::idle_keys, 1}, {TierOperation::sweep_expired, 1},
        {TierOperation::changed_since, 1}};
    for (const auto& [op, n] : calls) {
        SCOPED_TRACE(std::string(to_string(op)));
        EXPECT_EQ(f[op].calls, n);
        EXPECT_EQ(f[op].error_total(), 0u);
        EXPECT_EQ(f[op].duration_seconds.count, n);
        expect_consistent(f[op].duration_seconds);
        EXPECT_EQ(f[op].batch_size.has_value(), strata::is_batch_operation(op));
    }
    EXPECT_EQ(f[TierOperation::fetch].bytes_read, 5u);
    EXPECT_EQ(f[TierOperation::fetch_many].bytes_read, 18u);
    EXPECT_EQ(f[TierOperation::peek_many].bytes_read, 15u);
    EXPECT_EQ(f[TierOperation::store].bytes_written, 15u);
    EXPECT_EQ(f[TierOperation::store_many].bytes_written, 7u);
    EXPECT_EQ(f.bytes_read(), 38u);
    EXPECT_EQ(f.bytes_written(), 22u);
    EXPECT_EQ(f[TierOperation::fetch_many].batch_size->sum, 4);
    EXPECT_EQ(f[TierOperation::store_many].batch_size->sum, 3);
    EXPECT_EQ(f[TierOperation::erase_many].batch_size->sum, 3);
    EXPECT_EQ(f[TierOperation::peek_many].batch_size->sum, 2);
}

TYPED_TEST(InstrumentedTierTest, BatchSizesFallInTheirBuckets) {
    auto& t = this->tier;
    for (std::size_t n : {1, 2, 3, 1000, 1001}) t.fetch_many(numbered_keys(n));
    const auto batch = *t.figures()[TierOperation::fetch_many].batch_size;
    EXPECT_EQ(cumulative(batch), (std::vector<std::pair<double, std::uint64_t>>{{1, 1},
                                                                                {2, 2},
                                                                                {5, 3},
                                                                                {10, 3},
                                                                                {20, 3},
                                                                                {50, 3},
                                                                                {100, 3},
                                                                                {200, 3},
                                                                                {500, 3},
                                                                                {1000, 4},
                                                                                {2000, 5},
                                                                                {5000, 5},
                                                                                {10000, 5}}));
    EXPECT_EQ(batch.count, 5u);
    EXPECT_EQ(batch.sum, 1 + 2 + 3 + 1000 + 1001);
}

TYPED_TEST(InstrumentedTierTest, ForwardsToTheTierItWraps) {
    auto& t = this->tier;
    t.store("k", record_of("value", 7));
    const auto got = t.inner().fetch("k");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->value, "value");
    EXPECT_EQ(got->version, 7u);
    EXPECT_EQ(t.figures()[TierOperation::fetch].calls, 0u);  // the inner tier's calls are not counted
}

TYPED_TEST(InstrumentedTierTest, MovingKeepsTheCounts) {
    this->tier.store("k", record_of("v"));
    auto moved = std::move(this->tier);
    moved.store("k", record_of("w", 2));
    EXPECT_EQ(moved.figures()[TierOperation::store].calls, 2u);
}

// ---- failures ------------------------------------------------------------

using Failing = Instrumented<Switchable<strata::MemoryTier>>;
static_assert(forwards_exactly<Switchable<strata::MemoryTier>>());

TEST(InstrumentedFailures, EachStrataErrorCountsUnderItsKindAndReachesTheCallerUnchanged) {
    Failing t{Switchable<strata::MemoryTier>{strata::MemoryTier{}}};
    const std::vector<ErrorKind> kinds{ErrorKind::unavailable, ErrorKind::timeout, ErrorKind::timeout,
                                       ErrorKind::conflict, ErrorKind::invalid};
    for (auto kind : kinds) {
        t.inner().switches().before = [kind](std::string_view op) {
            throw strata::Error(kind, "memory", std::string(op), "thrown by the test");
        };
        try {
            t.store("k", record_of("never stored"));
            ADD_FAILURE() << "store did not throw";
        } catch (const strata::Error& e) {
            EXPECT_EQ(e.kind(), kind);
            EXPECT_EQ(e.operation(), "store");
            EXPECT_EQ(e.tier(), "memory");
            EXPECT_EQ(std::string(e.what()),
                      "strata: memory store failed (" + std::string(to_string(kind)) + "): thrown by the test");
        }
    }
    t.inner().switches().before = nullptr;
    t.store("k", record_of("stored"));

    const auto store = t.figures()[TierOperation::store];
    EXPECT_EQ(store.calls, 6u);
    EXPECT_EQ(store.errors_of(ErrorKind::unavailable), 1u);
    EXPECT_EQ(store.errors_of(ErrorKind::timeout), 2u);
    EXPECT_EQ(store.errors_of(ErrorKind::conflict), 1u);
    EXPECT_EQ(store.errors_of(ErrorKind::invalid), 1u);
    EXPECT_EQ(store.errors_of(ErrorKind::corrupt), 0u);
    EXPECT_EQ(store.other_errors(), 0u);
    EXPECT_EQ(store.error_total(), 5u);
    EXPECT_EQ(store.bytes_written, 6u);  // only the store that took effect
    EXPECT_EQ(store.duration_seconds.count, 6u);  // failed calls are timed too
    EXPECT_EQ(t.inner().inner().fetch("k")->value, "stored");
}

TEST(InstrumentedFailures, AnythingElseThrownCountsAsOtherAndIsRethrownAsItWas) {
    Failing t{Switchable<strata::MemoryTier>{strata::MemoryTier{}}};
    t.inner().switches().before = [](std::string_view op) {
        if (op == "fetch_many") throw std::out_of_range("not a strata error");
        if (op == "keys") throw 42;
    };
    const std::vector<std::string> keys{"a", "b"};
    EXPECT_THROW(
        {
            try {
                t.fetch_many(keys);
            } catch (const std::out_of_range& e) {
                EXPECT_STREQ(e.what(), "not a strata error");
                throw;
            }
        },
        std::out_of_range);
    EXPECT_THROW(t.keys("*"), int);
    const auto f = t.figures();
    EXPECT_EQ(f[TierOperation::fetch_many].other_errors(), 1u);
    EXPECT_EQ(f[TierOperation::fetch_many].error_total(), 1u);
    EXPECT_EQ(f[TierOperation::fetch_many].batch_size->count, 1u);  // the batch was attempted
    EXPECT_EQ(f[TierOperation::fetch_many].bytes_read, 0u);
    EXPECT_EQ(f[TierOperation::keys].other_errors(), 1u);
    EXPECT_EQ(f[TierOperation::keys].calls, 1u);
}

TEST(InstrumentedFailures, ADownTierCountsUnavailableOnEveryOperationTried) {
    Failing t{Switchable<strata::MemoryTier>{strata::MemoryTier{}}};
    t.inner().switches().down = true;
    const std::vector<std::string> keys{"a"};
    EXPECT_THROW(t.fetch("a"), strata::Error);
    EXPECT_THROW(t.fetch_many(keys), strata::Error);
    EXPECT_THROW(t.erase_many(keys), strata::Error);
    EXPECT_THROW(t.changed_since(0), strata::Error);
    EXPECT_FALSE(t.ping());  // Switchable answers ping with false, not an error
    const auto f = t.figures();
    for (auto op : {TierOperation::fetch, TierOperation::fetch_many, TierOperation::erase_many,
                    TierOperation::changed_since}) {
        EXPECT_EQ(f[op].errors_of(ErrorKind::unavailable), 1u) << to_string(op);
        EXPECT_EQ(f[op].calls, 1u) << to_string(op);
    }
    EXPECT_EQ(f[TierOperation::ping].calls, 1u);
    EXPECT_EQ(f[TierOperation::ping].error_total(), 0u);
}

// ---- a tier without capabilities ------------------------------------------

TEST(InstrumentedCapabilities, FiguresListOnlyTheOperationsTheTierAnswers) {
    InstrumentedBare t{BareTier{}};
    t.store("k", record_of("v"));
    const auto f = t.figures();
    EXPECT_EQ(f.operations.size(), 9u);
    EXPECT_EQ(f[TierOperation::store].calls, 1u);
    EXPECT_THROW(f[TierOperation::peek_many], std::invalid_argument);
    EXPECT_THROW(f[TierOperation::changed_since], std::invalid_argument);

    strata::MetricFamilies families;
    collect_metrics(t, families);
    for (const auto& fam : families.families())
        for (const auto& s : fam.samples)
            for (const auto& l : s.labels)
                if (l.name == "operation") {
                    EXPECT_NE(l.value, "peek_many");
                    EXPECT_NE(l.value, "idle_keys");
                    EXPECT_NE(l.value, "sweep_expired");
                    EXPECT_NE(l.value, "changed_since");
                }
}

// ---- metric families -------------------------------------------------------

const strata::MetricFamily& family(const strata::MetricFamilies& all, std::string_view name) {
    for (const auto& f : all.families())
        if (f.name == name) return f;
    throw std::invalid_argument("no family " + std::string(name));
}

std::string label(const strata::MetricSample& s, std::string_view name) {
    for (const auto& l : s.labels)
        if (l.name == name) return l.value;
    return "(none)";
}

TEST(InstrumentedMetrics, FamiliesCarryTheFiguresUnderTheirFixedNames) {
    Failing t{Switchable<strata::MemoryTier>{strata::MemoryTier{strata::MemoryTierOptions{.name = "hot"}}}};
    t.store("k", record_of("abc"));
    t.fetch("k");
    t.fetch("k");
    t.fetch_many(numbered_keys(7));
    t.inner().switches().before = [](std::string_view) {
        throw strata::Error(ErrorKind::timeout, "hot", "erase", "");
    };
    EXPECT_THROW(t.erase("k"), strata::Error);

    const auto all = strata::collect_all(t);
    const auto& ops = family(all, "strata_tier_operations_total");
    EXPECT_EQ(ops.type, strata::MetricType::counter);
    ASSERT_EQ(ops.samples.size(), strata::tier_operation_count);
    for (const auto& s : ops.samples) {
        EXPECT_EQ(label(s, "tier"), "hot");
        const auto op = label(s, "operation");
        const double expected = op == "fetch" ? 2 : (op == "store" || op == "fetch_many" || op == "erase") ? 1 : 0;
        EXPECT_EQ(s.value, expected) << op;
    }

    const auto& errors = family(all, "strata_tier_errors_total");
    EXPECT_EQ(errors.type, strata::MetricType::counter);
    EXPECT_EQ(errors.samples.size(), strata::tier_operation_count * (strata::error_kind_count + 1));
    double error_sum = 0;
    for (const auto& s : errors.samples) {
        error_sum += s.value;
        if (s.value > 0) {
            EXPECT_EQ(label(s, "operation"), "erase");
            EXPECT_EQ(label(s, "kind"), "timeout");
        }
    }
    EXPECT_EQ(error_sum, 1);
    std::vector<std::string> kinds;
    for (const auto& s : errors.samples)
        if (label(s, "operation") == "fetch") kinds.push_back(label(s, "kind"));
    EXPECT_EQ(kinds, (std::vector<std::string>{"unavailable", "timeout", "corrupt", "rejected", "not_found",
                                               "conflict", "invalid", "other"}));

    const auto& durations = family(all, "strata_tier_operation_duration_seconds");
    EXPECT_EQ(durations.type, strata::MetricType::histogram);
    EXPECT_EQ(durations.samples.size(), strata::tier_operation_count);
    for (const auto& s : durations.samples) {
        EXPECT_EQ(s.buckets.size(), 17u);
        EXPECT_EQ(s.buckets.front().upper_bound, 50e-6);
        EXPECT_EQ(s.buckets.back().upper_bound, 10);
        expect_consistent({s.buckets, s.count, s.sum});
    }

    const auto& batches = family(all, "strata_tier_batch_size");
    EXPECT_EQ(batches.type, strata::MetricType::histogram);
    std::vector<std::string> batch_ops;
    for (const auto& s : batches.samples) batch_ops.push_back(label(s, "operation"));
    EXPECT_EQ(batch_ops, (std::vector<std::string>{"fetch_many", "store_many", "erase_many", "peek_many"}));
    EXPECT_EQ(batches.samples[0].count, 1u);
    EXPECT_EQ(batches.samples[0].sum, 7);

    const auto& read = family(all, "strata_tier_read_bytes_total");
    const auto& written = family(all, "strata_tier_written_bytes_total");
    ASSERT_EQ(read.samples.size(), 1u);
    ASSERT_EQ(written.samples.size(), 1u);
    EXPECT_EQ(read.samples[0].labels, (std::vector<strata::MetricLabel>{{"tier", "hot"}}));
    EXPECT_EQ(read.samples[0].value, 6);
    EXPECT_EQ(written.samples[0].value, 3);
}

// ---- under a manager --------------------------------------------------------

TEST(InstrumentedManager, AManagerOverInstrumentedTiersWorksAndItsFiguresAddUp) {
    TempDir dir{"strata-instrumented-manager"};
    using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, InstrumentedMemory, InstrumentedFile>;
    static_assert(!std::is_polymorphic_v<Manager>);
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, InstrumentedMemory{strata::MemoryTier{}},
                InstrumentedFile{strata::FileTier{dir.path}}};
    auto& hot = mgr.tier<0>();
    auto& warm = mgr.tier<1>();
    const auto before_hot = hot.figures();
    const auto before_warm = warm.figures();

    const auto keys = numbered_keys(50, "order:");
    std::vector<std::pair<std::string, std::string>> pairs;
    std::uint64_t value_bytes = 0;
    for (const auto& k : keys) {
        pairs.emplace_back(k, "value of " + k);
        value_bytes += pairs.back().second.size();
    }
    mgr.set_many(pairs);
    mgr.set("single", "12345");
    mgr.invalidate_cache();
    const auto got = mgr.get_many(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(got[i], pairs[i].second);
    EXPECT_EQ(mgr.get("single"), "12345");
    EXPECT_EQ(mgr.get("single"), "12345");  // from the cache: no tier call
    EXPECT_FALSE(mgr.get("absent"));

    const auto h = hot.figures();
    const auto w = warm.figures();
    const auto added = [](const TierFigures& now, const TierFigures& then, TierOperation op) {
        return now[op].calls - then[op].calls;
    };
    // Both tiers took every write: the batch in one store_many of 50, the single key in one of 1.
    for (const auto* f : {&h, &w}) {
        EXPECT_EQ((*f)[TierOperation::store_many].batch_size->sum, 51);
        EXPECT_EQ((*f)[TierOperation::store_many].bytes_written, value_bytes + 5);
        EXPECT_EQ(f->bytes_written(), value_bytes + 5);
    }
    EXPECT_EQ(added(h, before_hot, TierOperation::store_many), 2u);
    EXPECT_EQ(added(w, before_warm, TierOperation::store_many), 2u);
    // Every read was answered by the hot tier; only the absent key went on to the warm one.
    EXPECT_EQ(h.bytes_read(), value_bytes + 5);
    EXPECT_EQ(w.bytes_read(), 0u);
    const auto reads = [](const TierFigures& f) {
        return f[TierOperation::fetch].calls + f[TierOperation::fetch_many].batch_size->sum;
    };
    EXPECT_EQ(reads(h), 52);  // 50 keys, "single" once, "absent"
    EXPECT_EQ(reads(w), 1);   // "absent"
    for (const auto* f : {&h, &w})
        for (const auto& o : f->operations) {
            EXPECT_EQ(o.error_total(), 0u) << to_string(o.operation);
            EXPECT_EQ(o.duration_seconds.count, o.calls) << to_string(o.operation);
        }

    // The exported families say the same, labelled by tier name.
    const auto all = strata::collect_all(hot, warm);
    double exported_calls = 0;
    for (const auto& s : family(all, "strata_tier_operations_total").samples) exported_calls += s.value;
    EXPECT_EQ(exported_calls, static_cast<double>(total_calls(h) + total_calls(w)));
    const auto& written = family(all, "strata_tier_written_bytes_total").samples;
    ASSERT_EQ(written.size(), 2u);
    EXPECT_EQ(label(written[0], "tier"), "memory");
    EXPECT_EQ(label(written[1], "tier"), "file");
    EXPECT_EQ(written[0].value, static_cast<double>(value_bytes + 5));
    EXPECT_EQ(written[1].value, static_cast<double>(value_bytes + 5));
}

// ---- threads -----------------------------------------------------------------

TEST(InstrumentedThreads, ConcurrentCallsCountExactly) {
    InstrumentedMemory t{strata::MemoryTier{}};
    constexpr std::size_t threads = 4, rounds = 2000;
    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < threads; ++w)
        workers.emplace_back([&t, w] {
            const std::string key = "key" + std::to_string(w);
            const std::vector<std::string> batch{key, "absent", key};
            for (std::size_t i = 0; i < rounds; ++i) {
                t.store(key, record_of("0123456789", i + 1));  // 10 bytes
                t.fetch(key);                                // 10 bytes
                t.fetch_many(batch);                         // 20 bytes
                if (i % 100 == 0) t.keys("*");
            }
        });
    for (auto& w : workers) w.join();
    const auto f = t.figures();
    EXPECT_EQ(f[TierOperation::store].calls, threads * rounds);
    EXPECT_EQ(f[TierOperation::fetch].calls, threads * rounds);
    EXPECT_EQ(f[TierOperation::fetch_many].calls, threads * rounds);
    EXPECT_EQ(f[TierOperation::keys].calls, threads * rounds / 100);
    EXPECT_EQ(f[TierOperation::fetch_many].batch_size->sum, 3.0 * threads * rounds);
    EXPECT_EQ(f[TierOperation::fetch_many].batch_size->buckets[2].cumulative_count, threads * rounds);  // le=5
    EXPECT_EQ(f[TierOperation::fetch_many].batch_size->buckets[1].cumulative_count, 0u);               // le=2
    EXPECT_EQ(f.bytes_written(), 10 * threads * rounds);
    EXPECT_EQ(f.bytes_read(), 30 * threads * rounds);
    for (const auto& o : f.operations) expect_consistent(o.duration_seconds);
}

}  // namespace
