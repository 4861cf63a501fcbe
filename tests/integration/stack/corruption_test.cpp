// A corrupted record in each tier of a real stack: Redis (hot) and
// PostgreSQL (warm), and S3 (cold) where the s3 component is built (the
// fixture then starts the S3 suite's server for these tests). A record's
// stored value bytes are damaged behind strata with each server's own
// client (Redis SETRANGE, an SQL UPDATE, an S3 PUT), so it still decodes but
// fails its SHA-256. RecoveryOrchestrator::scrub(), or a probe round after a
// read met the copy, opens a data_corruption incident whose built-in handler
// repairs it from a valid copy in another tier; a key with no valid copy
// anywhere is restored from the newest verified checkpoint, or escalated
// with a checklist naming it. Each test prints its incident's RTO.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <array>
#include <chrono>
#include <cstddef>  // size_t
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>  // pair
#include <vector>

#include "common/eventually.hpp"
#include "common/recovery_load.hpp"
#include "common/recovery_support.hpp"  // read_all
#include "common/temp_dir.hpp"
#include "integration/postgres/pg_env.hpp"
#include "integration/redis/support.hpp"
#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/strata.hpp"
#include "strata/tiers/postgres.hpp"
#include "strata/tiers/redis.hpp"
#ifdef STRATA_STACK_S3
#include "integration/s3/support.hpp"
#include "strata/tiers/s3.hpp"
#endif

namespace {

using namespace std::chrono_literals;
namespace rt = strata_test::redis;
using strata::FailureType;
using strata::IncidentOutcome;
using strata::testing::eventually;
using strata::testing::read_all;
using strata::testing::TempDir;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;

#ifdef STRATA_STACK_S3
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::RedisTier, strata::PostgresTier,
                                     strata::S3Tier>;
constexpr std::array<const char*, 3> tier_names{"redis", "postgres", "s3"};
#else
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::RedisTier, strata::PostgresTier>;
constexpr std::array<const char*, 2> tier_names{"redis", "postgres"};
#endif
constexpr std::size_t tier_count = Manager::tier_count;
using Orchestrator = strata::RecoveryOrchestrator<Manager>;
using Checkpoints = strata::Checkpointer<Manager, strata::DirectoryCheckpointStore>;
using Writer = strata::testing::AcknowledgedWriter<Manager>;

// Damage helpers: each flips one bit of the last stored byte of the value
// (values here are short, so stored uncompressed), leaving the envelope's
// header and its CRC whole, and throws when the damage was not done, so a
// test never passes on a record that was left intact.

void damage(strata::RedisTier& tier, const std::string& key) {
    rt::Raw raw(tier.options().port);
    const std::string name = tier.options().key_prefix + key;
    const auto got = raw({"GET", name});
    const std::string blob(strata::detail::redis::text(*got));
    if (blob.size() <= strata::envelope::header_size) throw std::runtime_error("no value stored in Redis for " + key);
    const std::string flipped(1, static_cast<char>(blob.back() ^ 0x01));
    const auto set = raw({"SETRANGE", name, std::to_string(blob.size() - 1), flipped});
    if (set->integer != static_cast<long long>(blob.size())) throw std::runtime_error("SETRANGE failed for " + key);
}

void damage(strata::PostgresTier& tier, const std::string& key) {
    pqxx::connection c(tier.options().conninfo);
    pqxx::nontransaction tx(c);
    const auto r = tx.exec_params("UPDATE \"" + tier.options().table +
                                      "\" SET value = set_byte(value, octet_length(value) - 1,"
                                      " get_byte(value, octet_length(value) - 1) # 1)"
                                      " WHERE key = convert_to($1, 'UTF8') AND octet_length(value) > 0",
                                  key);
    if (r.affected_rows() != 1) throw std::runtime_error("no value stored in PostgreSQL for " + key);
}

#ifdef STRATA_STACK_S3
// A second client of the same bucket GETs the object and PUTs it back with
// the byte flipped and its metadata unchanged, as a bad disk under S3 would
// leave it.
void damage(strata::S3Tier& tier, const std::string& key) {
    namespace s3 = strata::detail::s3;
    s3::Client client(tier.options());
    const std::string name = tier.options().prefix + s3::encode_key(key);
    auto got = client.execute_one({"GET", name, {}, {}, {}}, "damage");
    if (got.status != 200 || got.body.size() <= strata::envelope::header_size)
        throw std::runtime_error("no object stored in S3 for " + key);
    std::string body = std::move(got.body);
    body.back() = static_cast<char>(body.back() ^ 0x01);
    s3::Headers headers{{"content-type", "application/octet-stream"}};
    for (const char* meta : {"x-amz-meta-strata-version", "x-amz-meta-strata-checksum"})
        if (const auto v = got.header(meta)) headers.emplace_back(meta, *v);
    if (client.execute_one({"PUT", name, {}, std::move(headers), std::move(body)}, "damage").status != 200)
        throw std::runtime_error("the damaged object was not stored in S3 for " + key);
}
#endif

class StackCorruption : public ::testing::Test {
protected:
    strata::RedisOptions redis_options = rt::options(rt::unique_prefix("corrupt"));
    strata::PostgresOptions pg_options = strata::pgtest::options();
#ifdef STRATA_STACK_S3
    strata::S3Options s3_options = strata_test::s3::options();
#endif
    TempDir escalations{"strata-corruption-escalations"};
    TempDir checkpoints{"strata-corruption-checkpoints"};
    Manager mgr{strata::LruCache{1000}, strata::NeverPromote{}, strata::RedisTier{redis_options},
                strata::PostgresTier{pg_options}
#ifdef STRATA_STACK_S3
                ,
                strata::S3Tier{s3_options}
#endif
    };
    // Each account is written into every tier, one version everywhere.
    std::map<std::string, std::string> accounts;

