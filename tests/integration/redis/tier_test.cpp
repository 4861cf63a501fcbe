// RedisTier against the real redis-server of the CTest fixture.

#include <gtest/gtest.h>
#include <netinet/in.h>  // sockaddr_in
#include <sys/socket.h>
#include <unistd.h>  // close

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis/support.hpp"
#include "strata/tiers/redis.hpp"

namespace {

using namespace std::chrono_literals;
using strata::Clock;
using strata::Entry;
using strata::Record;
using strata::RedisTier;
namespace rt = strata_test::redis;

Record record(std::string value, std::uint64_t version = 1, std::optional<Clock::time_point> expires = {}) {
    return strata::make_record(std::move(value), version, expires);
}

void expect_same(const Record& a, const Record& b) {
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.updated_at, b.updated_at);
    EXPECT_EQ(a.expires_at, b.expires_at);
    EXPECT_EQ(a.checksum, b.checksum);
}

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
    return s + std::string("\0\r\n$3\r\nGET\r\n", 12);
}

TEST(RedisTier, StoresAndFetchesARecordExactly) {
    RedisTier tier(rt::options());
    const auto r = record("hello", 7, Clock::now() + 1h);
    tier.store("k", r);
    const auto got = tier.fetch("k");
    ASSERT_TRUE(got);
    expect_same(*got, r);
    EXPECT_TRUE(got->intact());
    EXPECT_FALSE(tier.fetch("absent"));
    EXPECT_TRUE(tier.erase("k"));
    EXPECT_FALSE(tier.erase("k"));
    EXPECT_FALSE(tier.fetch("k"));
}

TEST(RedisTier, BinaryValuesAndKeysSurviveTheRoundTrip) {
    RedisTier tier(rt::options());
    const std::string key = "bin \r\n\x01\xff*?[]\\ key";
    const auto r = record(all_bytes());
    tier.store(key, r);
    const auto got = tier.fetch(key);
    ASSERT_TRUE(got);
    expect_same(*got, r);
    EXPECT_EQ(tier.keys("*"), std::vector<std::string>{key});
}

TEST(RedisTier, LargeValuesAreCompressedOnlyWhenEnabled) {
    const std::string big(64 * 1024, 'z');
    auto on = rt::options();
    auto off = rt::options();
    off.compression.enabled = false;
    RedisTier compressing(on), plain(off);
    compressing.store("big", record(big));
    plain.store("big", record(big));
    rt::Raw raw;
    const auto on_len = raw({"STRLEN", on.key_prefix + "big"})->integer;
    const auto off_len = raw({"STRLEN", off.key_prefix + "big"})->integer;
    EXPECT_LT(on_len, 4096);
    EXPECT_EQ(off_len, static_cast<long long>(big.size() + strata::envelope::header_size));
    EXPECT_EQ(compressing.fetch("big")->value, big);
    EXPECT_EQ(plain.fetch("big")->value, big);
}

TEST(RedisTier, TtlIsRedisNativeAndExpiredRecordsVanish) {
    auto o = rt::options();
    RedisTier tier(o);
    const auto deadline = Clock::now() + 1500ms;
    tier.store("short", record("v", 1, deadline));
    tier.store("long", record("v", 1, Clock::now() + 1h));
    tier.store("forever", record("v"));
    rt::Raw raw;
    const auto pttl = raw({"PTTL", o.key_prefix + "short"})->integer;
    EXPECT_GT(pttl, 0);
    EXPECT_LE(pttl, 1500);
    EXPECT_EQ(raw({"PTTL", o.key_prefix + "forever"})->integer, -1);
    EXPECT_TRUE(tier.fetch("short"));
    std::this_thread::sleep_until(deadline + 200ms);
    // Gone from Redis itself, not only hidden by the envelope's expiry.
    EXPECT_EQ(raw({"EXISTS", o.key_prefix + "short"})->integer, 0);
    EXPECT_FALSE(tier.fetch("short"));
    EXPECT_TRUE(tier.fetch("long"));
    EXPECT_EQ(tier.keys("*"), (std::vector<std::string>{"forever", "long"}));
}

