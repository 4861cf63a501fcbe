// expect: strata::Tier: missing: std::vector<std::optional<Record>> fetch_many
#include <strata/strata.hpp>
struct AlmostATier {
    static constexpr auto temperature = strata::Temperature::hot;
    static constexpr bool durable = false;
    std::string_view name() const { return "almost"; }
    std::optional<strata::Record> fetch(std::string_view);
    void store(std::string_view, const strata::Record&);
    bool erase(std::string_view);
    std::vector<std::string> keys(std::string_view);
    void store_many(std::span<const strata::Entry>);
    std::size_t erase_many(std::span<const std::string>);
    strata::TierStats stats();
    bool ping();
};
int main() {
    strata::StateManager mgr{strata::NoCache{}, strata::NeverPromote{}, AlmostATier{}};
}
