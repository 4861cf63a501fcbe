// Backup schedules: the cron parser (every form, every malformed form with
// its message, bounds, names, the either-day rule, leap days, month ends,
// year rollover, expressions that never match) and next_after against
// instants checked by hand; then BackupScheduler over the real MemoryTier
// and FileTier and a DirectoryBackupStore, driven by a test clock (missed
// runs run once, a restart knows the last runs, full before differential
// before incremental, failures counted and retried) and on its thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <strata/backup/scheduler.hpp>
#include <strata/core/cron.hpp>
#include <strata/strata.hpp>

#include "common/damage.hpp"
#include "common/temp_dir.hpp"

using namespace std::chrono;
using namespace std::chrono_literals;
using strata::BackupType;
using strata::Clock;
using strata::CronExpression;
using strata::ScheduledJob;

namespace {

using strata::testing::flip_byte;

Clock::time_point at(year_month_day d, minutes tod = 0min) { return sys_days{d} + tod; }


std::optional<Clock::time_point> next(std::string_view expr, Clock::time_point t) {
    return CronExpression::parse(expr).next_after(t);
}

// The message parse gives for `expr`; fails the test if it parses.
std::string error_of(std::string_view expr) {
    try {
        const auto e = CronExpression::parse(expr);
        ADD_FAILURE() << "'" << expr << "' parsed as '" << e.to_string() << "'";
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST(CronParse, MalformedFormsNameTheFieldAndTheReason) {
    const struct {
        std::string_view expr, says;
    } cases[] = {
        {"", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
        {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
        {"* * * * * *", "got 6"},
        {"60 * * * *", "minute field: 60 is out of range 0-59"},
        {"* 24 * * *", "hour field: 24 is out of range 0-23"},
        {"* * 0 * *", "day-of-month field: 0 is out of range 1-31"},
        {"* * 32 * *", "day-of-month field: 32 is out of range 1-31"},
        {"* * * 0 *", "month field: 0 is out of range 1-12"},
        {"* * * 13 *", "month field: 13 is out of range 1-12"},
        {"* * * * 8", "day-of-week field: 8 is out of range 0-7"},
        {"99999999999999999999 * * * *", "minute field: 99999999999999999999 is out of range 0-59"},
        {"a * * * *", "minute field: 'a' is not a number"},
        {"JAN * * * *", "minute field: 'JAN' is not a number"},
        {"* * * JANUARY *", "month field: 'JANUARY' is neither a number nor a name"},
        {"* * * * MONDAY", "day-of-week field: 'MONDAY' is neither a number nor a name"},
        {"1x * * * *", "minute field: '1x' is not a number"},
        {"-1 * * * *", "minute field: a value is missing"},
        {"1- * * * *", "minute field: a value is missing"},
        {"1--2 * * * *", "minute field: '-2' is not a number"},
        {"5-3 * * * *", "minute field: range 5-3 runs backwards"},
        {"* * * DEC-JAN *", "month field: range DEC-JAN runs backwards"},
        {"*/0 * * * *", "minute field: step 0 is not from 1 to 60"},
        {"*/61 * * * *", "minute field: step 61 is not from 1 to 60"},
        {"* */25 * * *", "hour field: step 25 is not from 1 to 24"},
        {"* * * * */8", "day-of-week field: step 8 is not from 1 to 7"},
        {"*/ * * * *", "minute field: step '' is not a number from 1 to 60"},
        {"*/x * * * *", "minute field: step 'x' is not a number from 1 to 60"},
        {"*/1/2 * * * *", "minute field: step '1/2' is not a number"},
        {"*/999 * * * *", "minute field: step '999' is not a number from 1 to 60"},
        {", * * * *", "minute field: an element of the list is empty"},
        {"1, * * * *", "minute field: an element of the list is empty"},
        {"1,,2 * * * *", "minute field: an element of the list is empty"},
        {"*,5 * * * *", "minute field: '*' must be the whole field"},
        {"5,* * * * *", "minute field: '*' must be the whole field"},
        {"* * * * *\n", "day-of-week field: '*\n' is neither a number nor a name"},
        {"@reboot", "'@reboot' is not one of @yearly"},
        {"@daily *", "expected 5 fields"},
    };
    for (const auto& c : cases) {
        const std::string message = error_of(c.expr);
        EXPECT_NE(message.find(c.says), std::string::npos) << "'" << c.expr << "' gave: " << message;
        EXPECT_TRUE(message.starts_with("strata: cron expression '")) << message;
    }
    // A huge expression is named, not copied whole.
    EXPECT_LT(error_of(std::string(10'000, '1')).size(), 300u);
}

TEST(CronParse, FieldBoundsAreAccepted) {
    EXPECT_EQ(CronExpression::parse("0 0 1 1 0").to_string(), "0 0 1 1 0");
    EXPECT_EQ(CronExpression::parse("59 23 31 12 7").to_string(), "59 23 31 12 0");
    EXPECT_EQ(CronExpression::parse("  \t0\t0  1 1 0 ").to_string(), "0 0 1 1 0");  // any run of blanks
}

TEST(CronParse, StepsRangesListsAndNames) {
    const auto t = at(2024y / 3 / 4);  // a Monday
    auto minutes_of = [&](std::string_view field) {
        std::vector<int> out;
        const auto e = CronExpression::parse(std::string(field) + " 0 * * *");
        for (int m = 0; m < 60; ++m)
            if (e.matches(t + std::chrono::minutes{m})) out.push_back(m);
        return out;
    };
    EXPECT_EQ(minutes_of("*/15"), (std::vector<int>{0, 15, 30, 45}));
    EXPECT_EQ(minutes_of("10-20/5"), (std::vector<int>{10, 15, 20}));
    EXPECT_EQ(minutes_of("5/20"), (std::vector<int>{5, 25, 45}));  // from 5 to the field's end
    EXPECT_EQ(minutes_of("1,3,58-59"), (std::vector<int>{1, 3, 58, 59}));
    EXPECT_EQ(minutes_of("*/60"), (std::vector<int>{0}));
    EXPECT_EQ(minutes_of("7-7"), (std::vector<int>{7}));

    const auto p = CronExpression::parse;
    EXPECT_EQ(p("0 0 * * 7"), p("0 0 * * 0"));
    EXPECT_EQ(p("0 0 * * sun"), p("0 0 * * 0"));
    EXPECT_EQ(p("0 0 * * 5-7"), p("0 0 * * 0,5,6"));
    EXPECT_EQ(p("0 0 * * 0-7"), p("0 0 * * 0-6"));
    EXPECT_EQ(p("0 0 * jan-Mar Mon-FRI"), p("0 0 * 1-3 1-5"));
    EXPECT_EQ(p("0 0 * JAN-DEC/3 *"), p("0 0 * 1,4,7,10 *"));
    EXPECT_EQ(p("* * * * 5-7/2"), p("* * * * 0,5"));
    EXPECT_NE(p("0 0 * * 1"), p("0 0 * * 2"));
    // Same days, other rule: a restricted full list is not '*'.
    EXPECT_NE(p("0 0 1-31 * 1"), p("0 0 * * 1"));
}

TEST(CronParse, MacrosAreTheirFiveFieldForms) {
    const auto p = CronExpression::parse;
    EXPECT_EQ(p("@yearly"), p("0 0 1 1 *"));
    EXPECT_EQ(p("@annually"), p("0 0 1 1 *"));
    EXPECT_EQ(p("@monthly"), p("0 0 1 * *"));
    EXPECT_EQ(p("@weekly"), p("0 0 * * 0"));
    EXPECT_EQ(p("@daily"), p("0 0 * * *"));
    EXPECT_EQ(p(" @midnight "), p("0 0 * * *"));
    EXPECT_EQ(p("@hourly"), p("0 * * * *"));
}

TEST(CronParse, ToStringIsCanonicalAndParsesBack) {
    const struct {
        std::string_view in, out;
    } cases[] = {
        {"* * * * *", "* * * * *"},
        {"*/1 0-23 * 1-12 *", "* * * * *"},
        {"*/15 */6 * * *", "*/15 */6 * * *"},
        {"*/40 * * * *", "*/40 * * * *"},
        {"*/59 * * * *", "*/59 * * * *"},
        {"*/60 * * * *", "*/60 * * * *"},
        {"0,15,30,45 * * * *", "0,15,30,45 * * * *"},
        {"1,2,3,5 9-17 * * mon-fri", "1-3,5 9-17 * * 1-5"},
        {"0 0 1-31 * 7", "0 0 1-31 * 0"},
        {"0 0 */2 * */7", "0 0 */2 * */7"},
        {"@weekly", "0 0 * * 0"},
    };
    for (const auto& c : cases) {
        const auto e = CronExpression::parse(c.in);
        EXPECT_EQ(e.to_string(), c.out) << c.in;
        EXPECT_EQ(CronExpression::parse(e.to_string()), e) << c.in;
    }
}

TEST(CronNextAfter, HandCheckedInstants) {
    // Strictly after, to the minute; seconds inside a minute round up.
    EXPECT_EQ(next("30 12 * * *", at(2024y / 3 / 4, 12h + 30min)), at(2024y / 3 / 5, 12h + 30min));
    EXPECT_EQ(next("30 12 * * *", at(2024y / 3 / 4, 12h + 29min) + 59s + 500ms), at(2024y / 3 / 4, 12h + 30min));
    EXPECT_EQ(next("* * * * *", at(2024y / 3 / 4, 10h) + 1ns), at(2024y / 3 / 4, 10h + 1min));
    EXPECT_EQ(next("*/15 */6 * * *", at(2024y / 3 / 4, 6h + 46min)), at(2024y / 3 / 4, 12h));
    // Leap days, month ends, year rollover.
    EXPECT_EQ(next("0 0 * * *", at(2024y / 2 / 28, 23h + 59min)), at(2024y / 2 / 29));
    EXPECT_EQ(next("0 0 * * *", at(2023y / 2 / 28, 23h + 59min)), at(2023y / 3 / 1));
    EXPECT_EQ(next("0 0 29 2 *", at(2024y / 3 / 1)), at(2028y / 2 / 29));
    EXPECT_EQ(next("0 0 29 2 *", at(2096y / 3 / 1)), at(2104y / 2 / 29));  // 2100 is not a leap year
    EXPECT_EQ(next("0 0 31 * *", at(2024y / 4 / 1)), at(2024y / 5 / 31));
    EXPECT_EQ(next("0 0 30 * *", at(2024y / 1 / 31)), at(2024y / 3 / 30));
    EXPECT_EQ(next("0 0 1 1 *", at(2024y / 12 / 31, 23h + 59min) + 30s), at(2025y / 1 / 1));
    EXPECT_EQ(next("59 23 31 12 *", at(2024y / 12 / 31, 23h + 59min)), at(2025y / 12 / 31, 23h + 59min));
    EXPECT_EQ(next("0 0 1 * *", at(2024y / 12 / 15)), at(2025y / 1 / 1));
    // 2024-03-01 is a Friday.
    EXPECT_EQ(next("0 9 * * mon-fri", at(2024y / 3 / 1, 9h)), at(2024y / 3 / 4, 9h));
    EXPECT_EQ(next("0 0 * * 0", at(2024y / 3 / 1)), at(2024y / 3 / 3));
    EXPECT_EQ(next("0 0 * * 7", at(2024y / 3 / 1)), at(2024y / 3 / 3));
    // Both day fields restricted: either matches.
    EXPECT_EQ(next("0 12 1 * MON", at(2024y / 2 / 28)), at(2024y / 3 / 1, 12h));  // the 1st, a Friday
    EXPECT_EQ(next("0 12 1 * MON", at(2024y / 3 / 1, 12h)), at(2024y / 3 / 4, 12h));  // a Monday
    EXPECT_EQ(next("0 0 13 * 5", at(2024y / 3 / 9)), at(2024y / 3 / 13));
    // One of them '*' or '*/n': both must match.
    EXPECT_EQ(next("0 0 */2 * MON", at(2024y / 3 / 1)), at(2024y / 3 / 11));  // odd days that are Mondays
    EXPECT_EQ(next("0 0 * 3 MON", at(2024y / 3 / 1)), at(2024y / 3 / 4));
    EXPECT_EQ(next("0 0 29 2 */7", at(2024y / 3 / 1)), at(2032y / 2 / 29));  // 29 February on a Sunday
    // Macros.
    EXPECT_EQ(next("@hourly", at(2024y / 3 / 4, 10h + 5min)), at(2024y / 3 / 4, 11h));
    EXPECT_EQ(next("@yearly", at(2024y / 3 / 4)), at(2025y / 1 / 1));
    // Before the epoch too.
    EXPECT_EQ(next("0 0 1 1 *", at(1969y / 6 / 1)), at(1970y / 1 / 1));
}

TEST(CronNextAfter, NeverMatchingExpressionsSayNever) {
    for (const auto expr : {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 */7", "* * 30-31 2 *"}) {
        EXPECT_FALSE(next(expr, at(2024y / 1 / 1))) << expr;
        EXPECT_FALSE(next(expr, Clock::time_point::min())) << expr;
    }
    // Nor beyond what the clock can hold.
    EXPECT_FALSE(next("* * * * *", Clock::time_point::max()));
    EXPECT_FALSE(next("0 0 29 2 */7", Clock::time_point::max() - hours{24 * 365}));
    EXPECT_TRUE(next("* * * * *", Clock::time_point::min()));
}

TEST(CronNextAfter, WhatItReturnsMatches) {
    for (const auto expr : {"*/7 3-5 * * *", "0 0 13 * 5", "0 0 29 2 *", "15 */5 1,15 * SAT", "@weekly"}) {
        const auto e = CronExpression::parse(expr);
        auto t = at(2024y / 1 / 1);
        for (int i = 0; i < 50; ++i) {
            const auto n = e.next_after(t);
            ASSERT_TRUE(n) << expr;
            EXPECT_GT(*n, t) << expr;
            EXPECT_TRUE(e.matches(*n)) << expr;
            EXPECT_FALSE(e.matches(*n - 1min) && *n - 1min > t) << expr << ": skipped a match";
            t = *n;
        }
    }
}

// ---- BackupScheduler -------------------------------------------------------

namespace {

using strata::testing::TempDir;
using Manager = strata::StateManager<strata::LruCache, strata::NeverPromote, strata::MemoryTier, strata::FileTier>;
using Backups = strata::BackupManager<Manager, strata::DirectoryBackupStore>;
using Scheduler = strata::BackupScheduler<Backups>;

static_assert(!std::is_polymorphic_v<Scheduler>);

const strata::BackupSchedule daily_six_hourly_minutely{
    .full = "0 0 * * *", .differential = "0 */6 * * *", .incremental = "* * * * *"};

class ScheduleTest : public ::testing::Test {
protected:
    TempDir dir;
    strata::EncryptionKey key = strata::EncryptionKey::generate();
    Manager mgr{strata::LruCache{100}, strata::NeverPromote{}, strata::MemoryTier{},
                strata::FileTier{dir.path / "tier", strata::FileTierOptions{.fsync = false}}};
    std::atomic<Clock::time_point> now{at(2026y / 3 / 1)};

    Backups make_backups() {
        auto o = strata::DirectoryBackupStore::backup_defaults();
        o.fsync = false;
        return Backups{mgr, strata::DirectoryBackupStore{dir.path / "backups", o},
                       strata::BackupOptions{.key = key, .clock = [this] { return now.load(); }}};
    }
    Backups backups = make_backups();

    void advance(Clock::duration d) { now = now.load() + d; }

    std::vector<BackupType> types() {
        std::vector<BackupType> out;
        for (const auto& b : backups.list()) out.push_back(b.type);
        return out;
    }
    static std::vector<ScheduledJob> jobs(const std::vector<strata::ScheduledRun>& runs) {
        std::vector<ScheduledJob> out;
        for (const auto& r : runs) {
            EXPECT_TRUE(r.ok) << strata::to_string(r.job) << ": " << r.error;
            out.push_back(r.job);
        }
        return out;
    }
};

using Jobs = std::vector<ScheduledJob>;
using Types = std::vector<BackupType>;
constexpr auto full = ScheduledJob::full, differential = ScheduledJob::differential,
               incremental = ScheduledJob::incremental;

}  // namespace

TEST_F(ScheduleTest, MalformedOrNeverMatchingScheduleIsRefusedNamingTheJob) {
    try {
        Scheduler s{backups, {.full = "0 0 * * *", .differential = "0 */0 * * *"}};
        FAIL() << "a step of 0 was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("BackupSchedule::differential: strata: cron expression '0 */0 * * *': "
                                             "hour field: step 0"),
                  std::string::npos)
            << e.what();
    }
    try {
        Scheduler s{backups, {.test_restore = "0 0 30 2 *"}};
        FAIL() << "an expression that never matches was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("BackupSchedule::test_restore: '0 0 30 2 *' never matches"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(ScheduleTest, FullFirstThenNothingOfTheSameInstantThenEachInItsSlot) {
    mgr.set("a", "1");
    Scheduler s{backups, daily_six_hourly_minutely};
    EXPECT_FALSE(s.next_due());
    // Never run: all three are due; the full does the others' work.
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{full});
    EXPECT_EQ(s.next_due(), now.load() + 1min);
    EXPECT_TRUE(s.run_due(now).empty());
    advance(30s);
    EXPECT_TRUE(s.run_due(now).empty());
    advance(30s);
    mgr.set("b", "2");
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{incremental});
    const auto inc = backups.list().back();
    EXPECT_EQ(inc.changed_keys, 2u);  // "b" in both tiers
    // 06:00: a differential, and no incremental right after it.
    now = at(2026y / 3 / 1, 5h + 59min);
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{incremental});
    advance(1min);
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{differential});
    // Midnight: only the full, though all three have a slot there.
    now = at(2026y / 3 / 2);
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{full});
    EXPECT_EQ(types(), (Types{BackupType::full, BackupType::incremental, BackupType::incremental,
                              BackupType::differential, BackupType::full}));
    EXPECT_EQ(s.stats().runs, 5u);
    EXPECT_EQ(s.stats().failures, 0u);
    EXPECT_EQ(backups.stats().created[static_cast<std::size_t>(BackupType::full)], 2u);
}

TEST_F(ScheduleTest, RunsMissedWhileDownRunOnceAndARestartKnowsTheLastRuns) {
    mgr.set("a", "1");
    {
        Scheduler s{backups, daily_six_hourly_minutely};
        EXPECT_EQ(jobs(s.run_due(now)), Jobs{full});
        advance(1min);
        EXPECT_EQ(jobs(s.run_due(now)), Jobs{incremental});
    }
    // A new process: a new BackupManager and scheduler over the same store.
    Backups again = make_backups();
    Scheduler s{again, daily_six_hourly_minutely};
    EXPECT_TRUE(s.run_due(now).empty()) << "ran again what the store shows done";
    advance(1min);
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{incremental});

    // Down for three days and a half: 3 fulls, 14 differentials and
    // thousands of incrementals missed; one full runs, for the first slot.
    const auto down_at = now.load();
    advance(hours{24 * 3 + 12});
    const auto ran = s.run_due(now);
    ASSERT_EQ(jobs(ran), Jobs{full});
    EXPECT_EQ(ran[0].due, at(2026y / 3 / 2));
    EXPECT_GT(ran[0].due, down_at);
    EXPECT_TRUE(s.run_due(now).empty());
    advance(1min);
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{incremental});
    EXPECT_EQ(types(), (Types{BackupType::full, BackupType::incremental, BackupType::incremental, BackupType::full,
                              BackupType::incremental}));
}

TEST_F(ScheduleTest, AFailedRunIsCountedAndRetriedAtItsNextSlot) {
    mgr.set("a", "1");
    // Only incrementals: the first has nothing to build on.
    Scheduler s{backups, {.incremental = "*/5 * * * *"}};
    const auto first = s.run_due(now);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_FALSE(first[0].ok);
    EXPECT_NE(first[0].error.find("make a full backup first"), std::string::npos) << first[0].error;
    EXPECT_EQ(s.stats().failures, 1u);
    ASSERT_TRUE(s.stats().last_failure);
    EXPECT_EQ(s.stats().last_failure->job, incremental);
    EXPECT_EQ(backups.stats().failures, 1u);  // the manager counted the failed create too
    // Not again before its next slot, however often asked.
    EXPECT_TRUE(s.run_due(now).empty());
    EXPECT_EQ(s.next_due(), now.load() + 5min);

    backups.create(BackupType::full);
    advance(5min);
    EXPECT_EQ(jobs(s.run_due(now)), Jobs{incremental});
    EXPECT_EQ(s.stats().runs, 2u);
    EXPECT_EQ(s.stats().failures, 1u);
}

TEST_F(ScheduleTest, ScheduledTestRestoresReportThroughTheStatistics) {
    for (int i = 0; i < 20; ++i) mgr.set("k" + std::to_string(i), "v");
    Scheduler s{backups, {.full = "0 0 * * *", .test_restore = "30 0 * * *"}};
    // Due together: the full runs first, so the test restore checks it.
    const auto ran = s.run_due(now);
    ASSERT_EQ(jobs(ran), (Jobs{full, ScheduledJob::test_restore}));
    EXPECT_EQ(ran[1].id, ran[0].id);
    auto st = backups.stats();
    ASSERT_TRUE(st.last_test_restore);
    EXPECT_TRUE(st.last_test_restore->ok);
    EXPECT_EQ(st.last_test_restore->id, ran[0].id);
    EXPECT_EQ(st.last_test_restore->keys, 40u);

    // Damage the newest backup in its records, then (a day later, in the
    // next full) in its manifest, which list() passes over: each time the
    // next scheduled test restore finds it.
    std::uint64_t failures = 0;
    for (const bool in_manifest : {false, true}) {
        SCOPED_TRACE(in_manifest ? "manifest" : "records");
        const auto newest = backups.list().back();
        const auto file = dir.path / "backups" / (newest.id + ".backup");
        const auto size = std::filesystem::file_size(file);
        const auto spot = in_manifest ? size - 60 : newest.stored_bytes / 2;
        const auto saved = dir.path / "saved";
        std::filesystem::copy_file(file, saved, std::filesystem::copy_options::overwrite_existing);
        flip_byte(file, spot);
        advance(30min);
        const auto tested = s.run_due(now);
        std::filesystem::copy_file(saved, file, std::filesystem::copy_options::overwrite_existing);
        ASSERT_EQ(tested.size(), 1u);
        EXPECT_EQ(tested[0].job, ScheduledJob::test_restore);
        EXPECT_EQ(tested[0].id, newest.id);
        EXPECT_FALSE(tested[0].ok);
        EXPECT_FALSE(tested[0].error.empty());
        st = backups.stats();
        ASSERT_TRUE(st.last_test_restore);
        EXPECT_EQ(st.last_test_restore->id, newest.id);
        EXPECT_FALSE(st.last_test_restore->ok);
        EXPECT_EQ(s.stats().failures, ++failures);
        advance(23h + 30min);
        EXPECT_EQ(jobs(s.run_due(now)), Jobs{full});
    }
}

TEST_F(ScheduleTest, SelectedTiersOnly) {
    mgr.set("both", "x");
    mgr.set("warm", "y", strata::at<1>);
    strata::BackupScheduler<Backups, strata::FileTier> s{backups, {.full = "@daily"}};
    ASSERT_EQ(jobs(s.run_due(now)), Jobs{full});
    EXPECT_EQ(backups.list().back().key_count, 2u);  // both keys, FileTier only (all tiers: 3)
}

namespace {

// What the scheduler's thread ran, for the test thread to wait on.
struct Observed {
    std::mutex m;
    std::condition_variable cv;
    std::vector<strata::ScheduledRun> runs;

