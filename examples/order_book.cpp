// An order book in Redis over PostgreSQL, and a trading-engine crash handled
// end to end. The engine places orders and fills some; a checkpoint captures
// its known-good positions; then the engine dies in the middle of filling
// orders: a position half-written, another updated for an order it never
// marked filled, and orders left open. The program reports the crash to a
// RecoveryOrchestrator, whose handler cancels every open order and puts the
// positions back from the newest checkpoint that verifies, and then checks
// the result. Exits 0 when every check holds, 1 when one fails, and 2 without
// servers to run against. ctest runs it against the Redis and PostgreSQL
// test fixtures (`ctest -R example_order_book`).
#include <chrono>
#include <cstdio>
#include <cstdlib>  // getenv, exit
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>  // runtime_error
#include <string>
#include <utility>  // move, pair
#include <vector>

#include <strata/strata.hpp>
#include <strata/tiers/stacks/redis_postgres.hpp>

using namespace std::chrono_literals;

namespace {

// A value of `order/<id>`: "AAPL buy 100 18950 open" (symbol, side, quantity,
// limit price in cents, status: open, filled or cancelled).
struct Order {
    std::string symbol, side;
    long long qty = 0, price_cents = 0;
    std::string status = "open";
};

std::string encode(const Order& o) {
    return o.symbol + ' ' + o.side + ' ' + std::to_string(o.qty) + ' ' + std::to_string(o.price_cents) + ' ' +
           o.status;
}

std::optional<Order> decode(const std::string& text) {
    std::istringstream in(text);
    Order o;
    if (!(in >> o.symbol >> o.side >> o.qty >> o.price_cents >> o.status)) return std::nullopt;
    return o;
}

// What a fill of `o` does to its symbol's net position.
long long signed_qty(const Order& o) { return o.side == "buy" ? o.qty : -o.qty; }

// A value of `position/<symbol>` is the net quantity held, in decimal.
std::optional<long long> parse_position(const std::string& text) {
    std::size_t used = 0;
    try {
        const long long qty = std::stoll(text, &used);
        if (used == text.size()) return qty;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

using Values = std::map<std::string, std::string>;

// Every key matching `glob` with its value, through the manager.
template <class Manager>
Values read_all(Manager& mgr, const std::string& glob) {
    const auto keys = mgr.keys(glob);
    const auto values = mgr.get_many(keys);
    Values out;
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (values[i]) out[keys[i]] = *values[i];
    return out;
}

// Places orders and fills them: one order or position at a time, as an
// engine that keeps its book in the manager would.
template <class Manager>
class TradingEngine {
public:
    explicit TradingEngine(Manager& mgr) : mgr_(mgr) {}

    std::string place(Order o) {
        char id[32];
        std::snprintf(id, sizeof id, "order/%05d", ++placed_);
        mgr_.set(id, encode(o));
        return id;
    }

    // The position first, then the order: a crash between the two is what
    // the recovery handler below has to clean up.
    void fill(const std::string& order_id) {
        auto order = decode(mgr_.get(order_id).value());
        apply_to_position(*order);
        order->status = "filled";
        mgr_.set(order_id, encode(*order));
    }

    void cancel(const std::string& order_id) {
        auto order = decode(mgr_.get(order_id).value());
        order->status = "cancelled";
        mgr_.set(order_id, encode(*order));
    }

    // The crash: one position torn mid-write, one fill applied to its
    // position but never to its order, and every order placed so far but
    // not filled left open.
    void crash_mid_fill(const std::string& torn_symbol, const std::string& half_filled_order) {
        mgr_.set("position/" + torn_symbol, "1#2?");
        apply_to_position(*decode(mgr_.get(half_filled_order).value()));
    }

private:
    void apply_to_position(const Order& o) {
        const std::string key = "position/" + o.symbol;
        const long long held = parse_position(mgr_.get(key).value_or("0")).value();
        mgr_.set(key, std::to_string(held + signed_qty(o)));
    }

    Manager& mgr_;
    int placed_ = 0;
};

// The positions in the newest checkpoint that reads back whole. Reading a
// checkpoint checks it as it goes (each record's checksum, then the
// consistency and stream hashes at the end), so the records are used only
// once the whole stream has passed; a damaged checkpoint is skipped for the
// one before it. Checkpointer::rollback would put back the orders too, and
// the order book keeps its orders as they are now.
template <class Checkpointer>
std::optional<std::pair<std::string, Values>> checkpointed_positions(Checkpointer& ckpt) {
    const auto checkpoints = ckpt.list();  // oldest first
    for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
        try {
            auto source = ckpt.store().open(it->id);
            strata::CheckpointReader reader(source, *it, "restore positions");
            Values positions;
            reader.run([](const strata::CapturedTier&) {},
                       [&](std::string key, strata::Record r) {
                           if (key.starts_with("position/")) positions[std::move(key)] = std::move(r.value);
                       },
                       [](const strata::CapturedTier&) {});
            return std::pair{it->id, std::move(positions)};
        } catch (const strata::Error& e) {
            if (e.kind() != strata::ErrorKind::corrupt) throw;
            std::printf("    skipping checkpoint %s: %s\n", it->id.c_str(), e.what());
        }
    }
    return std::nullopt;
}

// Sets every open order's status to cancelled; returns how many.
template <class Manager>
std::size_t cancel_open_orders(Manager& mgr) {
    std::vector<std::pair<std::string, std::string>> cancelled;
    for (const auto& [key, value] : read_all(mgr, "order/*")) {
        auto order = decode(value);
        if (!order || order->status != "open") continue;
        order->status = "cancelled";
        cancelled.emplace_back(key, encode(*order));
    }
    mgr.set_many(cancelled);
    return cancelled.size();
}

// Makes position/* exactly what `positions` holds.
template <class Manager>
void restore_positions(Manager& mgr, const Values& positions) {
    std::vector<std::string> extra;
    for (const auto& [key, value] : read_all(mgr, "position/*"))
        if (!positions.contains(key)) extra.push_back(key);
    mgr.erase_many(extra);
    mgr.set_many(positions);
}

std::size_t open_orders(const Values& orders) {
    std::size_t open = 0;
    for (const auto& [key, value] : orders) open += decode(value).value().status == "open";
    return open;
}

void print_positions(const char* when, const Values& positions) {
    std::printf("    %s:", when);
    for (const auto& [key, value] : positions) std::printf(" %s=%s", key.c_str(), value.c_str());
    std::printf("\n");
}

std::string first_line(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

// A setting as the test fixtures export it: the variable itself, or else the
// first line of `file` in the directory `dir_var` names.
std::string setting(const char* var, const char* dir_var, const char* file) {
    if (const char* v = std::getenv(var); v && *v) return v;
    if (const char* dir = std::getenv(dir_var); dir && *dir) return first_line(std::filesystem::path(dir) / file);
    return {};
}

bool check(bool ok, const char* what) {
    std::printf("    %s: %s\n", ok ? "ok  " : "FAIL", what);
    return ok;
}

}  // namespace

int main() {
    const std::string redis_port = setting("STRATA_REDIS_PORT", "STRATA_REDIS_DIR", "port");
    const std::string conninfo = setting("STRATA_PG_CONNINFO", "STRATA_PG_STATE_DIR", "conninfo");
    if (redis_port.empty() || conninfo.empty()) {
        std::fprintf(stderr,
                     "order_book needs a Redis and a PostgreSQL server on this machine:\n"
                     "  STRATA_REDIS_PORT=<port> (or STRATA_REDIS_DIR=<dir holding a file 'port'>)\n"
                     "  STRATA_PG_CONNINFO=<libpq conninfo> (or STRATA_PG_STATE_DIR=<dir holding a file 'conninfo'>)\n"
                     "ctest starts both and sets them: ctest --test-dir build -R example_order_book\n");
        return 2;
    }

    // Checkpoints go to a PostgreSQL table of their own, beside the state.
    auto mgr = strata::make_redis_postgres_manager({.port = std::stoi(redis_port), .key_prefix = "order-book:"},
                                                   {.conninfo = conninfo, .table = "order_book_state"});
    strata::PostgresTier checkpoint_table{
        {.conninfo = conninfo, .table = "order_book_checkpoints", .name = "checkpoints"}};
    strata::Checkpointer ckpt{mgr, strata::TierCheckpointStore{std::move(checkpoint_table)}};
    // The book starts empty on every run: what an earlier run left goes.
    mgr.erase_many(mgr.keys("*"));
    for (const auto& id : ckpt.store().ids()) ckpt.remove(id);

    std::puts("1. The engine trades: 30 orders in three symbols, 23 filled, 3 cancelled, 4 left open.");
    TradingEngine engine{mgr};
    const char* symbols[] = {"AAPL", "MSFT", "NVDA"};
    for (int i = 0; i < 30; ++i) {
        const auto id = engine.place({.symbol = symbols[i % 3],
                                      .side = i % 5 == 1 ? "sell" : "buy",
                                      .qty = 10 * (1 + i % 7),
                                      .price_cents = 10'000 + 25 * i});
        if (i % 4 != 3)
            engine.fill(id);
        else if (i % 8 == 7)
            engine.cancel(id);
    }
    print_positions("positions", read_all(mgr, "position/*"));

    std::puts("2. A checkpoint of the known-good book (PostgreSQL, the durable tier), into a PostgreSQL table.");
    const auto known_good = ckpt.create<strata::PostgresTier>(strata::CheckpointType::automatic);
    std::printf("    %s: %llu keys\n", known_good.id.c_str(), static_cast<unsigned long long>(known_good.key_count));

    std::puts("3. The engine places 6 more orders (one in a new symbol) and crashes while filling them.");
    std::string tsla_order;
    for (int i = 0; i < 6; ++i) {
        const auto id =
            engine.place({.symbol = i == 5 ? "TSLA" : symbols[i % 3], .side = "buy", .qty = 5, .price_cents = 20'000});
        if (i == 5) tsla_order = id;
    }
    engine.crash_mid_fill("AAPL", tsla_order);
    const Values crashed = read_all(mgr, "position/*");
    print_positions("positions after the crash", crashed);
    // Otherwise the checks after recovery would prove nothing.
    if (!check(open_orders(read_all(mgr, "order/*")) == 10 && crashed != checkpointed_positions(ckpt).value().second,
               "the crash left 10 orders open and positions off the checkpoint"))
        return 1;

    std::puts("4. The crash is reported; its handler cancels open orders and restores positions.");
    strata::RecoveryOrchestrator recovery{mgr, strata::RecoveryOptions{.backoff = 100ms, .handler_timeout = 30s}};
    recovery.on("trading_engine_crash", [&](const strata::FailureEvent&) {
        const auto cancelled = cancel_open_orders(mgr);
        const auto checkpoint = checkpointed_positions(ckpt);
        if (!checkpoint) throw std::runtime_error("no checkpoint verifies: positions need a person");
        restore_positions(mgr, checkpoint->second);
        std::printf("    handler: %zu open orders cancelled, %zu positions from %s\n", cancelled,
                    checkpoint->second.size(), checkpoint->first.c_str());
        return true;
    });
    const strata::Incident incident =
        recovery
            .report({.type = strata::FailureType::custom,
                     .name = "trading_engine_crash",
                     .detail = "engine stopped mid-fill: order book and positions disagree"})
            .get();

    std::printf("    incident %s: %s after %zu attempt(s), RTO %lld ms\n", incident.id.c_str(),
                std::string(strata::to_string(incident.outcome)).c_str(), incident.attempts.size(),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(incident.rto.value_or(0s)).count()));
    for (const auto& attempt : incident.attempts) {
        if (attempt.timed_out) {
            // An abandoned attempt may still be using mgr and ckpt: leave
            // without destroying them.
            std::printf("    attempt %u timed out\n", attempt.number);
            std::exit(1);
        }
        if (!attempt.ok) std::printf("    attempt %u failed: %s\n", attempt.number, attempt.error.c_str());
    }

    std::puts("5. Checks.");
    const Values orders = read_all(mgr, "order/*");
    const Values positions = read_all(mgr, "position/*");
    print_positions("positions", positions);
    std::map<std::string, long long> from_fills;  // what the filled orders add up to
    for (const auto& [key, value] : orders)
        if (const auto order = decode(value).value(); order.status == "filled")
            from_fills["position/" + order.symbol] += signed_qty(order);
    std::map<std::string, long long> held;
    for (const auto& [key, value] : positions) held[key] = parse_position(value).value_or(-1);
    const auto checkpoint = checkpointed_positions(ckpt);

    bool ok = check(incident.outcome == strata::IncidentOutcome::recovered, "the incident recovered");
    ok &= check(orders.size() == 36 && open_orders(orders) == 0, "36 orders, none left open");
    ok &= check(checkpoint && checkpoint->first == known_good.id && positions == checkpoint->second,
                "positions equal the checkpoint's");
    ok &= check(held == from_fills, "positions equal what the filled orders add up to");
    return ok ? 0 : 1;
}
