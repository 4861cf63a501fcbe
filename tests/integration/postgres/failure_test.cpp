// A server that goes away, comes back or freezes: each test runs its own
// private cluster (scripts/postgres-server.sh), so the shared one is never
// disturbed, and every signal sent is undone before the test ends.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "common/failure.hpp"
#include "integration/postgres/pg_env.hpp"

// Read by LeakSanitizer (sanitizer builds) at startup. libpqxx 6.4 leaks the
// PGresult of a statement that fails on a broken connection: make_result asks
// the dead connection for its encoding and throws before owning the result.
// libpqxx 7 fixed it; only these tests break connections on purpose.
extern "C" __attribute__((used)) const char* __lsan_default_suppressions() {
    return "leak:pqxx::connection_base::exec\n"
           "leak:pqxx::connection_base::register_prepared\n";
}

namespace strata {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// The postmaster and every process it started (one backend per connection),
// found by parent PID in /proc.
std::vector<pid_t> cluster_processes(pid_t postmaster) {
    std::vector<pid_t> out{postmaster};
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        // pid (comm) state ppid ...; comm may hold spaces, so parse after ')'.
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        char state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == postmaster) out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
    return out;
}

// SIGSTOPs the whole cluster; SIGCONT on destruction, whatever happened.
class Frozen {
public:
    explicit Frozen(pid_t postmaster) : pids_(cluster_processes(postmaster)) {
        for (pid_t p : pids_) ::kill(p, SIGSTOP);
    }
    ~Frozen() {
        for (pid_t p : pids_) ::kill(p, SIGCONT);
    }
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;

private:
    std::vector<pid_t> pids_;
};

std::vector<Entry> some_entries(int n) {
    std::vector<Entry> out;
    for (int i = 0; i < n; ++i)
        out.push_back({"k" + std::to_string(i), make_record("value " + std::to_string(i), static_cast<std::uint64_t>(i) + 1)});
    return out;
}

void expect_all_there(PostgresTier& tier, const std::vector<Entry>& entries) {
    std::vector<std::string> keys;
    for (const auto& e : entries) keys.push_back(e.key);
    const auto got = tier.fetch_many(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        ASSERT_TRUE(got[i].has_value()) << keys[i];
        EXPECT_EQ(got[i]->value, entries[i].record.value);
    }
}

TEST(PostgresFailure, RestartIsInvisibleToTheNextCall) {
    pgtest::PrivateCluster cluster;
    PostgresTier tier(pgtest::short_timeouts(cluster.conninfo()));
    const auto entries = some_entries(100);
    tier.store_many(entries);
    // Two pooled connections, both about to be killed by the restart.
    std::thread other([&] { (void)tier.fetch("k1"); });
    (void)tier.fetch("k2");
    other.join();

    cluster.restart();
    expect_all_there(tier, entries);  // the dead connection is replaced and the call retried
    tier.store("after", make_record("restart", 1));
    EXPECT_TRUE(tier.fetch("after").has_value());
    EXPECT_TRUE(tier.ping());
}

TEST(PostgresFailure, ADownServerIsUnavailableThenRecovers) {
    pgtest::PrivateCluster cluster;
    PostgresTier tier(pgtest::short_timeouts(cluster.conninfo()));
    const auto entries = some_entries(10);
    tier.store_many(entries);

    const pid_t pid = cluster.pid();
    ASSERT_EQ(::kill(pid, SIGINT), 0);  // fast shutdown
    for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_NE(::kill(pid, 0), 0) << "the server did not stop";

    const auto start = Steady::now();
    try {
        (void)tier.fetch("k1");
        FAIL() << "read from a stopped server";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::unavailable) << e.what();
        EXPECT_EQ(e.operation().rfind("fetch", 0), 0u) << e.operation();
    }
    EXPECT_THROW(tier.store("k1", make_record("lost?", 99)), Error);
    EXPECT_FALSE(tier.ping());
    EXPECT_LT(Steady::now() - start, 15s);

    cluster.restart();
    expect_all_there(tier, entries);  // nothing was written while down, nothing lost
    EXPECT_TRUE(tier.ping());
}

