// Selections that must compile, and near-misses the concepts must reject.
#include <strata/strata.hpp>

using strata::FileTier;
using strata::MemoryTier;

using Manager = strata::StateManager<strata::LruCache, strata::AccessCountPromotion, MemoryTier, FileTier>;
static_assert(!std::is_polymorphic_v<Manager>);
static_assert(Manager::tier_count == 2);
static_assert(std::is_same_v<decltype(std::declval<Manager&>().tier<MemoryTier>()), MemoryTier&>);
static_assert(std::is_same_v<decltype(std::declval<Manager&>().tier<1>()), FileTier&>);
static_assert(std::is_same_v<decltype(std::declval<Manager&>().tier<strata::temperature_t<strata::Temperature::warm>>()),
                             FileTier&>);
static_assert(std::is_same_v<decltype(std::declval<Manager&>().tiers().select<FileTier, strata::at_t<0>>()),
                             strata::TierSet<FileTier, MemoryTier>>);

// Two tiers of one type are fine when named by index or temperature.
using Twice = strata::StateManager<strata::NoCache, strata::NeverPromote, MemoryTier, MemoryTier, FileTier>;
static_assert(std::is_same_v<decltype(std::declval<Twice&>().tier<1>()), MemoryTier&>);
static_assert(std::is_same_v<decltype(std::declval<Twice&>().tier<strata::temperature_t<strata::Temperature::hot>>()),
                             MemoryTier&>);

// Near-misses: each lacks one thing.
struct NoFetchMany {
    static constexpr auto temperature = strata::Temperature::hot;
    static constexpr bool durable = false;
    std::string_view name() const { return "x"; }
    std::optional<strata::Record> fetch(std::string_view);
    void store(std::string_view, const strata::Record&);
    bool erase(std::string_view);
    std::vector<std::string> keys(std::string_view);
    void store_many(std::span<const strata::Entry>);
    std::size_t erase_many(std::span<const std::string>);
    strata::TierStats stats();
    bool ping();
};
static_assert(!strata::Tier<NoFetchMany>);
struct RuntimeTemperature {
    strata::Temperature temperature = strata::Temperature::hot;  // not a constant: rejected
    bool durable = false;
};
static_assert(!strata::detail::tier_has_temperature<RuntimeTemperature>);
static_assert(!strata::detail::tier_has_durable<RuntimeTemperature>);
static_assert(strata::Tier<MemoryTier> && strata::Tier<FileTier>);
static_assert(strata::CachePolicy<strata::NoCache> && strata::CachePolicy<strata::LruCache> &&
              strata::CachePolicy<strata::TtlCache> && strata::CachePolicy<strata::TinyLfuCache>);
static_assert(strata::PromotionPolicy<strata::NeverPromote> && strata::PromotionPolicy<strata::AlwaysPromote> &&
              strata::PromotionPolicy<strata::AccessCountPromotion>);
static_assert(!strata::CachePolicy<MemoryTier> && !strata::Tier<strata::LruCache>);

int main() {
    strata::StateManager mgr{strata::ManagerOptions{}, strata::TtlCache{8, std::chrono::seconds{1}},
                             strata::NeverPromote{}, MemoryTier{}};
    static_assert(std::is_same_v<decltype(mgr), strata::StateManager<strata::TtlCache, strata::NeverPromote, MemoryTier>>);
    mgr.set("k", "v", strata::hot);
    mgr.set("k", "v", strata::in<MemoryTier>, strata::SetOptions{std::chrono::seconds{5}});
    mgr.set("k", "v", strata::at<0>);
}
