// A trading service's positions and orders kept by strata over a MemoryTier
// (hot) and a FileTier (warm, durable). No server needed. Each step prints
// what happened and where the data lives.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include <strata/strata.hpp>

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

auto open_manager(const std::filesystem::path& dir) {
    return strata::StateManager{strata::LruCache{10'000},
                                strata::AccessCountPromotion{2, std::chrono::minutes{5}},
                                strata::MemoryTier{},       // hot
                                strata::FileTier{dir}};     // warm, durable
}

template <class Manager>
void where_is(Manager& mgr, const std::string& key) {
    const bool hot = mgr.template tier<strata::MemoryTier>().fetch(key).has_value();
    const bool warm = mgr.template tier<strata::FileTier>().fetch(key).has_value();
    std::printf("    %-22s hot:%-3s warm:%s\n", key.c_str(), hot ? "yes" : "no", warm ? "yes" : "no");
}

}  // namespace

int main() {
    const auto dir = std::filesystem::temp_directory_path() / "strata-quickstart";
    std::filesystem::remove_all(dir);

    {
        auto mgr = open_manager(dir);
        std::puts("1. Orders arrive: each set() lands in the hot tier and, before it returns, in the durable one.");
        const std::vector<json> orders = {
            {{"id", 1001}, {"symbol", "AAPL"}, {"side", "buy"}, {"qty", 100}, {"price", 189.5}, {"status", "filled"}},
            {{"id", 1002}, {"symbol", "MSFT"}, {"side", "buy"}, {"qty", 50}, {"price", 411.2}, {"status", "open"}},
            {{"id", 1003}, {"symbol", "AAPL"}, {"side", "sell"}, {"qty", 40}, {"price", 191.0}, {"status", "filled"}},
        };
        for (const auto& o : orders) mgr.set("order:" + std::to_string(o["id"].get<int>()), o.dump());
        where_is(mgr, "order:1001");

        std::puts("2. Positions follow from the filled orders.");
        json aapl = {{"symbol", "AAPL"}, {"qty", 0}};
        for (const auto& o : orders)
            if (o["symbol"] == "AAPL" && o["status"] == "filled")
                aapl["qty"] = aapl["qty"].get<int>() + (o["side"] == "buy" ? 1 : -1) * o["qty"].get<int>();
        mgr.set("position:AAPL", aapl.dump());
        std::printf("    position:AAPL = %s\n", mgr.get("position:AAPL")->c_str());

        std::puts("3. A batch read: one call per tier for whatever the cache lacks.");
        const std::vector<std::string> ids = {"order:1001", "order:1002", "order:9999"};
        const auto found = mgr.get_many(ids);
        for (std::size_t i = 0; i < ids.size(); ++i)
            std::printf("    %-12s %s\n", ids[i].c_str(), found[i] ? found[i]->c_str() : "(absent)");

        std::puts("4. Listing by Redis-style glob, sorted, across tiers.");
        for (const auto& key : mgr.keys("order:100[1-2]")) std::printf("    %s\n", key.c_str());

        std::puts("5. A session with a TTL is gone when it expires, from every tier.");
        mgr.set("session:alice", R"({"user":"alice"})", strata::SetOptions{100ms});
        std::printf("    now:   %s\n", mgr.get("session:alice").value_or("(absent)").c_str());
        std::this_thread::sleep_for(150ms);
        std::printf("    later: %s\n", mgr.get("session:alice").value_or("(absent)").c_str());

        std::puts("6. A filled order is demoted to the warm tier; two reads that reach the tiers promote it back.");
        mgr.demote("order:1001", strata::warm);
        where_is(mgr, "order:1001");
        for (int read = 0; read < 2; ++read) {
            mgr.invalidate_cache();  // cache hits never reach the tiers, so they are not counted
            mgr.get("order:1001");
        }
        where_is(mgr, "order:1001");

        std::puts("7. A corrupted hot copy is never returned: it is skipped and repaired.");
        auto copy = *mgr.tier<strata::MemoryTier>().fetch("order:1002");
        copy.value[10] ^= 0x20;  // a flipped bit; the checksum no longer matches
        mgr.tier<strata::MemoryTier>().store("order:1002", copy);
        mgr.invalidate_cache();
        std::printf("    read:  %s\n", mgr.get("order:1002")->c_str());
        const auto health = mgr.health();
        std::printf("    hot tier: %llu corrupt copy seen, %llu repaired\n",
                    static_cast<unsigned long long>(health[0].corrupt),
                    static_cast<unsigned long long>(health[0].repairs));
    }

    std::puts("8. The process restarts: the hot tier is empty, the durable tier has everything.");
    {
        auto mgr = open_manager(dir);
        for (const auto& key : mgr.keys("*"))
            std::printf("    %-16s %s\n", key.c_str(), mgr.get(key)->c_str());
    }
    std::filesystem::remove_all(dir);
    return 0;
}