TEST(RedisTier, StoringAnExpiredRecordDeletesTheKey) {
    RedisTier tier(rt::options());
    tier.store("k", record("old"));
    tier.store("k", record("new", 2, Clock::now() - 1s));
    EXPECT_FALSE(tier.fetch("k"));
    EXPECT_TRUE(tier.keys("*").empty());
}

TEST(RedisTier, RecordExpiredByItsOwnStampIsNotReturned) {
    // Written without PX (by an older writer, or with a skewed clock): the
    // envelope's expiry still rules.
    auto o = rt::options();
    RedisTier tier(o);
    const auto r = record("v", 1, Clock::now() - 1s);
    rt::Raw raw;
    const std::string blob = strata::envelope::encode(r);
    raw({"SET", o.key_prefix + "stale", blob});
    EXPECT_FALSE(tier.fetch("stale"));
}

TEST(RedisTier, UndecodableBlobsComeBackUnreadableWithoutFailingTheBatch) {
    auto o = rt::options();
    RedisTier tier(o);
    tier.store("good", record("fine"));
    const std::string blob = strata::envelope::encode(record("will be cut"));
    rt::Raw raw;
    raw({"SET", o.key_prefix + "garbage", "not an envelope"});
    raw({"SET", o.key_prefix + "truncated", std::string_view(blob).substr(0, blob.size() - 3)});
    raw({"RPUSH", o.key_prefix + "list", "x"});
    const std::vector<std::string> keys{"good", "garbage", "truncated", "list", "absent"};
    const auto got = tier.fetch_many(keys);
    ASSERT_EQ(got.size(), keys.size());
    ASSERT_TRUE(got[0]);
    EXPECT_TRUE(got[0]->intact());
    ASSERT_TRUE(got[1]);
    EXPECT_FALSE(got[1]->intact());
    ASSERT_TRUE(got[2]);
    EXPECT_FALSE(got[2]->intact());
    EXPECT_FALSE(got[3]);  // not a string: absent to this tier, overwritten by the next store
    EXPECT_FALSE(got[4]);
    tier.store("list", record("now a string"));
    EXPECT_EQ(tier.fetch("list")->value, "now a string");
}

TEST(RedisTier, TenThousandKeyBatches) {
    RedisTier tier(rt::options());
    constexpr int n = 10'000;
    std::vector<Entry> entries;
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) {
        keys.push_back("batch:" + std::to_string(i));
        // A third expire, so MSET and SET PX both carry part of the batch.
        entries.push_back({keys.back(), record("value " + std::to_string(i), i + 1,
                                               i % 3 ? std::nullopt : std::optional(Clock::now() + 1h))});
    }
    tier.store_many(entries);
    std::vector<std::string> asked;
    for (int i = n - 1; i >= 0; --i) {
        asked.push_back(keys[i]);
        if (i % 1000 == 0) asked.push_back("missing:" + std::to_string(i));
    }
    const auto got = tier.fetch_many(asked);
    ASSERT_EQ(got.size(), asked.size());
    for (std::size_t i = 0; i < asked.size(); ++i) {
        if (asked[i].starts_with("missing:")) {
            EXPECT_FALSE(got[i]);
            continue;
        }
        ASSERT_TRUE(got[i]) << asked[i];
        const int k = std::stoi(asked[i].substr(6));
        expect_same(*got[i], entries[k].record);
    }
    EXPECT_EQ(tier.keys("batch:*").size(), static_cast<std::size_t>(n));
    EXPECT_EQ(tier.stats().keys, static_cast<std::uint64_t>(n));
    EXPECT_EQ(tier.erase_many(asked), static_cast<std::size_t>(n));
    EXPECT_TRUE(tier.keys("*").empty());
    EXPECT_EQ(tier.erase_many(keys), 0u);
}

TEST(RedisTier, LastEntryWinsWithinABatch) {
    RedisTier tier(rt::options());
    const std::vector<Entry> entries{{"k", record("first", 1)},
                                     {"k", record("second", 2, Clock::now() + 1h)},
                                     {"j", record("j", 1, Clock::now() + 1h)},
                                     {"j", record("j2", 2)},
                                     {"gone", record("x", 1)},
                                     {"gone", record("x", 2, Clock::now() - 1s)}};
    tier.store_many(entries);
    EXPECT_EQ(tier.fetch("k")->value, "second");
    EXPECT_EQ(tier.fetch("j")->value, "j2");
    EXPECT_FALSE(tier.fetch("gone"));
}