    // The servers outlive the test: what it left in them goes.
    ~StackCorruption() override {
        auto& redis = mgr.tier<strata::RedisTier>();
        redis.erase_many(redis.keys("*"));
#ifdef STRATA_STACK_S3
        auto& s3 = mgr.tier<strata::S3Tier>();
        s3.erase_many(s3.keys("*"));
#endif
        strata::pgtest::drop_table(pg_options);
    }

    void SetUp() override {
        std::vector<std::pair<std::string, std::string>> kv;
        for (int i = 0; i < 50; ++i) kv.emplace_back("account:" + std::to_string(i), "balance " + std::to_string(i));
        write_everywhere(kv);
        for (const auto& [k, v] : kv) accounts[k] = v;
        for (std::size_t t = 0; t < tier_count; ++t)
            for (const auto& [k, v] : accounts) ASSERT_EQ(stored_value(t, k), v) << tier_names[t] << " " << k;
    }

    // Into the coldest tier, then copied into each hotter one (warm() takes
    // the newest copy from the colder tiers), so every tier holds the same
    // record: any one copy can be repaired from any other.
    void write_everywhere(const std::vector<std::pair<std::string, std::string>>& kv) {
        mgr.set_many(kv, strata::at<tier_count - 1>);
        std::vector<std::string> keys;
        for (const auto& p : kv) keys.push_back(p.first);
        for (std::size_t t = tier_count - 1; t-- > 0;) ASSERT_EQ(mgr.warm(t, keys), keys.size()) << tier_names[t];
    }

    template <class F>
    void on_tier(std::size_t t, F&& f) {
        mgr.tiers().for_each([&](auto& tier, auto index) {
            if (index == t) f(tier);
        });
    }

    void damage_in(std::size_t t, const std::string& key) {
        on_tier(t, [&](auto& tier) { damage(tier, key); });
    }

    std::optional<strata::Record> stored(std::size_t t, const std::string& key) {
        std::optional<strata::Record> out;
        on_tier(t, [&](auto& tier) { out = tier.fetch(key); });
        return out;
    }

    // The tier's copy when it verifies; a note saying what is wrong otherwise.
    std::string stored_value(std::size_t t, const std::string& key) {
        const auto r = stored(t, key);
        if (!r) return "<absent>";
        if (!r->intact()) return "<fails its checksum>";
        return r->value;
    }

    strata::RecoveryOptions recovery_options() const {
        strata::RecoveryOptions o;
        o.probe_deadline = 5s;
        o.backoff = 10ms;
        o.max_backoff = 40ms;
        o.handler_timeout = 30s;
        o.escalation_dir = escalations.path;
        // The copies are damaged before the orchestrator is made: a start-up
        // reconcile would erase the damaged Redis copy (reconcile takes out
        // corrupt copies) before the scrub these tests are about finds it.
        o.reconcile_at_start = false;
        return o;
    }

    // The first incident, once it has finished (recovered or escalated).
    static strata::Incident finished(const Orchestrator& rec) {
        if (!eventually([&] { return !rec.stats().history.empty() && rec.stats().open.empty(); }, 30s))
            throw std::runtime_error("the incident did not finish in 30 s");
        return rec.stats().history.front();
    }

