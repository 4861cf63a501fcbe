// The PostgreSQL tier's error translation where a real server cannot be made
// to show it: libpqxx 6 exceptions without a SQLSTATE, failures of unknown
// outcome, passwords in every conninfo form kept out of messages, and
// options refused before any connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

#include "strata/tiers/postgres.hpp"

using namespace std::chrono_literals;
namespace pg = strata::detail::postgres;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The Error that rethrow_as_error makes of `thrown`.
template <class E>
strata::Error translated(const E& thrown, bool deadline_fired = false) {
    try {
        try {
            throw thrown;
        } catch (...) {
            pg::rethrow_as_error("warm-pg", "fetch", deadline_fired, {"s3cret"});
        }
    } catch (const strata::Error& e) {
        return e;
    }
    throw std::logic_error("rethrow_as_error returned");
}

}  // namespace

// libpqxx 6 builds some exception types without the SQLSTATE: the type
// then stands for its class, so the kind is still the documented one.
TEST(PostgresErrorEdges, ExceptionsWithoutASqlstateAreClassifiedByTheirType) {
    EXPECT_EQ(translated(pqxx::insufficient_privilege("denied")).kind(), strata::ErrorKind::rejected);
    EXPECT_EQ(translated(pqxx::undefined_table("no table")).kind(), strata::ErrorKind::not_found);
    EXPECT_EQ(translated(pqxx::syntax_error("bad")).kind(), strata::ErrorKind::invalid);
    EXPECT_EQ(translated(pqxx::insufficient_resources("full")).kind(), strata::ErrorKind::unavailable);
    EXPECT_EQ(translated(pqxx::integrity_constraint_violation("dup")).kind(), strata::ErrorKind::invalid);
    EXPECT_EQ(translated(pqxx::data_exception("22")).kind(), strata::ErrorKind::invalid);
    EXPECT_EQ(translated(pqxx::feature_not_supported("no")).kind(), strata::ErrorKind::invalid);
    const auto e = translated(pqxx::undefined_table("relation gone"));
    EXPECT_EQ(e.tier(), "warm-pg");
    EXPECT_THAT(e.what(), HasSubstr("[SQLSTATE 42P01]"));
    // No type to go by: libpq's own failure, not the server's verdict.
    EXPECT_EQ(translated(pqxx::sql_error("lost")).kind(), strata::ErrorKind::unavailable);
}

// A commit whose outcome is unknown may have applied: unavailable, or
// timeout when the client deadline cut it; never a secret in the message.
TEST(PostgresErrorEdges, FailuresOfUnknownOutcomeAreUnavailableOrTimeoutAndRedacted) {
    const auto e = translated(pqxx::in_doubt_error("commit of 's3cret' in doubt"));
    EXPECT_EQ(e.kind(), strata::ErrorKind::unavailable);
    EXPECT_EQ(e.operation(), "fetch");
    EXPECT_THAT(e.what(), Not(HasSubstr("s3cret")));
    EXPECT_THAT(e.what(), HasSubstr("***"));
    EXPECT_EQ(translated(pqxx::in_doubt_error("in doubt"), true).kind(), strata::ErrorKind::timeout);
}

TEST(PostgresErrorEdges, PasswordsAreFoundInEveryConninfoForm) {
    EXPECT_THAT(pg::conninfo_secrets("postgresql://app:uri-pass@db:5432/app?password=query-pass&sslmode=require"),
                ElementsAre("uri-pass", "query-pass"));
    EXPECT_THAT(pg::conninfo_secrets("host=db password='two words \\' quote' user=app"),
                ElementsAre("two words ' quote"));
    EXPECT_THAT(pg::conninfo_secrets("host=db password=back\\ slash"), ElementsAre("back slash"));
    EXPECT_TRUE(pg::conninfo_secrets("host=db user=app").empty());
    const auto secrets = pg::conninfo_secrets("host=db password='two words'");
    EXPECT_EQ(pg::clean_message("FATAL:\n\tpassword \"two words\" refused", secrets), "FATAL: password \"***\" refused");
}

TEST(PostgresErrorEdges, NonPositiveTimeoutsAreRefusedBeforeAnyConnection) {
    for (auto change : {+[](strata::PostgresOptions& o) { o.statement_timeout = 0ms; },
                        +[](strata::PostgresOptions& o) { o.connect_timeout = -1ms; },
                        +[](strata::PostgresOptions& o) { o.client_grace = -1ms; }}) {
        strata::PostgresOptions o;
        o.conninfo = "host=127.0.0.1 port=1 dbname=none";  // never dialled
        change(o);
        EXPECT_THROW(strata::PostgresTier{o}, std::invalid_argument);
    }
}