TEST(RedisTier, EmptyBatchesTouchNothing) {
    RedisTier tier(rt::options());
    EXPECT_TRUE(tier.fetch_many({}).empty());
    tier.store_many({});
    EXPECT_EQ(tier.erase_many({}), 0u);
}

TEST(RedisTier, GlobsWithSpecialCharacters) {
    RedisTier tier(rt::options());
    const std::vector<std::string> names{"a*b",  "a?b", "axb",    "a[1]",   "a1",
                                         "a\\b", "a b", "user:1", "user:2", "user:10"};
    std::vector<Entry> entries;
    for (const auto& n : names) entries.push_back({n, record(n)});
    tier.store_many(entries);
    using V = std::vector<std::string>;
    EXPECT_EQ(tier.keys("a\\*b"), V{"a*b"});
    EXPECT_EQ(tier.keys("a\\?b"), V{"a?b"});
    EXPECT_EQ(tier.keys("a?b"), (V{"a b", "a*b", "a?b", "a\\b", "axb"}));
    EXPECT_EQ(tier.keys("a\\[1\\]"), V{"a[1]"});
    EXPECT_EQ(tier.keys("a[1]"), V{"a1"});
    EXPECT_EQ(tier.keys("a\\\\b"), V{"a\\b"});
    EXPECT_EQ(tier.keys("user:?"), (V{"user:1", "user:2"}));
    EXPECT_EQ(tier.keys("user:[^1]*"), V{"user:2"});
    EXPECT_EQ(tier.keys("user:1*"), (V{"user:1", "user:10"}));
    EXPECT_EQ(tier.keys("*").size(), names.size());
    EXPECT_TRUE(tier.keys("nothing*").empty());
}

TEST(RedisTier, PrefixesWithGlobCharactersAreEscaped) {
    // Unescaped, the first tier's SCAN MATCH "...p[ab]*:*" would list the
    // second tier's "...pa:" keys.
    const std::string base = rt::unique_prefix("iso");
    RedisTier odd(rt::options(base + "p[ab]*:")), plain(rt::options(base + "pa:"));
    odd.store("mine", record("odd"));
    plain.store("theirs", record("plain"));
    EXPECT_EQ(odd.keys("*"), std::vector<std::string>{"mine"});
    EXPECT_EQ(odd.idle_keys(0ms), std::vector<std::string>{"mine"});
    EXPECT_EQ(odd.stats().keys, 1u);
    EXPECT_EQ(plain.keys("*"), std::vector<std::string>{"theirs"});
}

TEST(RedisTier, TwoTiersOnOneServerAreIsolatedByPrefix) {
    RedisTier a(rt::options()), b(rt::options());
    a.store("shared-name", record("from a"));
    b.store("shared-name", record("from b"));
    a.store("only-a", record("a"));
    EXPECT_EQ(a.fetch("shared-name")->value, "from a");
    EXPECT_EQ(b.fetch("shared-name")->value, "from b");
    EXPECT_FALSE(b.fetch("only-a"));
    EXPECT_EQ(a.keys("*"), (std::vector<std::string>{"only-a", "shared-name"}));
    EXPECT_EQ(b.keys("*"), std::vector<std::string>{"shared-name"});
    const std::vector<std::string> both{"shared-name", "only-a"};
    EXPECT_EQ(b.erase_many(both), 1u);
    EXPECT_EQ(a.fetch("shared-name")->value, "from a");
    EXPECT_EQ(a.stats().keys, 2u);
    EXPECT_EQ(b.stats().keys, 0u);
}

TEST(RedisTier, DatabasesAreSelected) {
    auto o = rt::options();
    o.db = 3;
    RedisTier in3(o);
    in3.store("k", record("in db 3"));
    o.db = 0;
    RedisTier in0(o);
    EXPECT_FALSE(in0.fetch("k"));
    EXPECT_EQ(in3.fetch("k")->value, "in db 3");
}

TEST(RedisTier, ConnectsThroughAUnixSocket) {
    rt::Server server;
    auto o = rt::options(server.port());
    o.port = 1;  // unused: the socket wins
    o.unix_socket = server.socket();
    RedisTier tier(o);
    tier.store("k", record("over the socket"));
    EXPECT_EQ(tier.fetch("k")->value, "over the socket");
    EXPECT_TRUE(tier.ping());
}