    strata::BackupSchedulerOptions options(Clock::duration recheck) {
        return {.recheck = recheck, .on_run = [this](const strata::ScheduledRun& r) {
                    std::lock_guard lock(m);
                    runs.push_back(r);
                    cv.notify_all();
                }};
    }
    // Bounded so that a scheduler that never runs fails instead of hanging.
    bool wait_for_runs(std::size_t n) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, 60s, [&] { return runs.size() >= n; });
    }
    Jobs jobs() {
        std::lock_guard lock(m);
        Jobs out;
        for (const auto& r : runs) out.push_back(r.job);
        return out;
    }
};

}  // namespace

TEST_F(ScheduleTest, TheThreadRunsWhatIsDueAsTheClockMoves) {
    mgr.set("a", "1");
    Observed seen;
    Scheduler s{backups, daily_six_hourly_minutely, seen.options(1ms)};
    s.start();
    EXPECT_THROW(s.start(), std::logic_error);
    ASSERT_TRUE(seen.wait_for_runs(1));
    advance(1min);
    ASSERT_TRUE(seen.wait_for_runs(2));
    s.stop();
    EXPECT_EQ(seen.jobs(), (Jobs{full, incremental}));
    EXPECT_EQ(types(), (Types{BackupType::full, BackupType::incremental}));
    EXPECT_EQ(s.stats().runs, 2u);
    // Stopped: restarting picks up where it was.
    advance(1min);
    s.start();
    ASSERT_TRUE(seen.wait_for_runs(3));
    s.stop();
    EXPECT_EQ(seen.jobs(), (Jobs{full, incremental, incremental}));
}

