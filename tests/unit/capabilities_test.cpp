// The optional tier capabilities (core/capabilities.hpp): which tiers declare
// them, that the Switchable test wrapper forwards exactly those, the
// fallbacks for tiers without them, and StateManager::sweep_expired.
#include <strata/core/capabilities.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <strata/cache/no_cache.hpp>
#include <strata/manager/state_manager.hpp>
#include <strata/promotion/never_promote.hpp>
#include <strata/tiers/file.hpp>
#include <strata/tiers/memory.hpp>

#include "common/temp_dir.hpp"
#include "common/tier_wrappers.hpp"

using namespace std::chrono_literals;
using strata::Clock;
using strata::HasChangedSince;
using strata::HasIdleKeys;
using strata::HasPeekMany;
using strata::HasSweepExpired;
using strata::testing::Switchable;
using strata::testing::TempDir;
using V = std::vector<std::string>;

namespace {

// A tier with the required members only: what a user's minimal tier looks
// like, so the fallbacks have something to run on.
template <class T>
class Plain {
public:
    static constexpr strata::Temperature temperature = T::temperature;
    static constexpr bool durable = T::durable;
    explicit Plain(T t) : tier_(std::move(t)) {}

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
    T tier_;
};

template <class T>
constexpr bool has_all = HasPeekMany<T> && HasIdleKeys<T> && HasSweepExpired<T> && HasChangedSince<T>;
template <class T>
constexpr bool has_none = !HasPeekMany<T> && !HasIdleKeys<T> && !HasSweepExpired<T> && !HasChangedSince<T>;

static_assert(has_all<strata::MemoryTier> && has_all<strata::FileTier>);
static_assert(has_all<Switchable<strata::MemoryTier>> && has_all<Switchable<strata::FileTier>>);
static_assert(strata::Tier<Plain<strata::MemoryTier>> && has_none<Plain<strata::MemoryTier>>);
static_assert(has_none<Switchable<Plain<strata::MemoryTier>>>, "Switchable must not invent a capability");
static_assert(strata::check_capabilities<Switchable<Plain<strata::FileTier>>>());

// A near miss is not the capability: the fallback would run, which is why
// check_capabilities says so at compile time.
struct WrongChangedSince {
    std::vector<std::string> changed_since(std::string);
};
static_assert(!HasChangedSince<WrongChangedSince>);

struct MemoryFactory {
    static strata::MemoryTier make(const TempDir&) { return strata::MemoryTier{}; }
};
struct FileFactory {
    static strata::FileTier make(const TempDir& dir) {
        return strata::FileTier{dir.path / "tier", {.fsync = false, .access_resolution = 0ms}};
    }
};

strata::Record rec(std::string value, std::uint64_t version, std::optional<Clock::time_point> expires = {}) {
    return strata::make_record(std::move(value), version, expires);
}

V sorted(V v) {
    std::sort(v.begin(), v.end());
    return v;
}

template <class Factory>
class CapabilitiesTest : public ::testing::Test {
protected:
    using Inner = decltype(Factory::make(std::declval<const TempDir&>()));
    TempDir dir, other_dir;
    Switchable<Inner> tier{Factory::make(dir)};