TEST(RedisTier, BatchesAreSingleCommandsAndListingNeverUsesKeys) {
    rt::Server server;  // private: its command counters see only this test
    RedisTier tier(rt::options(server.port()));
    std::vector<Entry> entries;
    std::vector<std::string> keys;
    for (int i = 0; i < 1000; ++i) {
        keys.push_back("k" + std::to_string(i));
        entries.push_back({keys.back(), record("v")});
    }
    entries.push_back({"timed-1", record("v", 1, Clock::now() + 1h)});
    entries.push_back({"timed-2", record("v", 1, Clock::now() + 1h)});
    rt::Raw raw(server.port());
    raw({"CONFIG", "RESETSTAT"});
    tier.store_many(entries);
    EXPECT_EQ(tier.fetch_many(keys).size(), keys.size());
    EXPECT_EQ(tier.keys("k1*").size(), 111u);
    EXPECT_EQ(tier.erase_many(keys), keys.size());
    const std::string stats(strata::detail::redis::text(*raw({"INFO", "commandstats"})));
    EXPECT_NE(stats.find("cmdstat_mset:calls=1,"), std::string::npos) << stats;
    EXPECT_NE(stats.find("cmdstat_set:calls=2,"), std::string::npos) << stats;  // one SET PX per expiring entry
    EXPECT_NE(stats.find("cmdstat_mget:calls=1,"), std::string::npos) << stats;
    EXPECT_NE(stats.find("cmdstat_unlink:calls=1,"), std::string::npos) << stats;
    EXPECT_NE(stats.find("cmdstat_scan:"), std::string::npos) << stats;
    EXPECT_EQ(stats.find("cmdstat_keys:"), std::string::npos) << stats;
    EXPECT_EQ(stats.find("cmdstat_get:"), std::string::npos) << stats;
}

TEST(RedisTier, ErasesWithDelWhereTheServerHasNoUnlink) {
    rt::Server server("--rename-command UNLINK '\"\"'");  // as on servers before 4.0
    RedisTier tier(rt::options(server.port()));
    tier.store("a", record("1"));
    tier.store("b", record("2"));
    EXPECT_TRUE(tier.erase("a"));
    const std::vector<std::string> keys{"a", "b"};
    EXPECT_EQ(tier.erase_many(keys), 1u);
    EXPECT_TRUE(tier.keys("*").empty());
}

TEST(RedisTier, BadInputIsRejectedBeforeTheServerIsTouched) {
    RedisTier tier(rt::options());
    const std::string nul("a\0b", 3);
    const std::string huge(strata::max_key_size + 1, 'k');
    EXPECT_THROW(tier.store("", record("v")), std::invalid_argument);
    EXPECT_THROW(tier.store(nul, record("v")), std::invalid_argument);
    EXPECT_THROW(tier.fetch(huge), std::invalid_argument);
    EXPECT_THROW(tier.erase(""), std::invalid_argument);
    const std::vector<Entry> mixed{{"fine", record("v")}, {"", record("v")}};
    EXPECT_THROW(tier.store_many(mixed), std::invalid_argument);
    EXPECT_FALSE(tier.fetch("fine"));  // nothing of a rejected batch is written
    const std::vector<std::string> keys{"fine", nul};
    EXPECT_THROW(tier.fetch_many(keys), std::invalid_argument);
    EXPECT_THROW(tier.erase_many(keys), std::invalid_argument);
    EXPECT_THROW(tier.keys("a[bc"), std::invalid_argument);
    EXPECT_THROW(tier.keys("trailing\\"), std::invalid_argument);
}

TEST(RedisTier, StatsAndPing) {
    RedisTier tier(rt::options());
    tier.store("a", record("1"));
    tier.store("b", record("2"));
    const auto s = tier.stats();
    EXPECT_EQ(s.keys, 2u);
    EXPECT_GT(s.bytes, 0u);
    auto has = [&](std::string_view field) {
        return std::any_of(s.details.begin(), s.details.end(), [&](const auto& d) { return d.first == field; });
    };
    EXPECT_TRUE(has("redis_version"));
    EXPECT_TRUE(has("dbsize"));
    EXPECT_TRUE(tier.ping());
    EXPECT_EQ(tier.name(), "redis");
}