    static void print_rto(const std::string& what, const strata::Incident& inc) {
        const auto ms = [](strata::Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
        std::cout << "[corruption] " << what << ": incident " << inc.id << " " << strata::to_string(inc.outcome);
        if (inc.rto)
            std::cout << ", RTO " << ms(*inc.rto) << " ms";
        else if (inc.escalated_at)
            std::cout << ", no RTO (escalated " << ms(*inc.escalated_at - inc.event.detected_at)
                      << " ms after detection)";
        if (inc.rpo) std::cout << ", RPO " << ms(*inc.rpo) << " ms";
        std::cout << ", " << inc.attempts.size() << " handler attempts\n";
    }

    // Every account and every write the writer had acknowledged reads back
    // through the manager, past the cache.
    void expect_every_write_readable(Writer& writer, const std::map<std::string, std::string>& expected) {
        writer.stop();
        mgr.invalidate_cache();
        int lost = 0;
        for (const auto& [k, v] : expected)
            if (mgr.get(k) != v) ++lost;
        EXPECT_EQ(lost, 0) << "of " << expected.size() << " accounts";
        const auto acknowledged = writer.acknowledged();
        EXPECT_FALSE(acknowledged.empty());
        lost = 0;
        for (const auto& [k, v] : acknowledged)
            if (mgr.get(k) != v) ++lost;
        EXPECT_EQ(lost, 0) << "of " << acknowledged.size() << " acknowledged writes";
    }
};

class StackCorruptionInOneTier : public StackCorruption, public ::testing::WithParamInterface<std::size_t> {};

}  // namespace

// One copy damaged, in one tier only, while writes go on: the scrub finds it
// and repairs it from another tier's copy, which it then equals field for
// field.
TEST_P(StackCorruptionInOneTier, ScrubRepairsTheCopyFromAValidOne) {
    const std::size_t damaged = GetParam();
    const std::string key = "account:7";
    const std::size_t other = damaged == 0 ? 1 : 0;
    const auto reference = stored(other, key);
    ASSERT_TRUE(reference && reference->intact());
    Orchestrator rec{mgr, recovery_options()};
    Writer writer{mgr};

    damage_in(damaged, key);
    for (std::size_t t = 0; t < tier_count; ++t)
        ASSERT_EQ(stored_value(t, key), t == damaged ? "<fails its checksum>" : accounts[key]) << tier_names[t];

    const auto report = rec.scrub();
    EXPECT_EQ(report.corrupt, 1u);
    EXPECT_EQ(report.repaired, 1u);
    EXPECT_TRUE(report.lost.empty());
    const auto inc = finished(rec);
    print_rto(std::string("one copy in ") + tier_names[damaged], inc);
    EXPECT_EQ(inc.event.type, FailureType::data_corruption);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_TRUE(inc.rto);
    EXPECT_EQ(inc.rpo, strata::Clock::duration::zero());

    for (std::size_t t = 0; t < tier_count; ++t) {
        const auto r = stored(t, key);
        ASSERT_TRUE(r) << tier_names[t];
        EXPECT_TRUE(r->intact()) << tier_names[t];
        EXPECT_EQ(r->value, reference->value) << tier_names[t];
        EXPECT_EQ(r->version, reference->version) << tier_names[t];
        EXPECT_EQ(r->updated_at, reference->updated_at) << tier_names[t];
        EXPECT_EQ(r->checksum, reference->checksum) << tier_names[t];
    }
    EXPECT_EQ(mgr.scrub().corrupt, 0u);
    expect_every_write_readable(writer, accounts);
}

INSTANTIATE_TEST_SUITE_P(EachTier, StackCorruptionInOneTier, ::testing::Range<std::size_t>(0, tier_count),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                             return std::string(tier_names[info.param]);
                         });