TEST(PostgresFailure, AFrozenServerTimesOutInBoundedTime) {
    pgtest::PrivateCluster cluster;
    PostgresTier tier(pgtest::short_timeouts(cluster.conninfo()));
    const auto entries = some_entries(10);
    tier.store_many(entries);
    {
        Frozen frozen(cluster.pid());
        // A pooled connection: the server cannot enforce statement_timeout,
        // so the client deadline (500 + 500 ms) cuts the call.
        auto start = Steady::now();
        try {
            (void)tier.fetch("k1");
            FAIL() << "a frozen server answered";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::timeout) << e.what();
            EXPECT_TRUE(e.transient());
        }
        EXPECT_LT(Steady::now() - start, 15s);

        // A new connection: libpq's connect_timeout ends the attempt.
        start = Steady::now();
        try {
            tier.store("k1", make_record("frozen", 50));
            FAIL() << "a frozen server accepted a write";
        } catch (const Error& e) {
            EXPECT_TRUE(e.kind() == ErrorKind::timeout || e.kind() == ErrorKind::unavailable) << e.what();
            EXPECT_FALSE(std::string(e.what()).empty());
        }
        EXPECT_FALSE(tier.ping());
        EXPECT_LT(Steady::now() - start, 30s);
    }
    // Thawed: the cut connections are gone, new ones work.
    expect_all_there(tier, entries);
    tier.store("thawed", make_record("yes", 1));
    EXPECT_TRUE(tier.fetch("thawed").has_value());
}

// The table dropped behind the tier (an operator, or a database re-created
// empty): the call that finds it gone fails not_found (42P01), the next call
// re-creates it, and the tier is empty and usable again, on the connections
// that prepared their statements against the old table too.
TEST(PostgresFailure, ATableDroppedBehindTheTierIsRecreatedByTheCallAfterTheFailure) {
    auto o = pgtest::options();
    PostgresTier tier(o);
    const auto entries = some_entries(10);
    tier.store_many(entries);
    expect_all_there(tier, entries);
    pqxx::connection admin(o.conninfo);
    for (const char* first_call : {"fetch", "store"}) {
        SCOPED_TRACE(first_call);
        pqxx::nontransaction(admin).exec("DROP TABLE \"" + o.table + "\"");  // its strata_schema row stays
        try {
            if (std::string_view(first_call) == "fetch")
                (void)tier.fetch("k1");
            else
                tier.store("k1", make_record("into a dropped table", 100));
            FAIL() << "a call on a dropped table succeeded";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::not_found) << e.what();
            EXPECT_NE(std::string(e.what()).find("42P01"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(tier.fetch("k1").has_value());
        EXPECT_TRUE(tier.keys("*").empty());
        EXPECT_EQ(tier.stats().keys, 0u);
        tier.store_many(entries);
        expect_all_there(tier, entries);
    }
    pgtest::drop_table(o);
}

// A database dropped behind the tier is not something the tier can make: every
// call says not_found, naming the database, until it exists again. Then the
// call that finds the table missing re-arms the migration and the next works.
TEST(PostgresFailure, ADroppedDatabaseStaysNotFoundUntilItIsCreatedAgain) {
    const std::string db = "strata_gone_" + std::to_string(::getpid());
    pqxx::connection admin(pgtest::shared_conninfo());
    const auto admin_exec = [&](const std::string& sql) { pqxx::nontransaction(admin).exec(sql); };
    admin_exec("DROP DATABASE IF EXISTS " + db);
    admin_exec("CREATE DATABASE " + db);
    auto o = pgtest::options(pgtest::shared_conninfo() + " dbname=" + db);
    PostgresTier tier(o);
    const auto entries = some_entries(10);
    tier.store_many(entries);

    admin_exec("DROP DATABASE " + db + " WITH (FORCE)");  // ends the tier's sessions
    for (int call = 0; call < 3; ++call) {
        try {
            tier.store("k1", make_record("into a dropped database", 100));
            FAIL() << "a write into a dropped database succeeded";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::not_found) << e.what();
            EXPECT_NE(std::string(e.what()).find("database \"" + db + "\" does not exist"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_FALSE(tier.ping());

    admin_exec("CREATE DATABASE " + db);
    EXPECT_EQ(testing::failure_of([&] { (void)tier.fetch("k1"); }).first, ErrorKind::not_found);  // 42P01
    EXPECT_FALSE(tier.fetch("k1").has_value());
    EXPECT_TRUE(tier.keys("*").empty());
    tier.store_many(entries);
    expect_all_there(tier, entries);
    admin_exec("DROP DATABASE " + db + " WITH (FORCE)");
}

// SQLSTATEs by what a program can do about them: only authentication,
// permission and configured limits are refusals; a serialization failure or
// deadlock is worth running again, not a conflict with a newer version.
TEST(PostgresErrors, SqlstatesMapToWhatAProgramCanActOn) {
    using detail::postgres::kind_of_sqlstate;
    for (const char* s : {"28000", "28P01", "42501", "53400"}) EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::rejected) << s;
    for (const char* s : {"08006", "53300", "53100", "53200", "40001", "40P01", "57P01", "57P03", "25006", "58030", ""})
        EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::unavailable) << s;
    for (const char* s : {"57014", "55P03", "40003"}) EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::timeout) << s;
    for (const char* s : {"3D000", "42P01"}) EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::not_found) << s;
    for (const char* s : {"42P07", "42710"}) EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::conflict) << s;
    for (const char* s : {"XX001", "XX002"}) EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::corrupt) << s;
    for (const char* s : {"23505", "23514", "22001", "22P02", "42601", "42703", "0A000", "40002", "54000"})
        EXPECT_EQ(kind_of_sqlstate(s), ErrorKind::invalid) << s;
    // libpqxx 6 drops some SQLSTATEs; the exception's type still gives the class.
    EXPECT_EQ(detail::postgres::sqlstate_of(pqxx::insufficient_privilege("denied")), "42501");
    EXPECT_EQ(detail::postgres::sqlstate_of(pqxx::sql_error("e", "q", "23514")), "23514");
    EXPECT_TRUE(Error(kind_of_sqlstate("40P01"), "postgres", "store", "").transient());
    EXPECT_FALSE(Error(kind_of_sqlstate("23514"), "postgres", "store", "").transient());
}

