// strata/json.hpp over a real StateManager (MemoryTier + FileTier).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <strata/json.hpp>
#include <strata/strata.hpp>
#include <utility>
#include <vector>

#include "common/temp_dir.hpp"

using ::testing::AllOf;
using ::testing::HasSubstr;
using strata::testing::TempDir;

// Unnamed: other test files of the same binary may define types of these names.
namespace {
namespace trading {

struct Position {
    std::string symbol;
    int qty = 0;
    double price = 0;
    bool operator==(const Position&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Position, symbol, qty, price)

struct Order {
    long id = 0;
    std::string symbol;
    std::string side;
    int qty = 0;
    double price = 0;
    std::vector<std::string> fills;
    bool operator==(const Order&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Order, id, symbol, side, qty, price, fills)

}  // namespace trading

using trading::Order;
using trading::Position;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;

struct NoJson {};
static_assert(strata::JsonStore<Manager>);
static_assert(strata::JsonWritable<Position> && strata::JsonReadable<Position>);
static_assert(!strata::JsonWritable<NoJson> && !strata::JsonReadable<NoJson>);

class JsonTest : public ::testing::Test {
protected:
    TempDir dir;
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::MemoryTier{}, strata::FileTier{dir.path}};

    // The error `f` throws, or a failure if it throws none.
    template <class F>
    strata::Error error_of(F&& f) {
        try {
            f();
        } catch (const strata::Error& e) {
            return e;
        }
        ADD_FAILURE() << "no strata::Error thrown";
        return strata::Error(strata::ErrorKind::invalid, "", "", "");
    }
};

}  // namespace

TEST_F(JsonTest, AUserStructRoundTripsAsCompactJson) {
    const Position p{"AAPL", 60, 189.5};
    const Order o{1001, "MSFT", "buy", 50, 411.25, {"f1", "f2"}};
    strata::set_json(mgr, "position:AAPL", p);
    strata::set_json(mgr, "order:1001", o);
    EXPECT_EQ(mgr.tier<strata::FileTier>().fetch("position:AAPL")->value,
              R"({"price":189.5,"qty":60,"symbol":"AAPL"})");
    mgr.invalidate_cache();
    EXPECT_EQ(strata::get_json<Position>(mgr, "position:AAPL"), p);
    EXPECT_EQ(strata::get_json<Order>(mgr, "order:1001"), o);
}

TEST_F(JsonTest, AMissingKeyIsNullopt) { EXPECT_EQ(strata::get_json<Position>(mgr, "position:none"), std::nullopt); }

TEST_F(JsonTest, SetOptionsReachTheManager) {
    strata::set_json(mgr, "session", Position{"X", 1, 1}, {.ttl = std::chrono::hours{1}});
    EXPECT_TRUE(mgr.tier<strata::FileTier>().fetch("session")->expires_at);
}

TEST_F(JsonTest, StoredTextThatIsNotJsonIsAnErrorNamingTheKey) {
    mgr.set("position:bad", "{\"symbol\": \"AAPL\", ");
    const auto e = error_of([&] { (void)strata::get_json<Position>(mgr, "position:bad"); });
    EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:bad"), HasSubstr("not JSON"), HasSubstr("parse_error")));
}

TEST_F(JsonTest, AMissingFieldIsAnErrorNamingTheKeyAndTheField) {
    mgr.set("position:short", R"({"symbol":"AAPL","price":1.5})");
    const auto e = error_of([&] { (void)strata::get_json<Position>(mgr, "position:short"); });
    EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:short"), HasSubstr("'qty'"), HasSubstr("not found")));
}

TEST_F(JsonTest, AFieldOfTheWrongTypeIsAnErrorNamingTheKeyAndTheReason) {
    mgr.set("position:odd", R"({"symbol":"AAPL","qty":"sixty","price":1.5})");
    const auto e = error_of([&] { (void)strata::get_json<Position>(mgr, "position:odd"); });
    EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:odd"), HasSubstr("type must be number, but is string")));
}

TEST_F(JsonTest, JsonOfAnotherShapeIsAnErrorNotADefault) {
    mgr.set("position:array", "[1,2,3]");
    const auto e = error_of([&] { (void)strata::get_json<Position>(mgr, "position:array"); });
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:array"), HasSubstr("does not convert")));
}

TEST_F(JsonTest, BatchFormsRoundTrip) {
    const std::vector<std::pair<std::string, Position>> positions = {
        {"position:A", {"A", 1, 1.5}}, {"position:B", {"B", -2, 2.5}}, {"position:C", {"C", 3, 3.5}}};
    strata::set_json_many(mgr, positions);
    mgr.invalidate_cache();
    const std::vector<std::string> keys = {"position:A", "position:none", "position:C"};
    const auto got = strata::get_json_many<Position>(mgr, keys);
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[0], positions[0].second);
    EXPECT_EQ(got[1], std::nullopt);
    EXPECT_EQ(got[2], positions[2].second);
}

TEST_F(JsonTest, ABadStoredValueAmongGoodOnesFailsTheBatchReadNamingIt) {
    strata::set_json(mgr, "position:A", Position{"A", 1, 1});
    mgr.set("position:B", "not json");
    strata::set_json(mgr, "position:C", Position{"C", 3, 3});
    const std::vector<std::string> keys = {"position:A", "position:B", "position:C"};
    const auto e = error_of([&] { (void)strata::get_json_many<Position>(mgr, keys); });
    EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:B"), HasSubstr("not JSON")));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("position:A")));
}

TEST_F(JsonTest, AStringThatIsNotUtf8IsAClearErrorAndNothingIsStored) {
    const Position bad{"\xff\xfe", 1, 1};
    const auto e = error_of([&] { strata::set_json(mgr, "position:bad", bad); });
    EXPECT_EQ(e.kind(), strata::ErrorKind::invalid);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:bad"), HasSubstr("UTF-8")));
    EXPECT_FALSE(mgr.get("position:bad"));
}

TEST_F(JsonTest, ABadValueAmongGoodOnesFailsTheBatchWriteBeforeAnythingIsStored) {
    const std::vector<std::pair<std::string, Position>> positions = {
        {"position:A", {"A", 1, 1}}, {"position:B", {"\xc3", 2, 2}}, {"position:C", {"C", 3, 3}}};
    const auto e = error_of([&] { strata::set_json_many(mgr, positions); });
    EXPECT_THAT(e.what(), AllOf(HasSubstr("position:B"), HasSubstr("UTF-8")));
    EXPECT_FALSE(mgr.get("position:A"));
    EXPECT_FALSE(mgr.get("position:C"));
}