TEST_F(ScheduleTest, AFailedRunOnTheThreadIsCountedAndTheThreadGoesOn) {
    mgr.set("a", "1");
    Observed seen;
    Scheduler s{backups, {.incremental = "* * * * *"}, seen.options(1ms)};
    s.start();
    ASSERT_TRUE(seen.wait_for_runs(1));  // nothing to build on yet
    backups.create(BackupType::full);
    advance(1min);
    ASSERT_TRUE(seen.wait_for_runs(2));
    s.stop();
    std::lock_guard lock(seen.m);
    EXPECT_FALSE(seen.runs[0].ok);
    EXPECT_TRUE(seen.runs[1].ok) << seen.runs[1].error;
    EXPECT_EQ(s.stats().failures, 1u);
    EXPECT_EQ(types(), (Types{BackupType::full, BackupType::incremental}));
}

TEST_F(ScheduleTest, StopDoesNotWaitOutASleepAndTheDestructorStops) {
    Observed seen;
    auto s = std::make_unique<Scheduler>(backups, strata::BackupSchedule{.full = "@yearly"}, seen.options(hours{24}));
    s->start();
    ASSERT_TRUE(seen.wait_for_runs(1));
    // The thread now sleeps until next year (a day at most per wait); stop
    // wakes it.
    auto stopped = std::async(std::launch::async, [&] { s->stop(); });
    ASSERT_EQ(stopped.wait_for(60s), std::future_status::ready) << "stop() waited out the sleep";
    s->start();
    auto destroyed = std::async(std::launch::async, [&] { s.reset(); });
    ASSERT_EQ(destroyed.wait_for(60s), std::future_status::ready) << "the destructor waited out the sleep";
    EXPECT_EQ(seen.jobs(), Jobs{full});
}

// DESIGN's spelling: the manager runs every tier's schedule itself.
TEST_F(ScheduleTest, TheManagerRunsItsOwnScheduleDrivenOrOnItsThread) {
    mgr.set("a", "1");
    EXPECT_THROW(backups.run_due(now), std::logic_error);
    EXPECT_THROW(backups.schedule({.full = "61 * * * *"}), std::invalid_argument);
    backups.schedule(daily_six_hourly_minutely);
    EXPECT_EQ(jobs(backups.run_due(now)), Jobs{full});
    advance(1min);
    EXPECT_EQ(jobs(backups.run_due(now)), Jobs{incremental});

    Observed seen;
    advance(1min);
    backups.start(daily_six_hourly_minutely, seen.options(1ms));
    ASSERT_TRUE(seen.wait_for_runs(1));
    backups.stop();
    EXPECT_EQ(seen.jobs(), Jobs{incremental});
    EXPECT_EQ(types(), (Types{BackupType::full, BackupType::incremental, BackupType::incremental}));
    // Started again and left running: the manager's destruction stops it.
    backups.start({.full = "@yearly"});
}