// A read meets the damaged Redis copy and repairs it itself; the next probe
// round sees the health counters and opens an incident whose scrub repairs
// the copy no read reached (the PostgreSQL one of another key).
TEST_F(StackCorruption, AReadThatMeetsACorruptCopyOpensAnIncidentThatRepairsTheRest) {
    Orchestrator rec{mgr, recovery_options()};
    Writer writer{mgr};
    damage_in(0, "account:3");
    damage_in(1, "account:4");
    mgr.invalidate_cache();
    EXPECT_EQ(mgr.get("account:3"), accounts["account:3"]);
    EXPECT_EQ(stored_value(0, "account:3"), accounts["account:3"]);  // repaired by the read
    EXPECT_EQ(stored_value(1, "account:4"), "<fails its checksum>");

    rec.check();
    const auto inc = finished(rec);
    print_rto("a read met a corrupt Redis copy", inc);
    EXPECT_EQ(inc.event.type, FailureType::data_corruption);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered);
    EXPECT_TRUE(inc.rto);
    EXPECT_EQ(stored_value(1, "account:4"), accounts["account:4"]);
    for (std::size_t t = 0; t < tier_count; ++t)
        for (const auto* key : {"account:3", "account:4"})
            EXPECT_EQ(stored_value(t, key), accounts[key]) << tier_names[t] << " " << key;
    rec.check();
    EXPECT_EQ(rec.stats().incidents, 1u);  // the scrub's own finds open no second incident
    expect_every_write_readable(writer, accounts);
}

// Every copy of a key damaged, nothing given to restore it from: automation
// cannot save it, so a person gets a checklist naming the key in each tier.
TEST_F(StackCorruption, EveryCopyCorruptWithoutARestoreSourceIsEscalatedNamingTheKey) {
    const std::string key = "account:9";
    Orchestrator rec{mgr, recovery_options()};
    Writer writer{mgr};
    for (std::size_t t = 0; t < tier_count; ++t) damage_in(t, key);

    const auto report = rec.scrub();
    EXPECT_EQ(report.corrupt, tier_count);
    EXPECT_EQ(report.lost.size(), tier_count);
    const auto inc = finished(rec);
    print_rto("every copy, no restore source", inc);
    EXPECT_EQ(inc.event.type, FailureType::data_corruption);
    EXPECT_EQ(inc.outcome, IncidentOutcome::escalated);
    EXPECT_EQ(inc.attempts.size(), rec.options().max_attempts);
    ASSERT_FALSE(inc.checklist.empty());
    const auto checklist = read_all(inc.checklist);
    for (const auto* tier : tier_names) EXPECT_THAT(checklist, HasSubstr(std::string(tier) + ": '" + key + "'"));
    EXPECT_THAT(checklist, Not(HasSubstr(accounts[key])));  // never a value

    mgr.invalidate_cache();
    try {
        (void)mgr.get(key);
        ADD_FAILURE() << "a key with no valid copy was read";
    } catch (const strata::Error& e) {
        EXPECT_EQ(e.kind(), strata::ErrorKind::corrupt);
    }
    auto others = accounts;
    others.erase(key);
    expect_every_write_readable(writer, others);
}

// Every copy of a key damaged, a checkpoint taken before its last write
// given to use(): the key is restored from the newest verified checkpoint,
// written back through the manager, at the price of that last write (RPO >
// 0); every other write stays as it was acknowledged.
TEST_F(StackCorruption, EveryCopyCorruptIsRestoredFromTheNewestVerifiedCheckpoint) {
    const std::string key = "account:11";
    Checkpoints ckpt{mgr, strata::DirectoryCheckpointStore{checkpoints.path, {.fsync = false}}};
    const auto point = ckpt.create();
    ASSERT_TRUE(ckpt.verify(point.id));
    const std::string checkpointed = accounts[key];
    accounts[key] = "balance after the checkpoint";
    accounts["account:12"] = "also after the checkpoint";
    write_everywhere({{key, accounts[key]}, {"account:12", accounts["account:12"]}});
    Orchestrator rec{mgr, recovery_options()};
    rec.use(ckpt);
    Writer writer{mgr};
    for (std::size_t t = 0; t < tier_count; ++t) damage_in(t, key);

    EXPECT_EQ(rec.scrub().lost.size(), tier_count);
    const auto inc = finished(rec);
    print_rto("every copy, restored from a checkpoint", inc);
    EXPECT_EQ(inc.event.type, FailureType::data_corruption);
    EXPECT_EQ(inc.outcome, IncidentOutcome::recovered) << (inc.attempts.empty() ? "" : inc.attempts.back().error);
    ASSERT_TRUE(inc.rpo);
    EXPECT_GT(*inc.rpo, strata::Clock::duration::zero());

    accounts[key] = checkpointed;
    for (std::size_t t = 0; t < tier_count; ++t)
        EXPECT_THAT(stored_value(t, key), AnyOf(Eq(checkpointed), Eq("<absent>"))) << tier_names[t];
    EXPECT_EQ(mgr.scrub().corrupt, 0u);
    expect_every_write_readable(writer, accounts);
}