    // Versions 1, 3 and 5 live, 7 expired (stored live: FileTier drops a
    // record that is already expired instead of writing it).
    template <class T>
    static void fill(T& t) {
        t.store("one", rec("a", 1));
        t.store("three", rec("b", 3));
        t.store("five", rec("c", 5));
        t.store("seven", rec("d", 7, Clock::now() + 10ms));
        std::this_thread::sleep_for(20ms);
    }
    void fill() { fill(tier); }
};

using Factories = ::testing::Types<MemoryFactory, FileFactory>;
TYPED_TEST_SUITE(CapabilitiesTest, Factories);

TYPED_TEST(CapabilitiesTest, ChangedSinceListsExactlyTheLiveKeysNewerThanTheVersion) {
    this->fill();
    EXPECT_EQ(sorted(this->tier.changed_since(0)), (V{"five", "one", "three"}));
    EXPECT_EQ(sorted(this->tier.changed_since(1)), (V{"five", "three"}));  // strictly newer
    EXPECT_EQ(this->tier.changed_since(3), V{"five"});
    EXPECT_TRUE(this->tier.changed_since(5).empty());  // "seven" is newer but expired
    // The full-scan fallback answers the same over the same records.
    Switchable<Plain<typename TestFixture::Inner>> plain{Plain{TypeParam::make(this->other_dir)}};
    TestFixture::fill(plain);
    for (std::uint64_t v : {0u, 1u, 3u, 5u})
        EXPECT_EQ(sorted(strata::detail::changed_since_or_scan(plain, v)), sorted(this->tier.changed_since(v)))
            << "after version " << v;
}

TYPED_TEST(CapabilitiesTest, PeekManyReadsLikeFetchManyWithoutCountingAsUse) {
    this->fill();
    std::this_thread::sleep_for(30ms);
    const V keys{"three", "absent", "seven", "one"};
    const auto peeked = this->tier.peek_many(keys);
    const V sorted_idle = sorted(this->tier.idle_keys(20ms));
    EXPECT_EQ(sorted_idle, (V{"five", "one", "three"})) << "a peek counted as use";
    const auto fetched = this->tier.fetch_many(keys);
    ASSERT_EQ(peeked.size(), keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        ASSERT_EQ(peeked[i].has_value(), fetched[i].has_value()) << keys[i];
        if (peeked[i]) {
            EXPECT_EQ(peeked[i]->value, fetched[i]->value);
        }
    }
    EXPECT_EQ(this->tier.idle_keys(20ms), V{"five"});  // the fetch did count
}

TYPED_TEST(CapabilitiesTest, EachCapabilityGoesThroughTheWrapper) {
    this->fill();
    EXPECT_EQ(this->tier.sweep_expired(), 1u);
    EXPECT_EQ(this->tier.sweep_expired(), 0u);
    this->tier.switches().down = true;
    const V keys{"one"};
    EXPECT_THROW(this->tier.peek_many(keys), strata::Error);
    EXPECT_THROW(this->tier.idle_keys(0ms), strata::Error);
    EXPECT_THROW(this->tier.sweep_expired(), strata::Error);
    EXPECT_THROW(this->tier.changed_since(0), strata::Error);
}

TEST(Capabilities, PeekOrFetchPeeksWhereItCanAndFetchesElsewhere) {
    Switchable<strata::MemoryTier> peeking{strata::MemoryTier{}};
    Switchable<Plain<strata::MemoryTier>> plain{Plain{strata::MemoryTier{}}};
    peeking.store("k", rec("v", 1));
    plain.store("k", rec("v", 1));
    const V keys{"k"};
    EXPECT_EQ(strata::detail::peek_or_fetch(peeking, keys, "test")[0]->value, "v");
    EXPECT_EQ(strata::detail::peek_or_fetch(plain, keys, "test")[0]->value, "v");
    EXPECT_EQ(peeking.switches().fetch_many_calls, 0);
    EXPECT_EQ(plain.switches().fetch_many_calls, 1);
}

TEST(Capabilities, TheScanFallbackListsUnreadableRecords) {
    TempDir dir;
    strata::FileTier files{dir.path, {.fsync = false}};
    files.store("fine", rec("v", 1));
    files.store("broken", rec("v", 1));
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path))
        if (e.is_regular_file() && e.path().filename().string().find("broken") != std::string::npos)
            std::filesystem::resize_file(e.path(), 10);  // not even a header left
    Plain<strata::FileTier> plain{std::move(files)};
    EXPECT_EQ(strata::detail::changed_since_or_scan(plain, 5), V{"broken"});
}

TEST(Capabilities, ManagerSweepRunsEveryTierThatHasOneAndThrowsTheFirstFailureLast) {
    TempDir dir;
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, Switchable{strata::MemoryTier{}},
                             Plain{strata::MemoryTier{}},  // no sweep_expired: skipped
                             Switchable{strata::FileTier{dir.path, {.fsync = false}}}};
    const auto soon = [] { return Clock::now() + 10ms; };
    const auto expire = [] { std::this_thread::sleep_for(20ms); };
    mgr.tier<0>().store("a", rec("v", 1, soon()));
    mgr.tier<1>().store("b", rec("v", 1, soon()));
    mgr.tier<2>().store("c", rec("v", 1, soon()));
    mgr.tier<2>().store("d", rec("v", 1, soon()));
    mgr.tier<2>().store("live", rec("v", 1));
    expire();
    EXPECT_EQ(mgr.sweep_expired(), 3u);
    EXPECT_EQ(mgr.tier<1>().stats().keys, 1u);  // untouched: it has no sweep
    EXPECT_EQ(mgr.sweep_expired(), 0u);

    mgr.tier<0>().store("a", rec("v", 1, soon()));
    mgr.tier<2>().store("c", rec("v", 1, soon()));
    expire();
    mgr.tier<0>().switches().down = true;
    try {
        mgr.sweep_expired();
        FAIL() << "a failed tier's sweep went unreported";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.operation(), "sweep_expired");
    }
    EXPECT_EQ(mgr.tier<2>().inner().stats().keys, 1u) << "the failure stopped the next tier's sweep";
    EXPECT_EQ(mgr.health()[0].failures, 1u);
    EXPECT_FALSE(mgr.health()[0].last_call_ok);
}

}  // namespace
