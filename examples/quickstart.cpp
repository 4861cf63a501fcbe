// A trading service's positions and orders kept by strata over a MemoryTier
// (hot) and a FileTier (warm, durable). No server needed. Each step prints
// what happened and where the data lives.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <strata/json.hpp>
#include <strata/strata.hpp>

using namespace std::chrono_literals;

namespace trading {

// Stored as JSON text through strata/json.hpp: these macros give nlohmann
// the to_json/from_json it needs.
struct Order {
    int id = 0;
    std::string symbol, side;
    int qty = 0;
    double price = 0;
    std::string status;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Order, id, symbol, side, qty, price, status)

struct Position {
    std::string symbol;
    int qty = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Position, symbol, qty)

}  // namespace trading

namespace {

using trading::Order;
using trading::Position;

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
        const std::vector<Order> orders = {
            {1001, "AAPL", "buy", 100, 189.5, "filled"},
            {1002, "MSFT", "buy", 50, 411.2, "open"},
            {1003, "AAPL", "sell", 40, 191.0, "filled"},
        };
        for (const auto& o : orders) strata::set_json(mgr, "order:" + std::to_string(o.id), o);  // stored as JSON text
        where_is(mgr, "order:1001");

        std::puts("2. Positions follow from the filled orders.");
        Position aapl{"AAPL", 0};
        for (const auto& o : orders)
            if (o.symbol == "AAPL" && o.status == "filled") aapl.qty += (o.side == "buy" ? 1 : -1) * o.qty;
        strata::set_json(mgr, "position:AAPL", aapl);
        std::printf("    position:AAPL = %s, read back as qty %d\n", mgr.get("position:AAPL")->c_str(),
                    strata::get_json<Position>(mgr, "position:AAPL")->qty);

        std::puts("3. A batch read: one call per tier for whatever the cache lacks.");
        const std::vector<std::string> ids = {"order:1001", "order:1002", "order:9999"};
        const auto found = strata::get_json_many<Order>(mgr, ids);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (found[i])
                std::printf("    %-12s %s %d %s @ %.2f, %s\n", ids[i].c_str(), found[i]->side.c_str(), found[i]->qty,
                            found[i]->symbol.c_str(), found[i]->price, found[i]->status.c_str());
            else
                std::printf("    %-12s (absent)\n", ids[i].c_str());
        }

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