// Refusals at connect time carry no SQLSTATE: the server's words decide.
TEST(PostgresErrors, ConnectRefusalsAreRejected) {
    using detail::postgres::kind_of_connect_failure;
    const std::string at = "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  ";
    EXPECT_EQ(kind_of_connect_failure(at + "password authentication failed for user \"u\""), ErrorKind::rejected);
    EXPECT_EQ(kind_of_connect_failure(at + "role \"u\" does not exist"), ErrorKind::rejected);
    EXPECT_EQ(kind_of_connect_failure(at + "no pg_hba.conf entry for host \"10.0.0.1\""), ErrorKind::rejected);
    EXPECT_EQ(kind_of_connect_failure(at + "permission denied for database \"d\""), ErrorKind::rejected);
    EXPECT_EQ(kind_of_connect_failure(at + "database \"d\" does not exist"), ErrorKind::not_found);
    EXPECT_EQ(kind_of_connect_failure(at + "the database system is starting up"), ErrorKind::unavailable);
    EXPECT_EQ(kind_of_connect_failure("connection to server at \"127.0.0.1\", port 1 failed: Connection refused"),
              ErrorKind::unavailable);
}

// The same against the server: an unknown role and a role without rights are
// refused, an unknown database is not found.
TEST(PostgresErrors, ServerRefusalsCarryTheirKinds) {
    const auto kind_of = [](const PostgresOptions& o) {
        return testing::failure_of([&] { (void)PostgresTier(o).fetch("k"); }).first;
    };
    auto owner = pgtest::options();
    PostgresTier(owner).store("k", make_record("v", 1));  // the table exists, owned by the test's role

    auto o = owner;
    o.conninfo += " user=strata_no_such_role";
    EXPECT_EQ(kind_of(o), ErrorKind::rejected);
    o = owner;
    o.conninfo += " dbname=strata_no_such_db";
    EXPECT_EQ(kind_of(o), ErrorKind::not_found);

    const std::string role = "strata_limited_" + std::to_string(::getpid());
    pqxx::connection admin(owner.conninfo);
    pqxx::nontransaction(admin).exec("CREATE ROLE " + role + " LOGIN");
    o = owner;
    o.conninfo += " user=" + role;
    EXPECT_EQ(kind_of(o), ErrorKind::rejected);  // 42501: no rights on the tier's tables
    pqxx::nontransaction(admin).exec("DROP ROLE " + role);
    pgtest::drop_table(owner);
}

}  // namespace
}  // namespace strata