TEST(RedisTier, UnreachableServerIsUnavailableNotAHang) {
    int port = 0;
    {
        rt::Server s;
        port = s.port();
    }  // stopped: nothing listens there now
    auto o = rt::options(port);
    RedisTier tier(o);
    EXPECT_FALSE(tier.ping());
    try {
        tier.fetch("k");
        FAIL() << "fetch from a closed port succeeded";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
        EXPECT_EQ(e.operation(), "connect");
        EXPECT_TRUE(e.transient());
    }
}

TEST(RedisTier, IdleKeysFollowReadsAndWrites) {
    RedisTier tier(rt::options());
    tier.store("read-later", record("r"));
    tier.store("untouched", record("u"));
    EXPECT_EQ(tier.idle_keys(0ms), (std::vector<std::string>{"read-later", "untouched"}));
    EXPECT_TRUE(tier.idle_keys(1h).empty());
    // OBJECT IDLETIME counts whole seconds.
    std::this_thread::sleep_for(2100ms);
    ASSERT_TRUE(tier.fetch("read-later"));
    tier.store("written-now", record("w"));
    EXPECT_EQ(tier.idle_keys(2s), std::vector<std::string>{"untouched"});
}

// Redis 7.2+ (CLIENT NO-TOUCH) stands in here for the test machine's older
// server: just enough RESP for peek_many and fetch_many, one connection at a
// time, noting each command and whether NO-TOUCH was on when an MGET ran.
class NoTouchServer {
public:
    explicit NoTouchServer(std::map<std::string, std::string> values) : values_(std::move(values)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 4) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("NoTouchServer: cannot listen");
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] {
            for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0; ::close(c)) serve(c);
        });
    }
    ~NoTouchServer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    int port() const { return port_; }
    std::vector<std::string> seen() {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    void serve(int c) {
        std::string in;
        bool no_touch = false;
        for (;;) {
            std::vector<std::string> args;
            if (!read_command(c, in, args)) return;
            std::string reply, note = args[0];
            if (args[0] == "CLIENT" && args.size() == 3 && args[1] == "NO-TOUCH") {
                no_touch = args[2] == "ON";
                note += " NO-TOUCH " + args[2];
                reply = "+OK\r\n";
            } else if (args[0] == "MGET") {
                note += no_touch ? " untouched" : " touched";
                reply = "*" + std::to_string(args.size() - 1) + "\r\n";
                for (std::size_t i = 1; i < args.size(); ++i) {
                    const auto it = values_.find(args[i]);
                    reply += it == values_.end() ? "$-1\r\n"
                                                 : "$" + std::to_string(it->second.size()) + "\r\n" + it->second + "\r\n";
                }
            } else {
                reply = "-ERR unknown command\r\n";
            }
            {
                std::lock_guard lock(mutex_);
                seen_.push_back(note);
            }
            if (::send(c, reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size())) return;
        }
    }

    // One RESP array of bulk strings, as hiredis sends every command.
    static bool read_command(int c, std::string& in, std::vector<std::string>& args) {
        std::size_t at = 0;
        const auto line = [&](std::string& out) {
            for (;;) {
                if (const auto end = in.find("\r\n", at); end != std::string::npos) {
                    out = in.substr(at, end - at);
                    at = end + 2;
                    return true;
                }
                if (!more(c, in)) return false;
            }
        };
        std::string head;
        if (!line(head) || head.empty() || head[0] != '*') return false;
        for (int n = std::stoi(head.substr(1)); n > 0; --n) {
            if (!line(head) || head.empty() || head[0] != '$') return false;
            const auto size = std::stoul(head.substr(1));
            while (in.size() < at + size + 2)
                if (!more(c, in)) return false;
            args.push_back(in.substr(at, size));
            at += size + 2;
        }
        in.erase(0, at);
        return true;
    }
    static bool more(int c, std::string& in) {
        char buf[4096];
        const auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    std::map<std::string, std::string> values_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::string> seen_;
};

TEST(RedisTier, PeekManyReadsWithNoTouchOnAndLeavesItOff) {
    const auto r = record("peeked", 4);
    NoTouchServer server({{"p:k", strata::envelope::encode(r)}});
    auto o = rt::options(server.port(), "p:");
    o.pool_size = 1;  // one connection, so a NO-TOUCH left on would show in the next fetch
    RedisTier tier(o);
    const std::vector<std::string> keys{"k", "absent"};
    const auto peeked = tier.peek_many(keys);
    ASSERT_TRUE(peeked[0]);
    expect_same(*peeked[0], r);
    EXPECT_FALSE(peeked[1]);
    ASSERT_TRUE(tier.peek_many(keys)[0]);
    ASSERT_TRUE(tier.fetch_many(keys)[0]);
    // Asked once (OFF changes nothing), then ON, MGET, OFF in one round trip per peek.
    EXPECT_EQ(server.seen(), (std::vector<std::string>{"CLIENT NO-TOUCH OFF", "CLIENT NO-TOUCH ON", "MGET untouched",
                                                       "CLIENT NO-TOUCH OFF", "CLIENT NO-TOUCH ON", "MGET untouched",
                                                       "CLIENT NO-TOUCH OFF", "MGET touched"}));
}

// The test server is older than 7.2, where no command reads a value without
// resetting its idle time: there peek_many must say so and still read right.
TEST(RedisTier, PeekManyWithoutNoTouchReadsLikeFetchMany) {
    RedisTier tier(rt::options());
    tier.store("a", record("first", 3));
    tier.store("gone", record("x", 1, Clock::now() + 30ms));
    std::this_thread::sleep_for(60ms);
    rt::Raw raw;
    raw({"SET", tier.options().key_prefix + "junk", "not an envelope"});
    const std::vector<std::string> keys{"junk", "a", "gone", "absent"};
    const auto peeked = tier.peek_many(keys);
    const auto fetched = tier.fetch_many(keys);
    ASSERT_EQ(peeked.size(), 4u);
    ASSERT_TRUE(peeked[0] && peeked[1]);
    EXPECT_FALSE(peeked[0]->intact());  // unreadable, for the manager to repair
    expect_same(*peeked[1], *fetched[1]);
    EXPECT_FALSE(peeked[2]);
    EXPECT_FALSE(peeked[3]);
    const auto details = tier.stats().details;
    std::string version, no_touch;
    for (const auto& [k, v] : details) {
        if (k == "redis_version") version = v;
        if (k == "no_touch") no_touch = v;
    }
    const int major = std::stoi(version), minor = std::stoi(version.substr(version.find('.') + 1));
    EXPECT_EQ(no_touch, major > 7 || (major == 7 && minor >= 2) ? "yes" : "no") << "server " << version;
}

TEST(RedisTier, MovedTierKeepsWorking) {
    RedisTier first(rt::options());
    first.store("k", record("v"));
    RedisTier moved(std::move(first));
    EXPECT_EQ(moved.fetch("k")->value, "v");
}

TEST(RedisTier, ManyThreadsShareASmallPool) {
    auto o = rt::options();
    o.pool_size = 2;
    RedisTier tier(o);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
                tier.store(key, record(key));
                const auto got = tier.fetch(key);
                if (!got || got->value != key) ++failures;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(tier.keys("t*").size(), 8u * 200u);
}

TEST(RedisTier, HundredThousandKeysListedByPattern) {
    RedisTier tier(rt::options());
    constexpr int n = 100'000;
    std::vector<Entry> entries;
    entries.reserve(n + 10);
    for (int i = 0; i < n; ++i) entries.push_back({"big:" + std::to_string(i), record("v")});
    for (int i = 0; i < 10; ++i) entries.push_back({"other:" + std::to_string(i), record("v")});
    tier.store_many(entries);
    const auto all = tier.keys("big:*");
    ASSERT_EQ(all.size(), static_cast<std::size_t>(n));
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
    EXPECT_EQ(tier.keys("big:9999?").size(), 10u);
    EXPECT_EQ(tier.keys("other:*").size(), 10u);
    std::vector<std::string> keys;
    for (const auto& e : entries) keys.push_back(e.key);
    EXPECT_EQ(tier.erase_many(keys), static_cast<std::size_t>(n + 10));
}

}  // namespace
