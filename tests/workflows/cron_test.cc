// Cron expressions: parsing (and its errors, which name the field), the
// next fire time after an instant, the latest at or before one, and the
// canonical text. Times are UTC.
#include "pipeline/workflows/cron_expr.h"

#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::workflows {
namespace {

using ::testing::HasSubstr;
namespace chr = std::chrono;

// "YYYY-MM-DD", "YYYY-MM-DDTHH:MMZ" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) in Unix
// seconds.
std::int64_t Utc(const std::string& iso) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const int n = std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  EXPECT_TRUE(n == 3 || n == 5 || n == 6) << iso;
  const chr::sys_days day{chr::year(y) / chr::month(static_cast<unsigned>(mo)) /
                          chr::day(static_cast<unsigned>(d))};
  return day.time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
}

std::string Iso(std::optional<std::int64_t> t) {
  if (!t) return "none";
  const chr::sys_seconds tp{chr::seconds{*t}};
  const auto day = chr::floor<chr::days>(tp);
  const chr::year_month_day ymd{day};
  const chr::hh_mm_ss hms{tp - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02dZ", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()));
  return buf;
}

CronExpr Parse(const std::string& text) {
  auto e = ParseCron(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().message();
  return e.ok() ? *e : CronExpr{};
}

struct NextCase {
  const char* expr;
  const char* from;
  std::vector<const char*> next;  // the next fire times, each after the one before
};

// Checked against an independent day-by-day scan.
const std::vector<NextCase> kNextCases = {
    {"* * * * *", "2025-01-01T00:00:00Z", {"2025-01-01T00:01Z", "2025-01-01T00:02Z", "2025-01-01T00:03Z"}},
    {"* * * * *", "2025-01-01T00:00:30Z", {"2025-01-01T00:01Z"}},
    {"0 * * * *", "2025-03-10T10:00:00Z", {"2025-03-10T11:00Z", "2025-03-10T12:00Z"}},
    {"30 9 * * *", "2025-03-10T09:30:00Z", {"2025-03-11T09:30Z", "2025-03-12T09:30Z"}},
    {"*/15 * * * *", "2025-03-10T10:07:00Z", {"2025-03-10T10:15Z", "2025-03-10T10:30Z", "2025-03-10T10:45Z"}},
    {"*/15 * * * *", "2025-03-10T23:50:00Z", {"2025-03-11T00:00Z"}},
    {"10-40/10 * * * *", "2025-03-10T10:00:00Z", {"2025-03-10T10:10Z", "2025-03-10T10:20Z", "2025-03-10T10:30Z"}},
    {"10-40/10 * * * *", "2025-03-10T10:40:00Z", {"2025-03-10T11:10Z", "2025-03-10T11:20Z"}},
    {"5/15 * * * *", "2025-03-10T10:00:00Z", {"2025-03-10T10:05Z", "2025-03-10T10:20Z", "2025-03-10T10:35Z"}},
    {"5/15 * * * *", "2025-03-10T10:50:00Z", {"2025-03-10T11:05Z"}},
    {"1,5,10 * * * *", "2025-03-10T10:05:00Z", {"2025-03-10T10:10Z", "2025-03-10T11:01Z", "2025-03-10T11:05Z"}},
    {"0 */7 * * *", "2025-03-10T15:00:00Z", {"2025-03-10T21:00Z", "2025-03-11T00:00Z", "2025-03-11T07:00Z"}},
    {"23 0-20/2 * * *", "2025-03-10T19:00:00Z", {"2025-03-10T20:23Z", "2025-03-11T00:23Z"}},
    {"0 0,12 1 */2 *", "2025-01-01T12:00:00Z", {"2025-03-01T00:00Z", "2025-03-01T12:00Z", "2025-05-01T00:00Z"}},
    {"0 0 31 * *", "2025-04-01", {"2025-05-31T00:00Z", "2025-07-31T00:00Z", "2025-08-31T00:00Z"}},
    {"0 0 31 * *", "2025-01-31T00:00:00Z", {"2025-03-31T00:00Z"}},
    {"0 0 30 * *", "2025-01-30T12:00Z", {"2025-03-30T00:00Z", "2025-04-30T00:00Z"}},
    {"0 12 28-31 2 *", "2024-02-27", {"2024-02-28T12:00Z", "2024-02-29T12:00Z", "2025-02-28T12:00Z"}},
    {"0 0 * 2 *", "2024-02-28T00:00:00Z", {"2024-02-29T00:00Z", "2025-02-01T00:00Z"}},
    {"0 0 29 2 *", "2025-01-01", {"2028-02-29T00:00Z", "2032-02-29T00:00Z"}},
    {"0 0 29 2 *", "2024-02-29T00:00:00Z", {"2028-02-29T00:00Z"}},
    {"0 0 29 2 *", "2096-03-01", {"2104-02-29T00:00Z"}},
    {"0 0 13 * FRI", "2025-06-01", {"2025-06-06T00:00Z", "2025-06-13T00:00Z", "2025-06-20T00:00Z"}},
    {"0 0 13 * FRI", "2025-09-01", {"2025-09-05T00:00Z", "2025-09-12T00:00Z", "2025-09-13T00:00Z"}},
    {"0 0 * * FRI", "2025-06-01", {"2025-06-06T00:00Z", "2025-06-13T00:00Z", "2025-06-20T00:00Z"}},
    {"0 0 13 * *", "2025-06-01", {"2025-06-13T00:00Z", "2025-07-13T00:00Z", "2025-08-13T00:00Z"}},
    {"0 0 1-7 * MON", "2025-09-06", {"2025-09-07T00:00Z", "2025-09-08T00:00Z", "2025-09-15T00:00Z"}},
    {"0 0 */2 * MON", "2025-09-01", {"2025-09-15T00:00Z", "2025-09-29T00:00Z", "2025-10-13T00:00Z"}},
    {"0 0 * 2 MON", "2025-01-01", {"2025-02-03T00:00Z", "2025-02-10T00:00Z"}},
    {"0 0 30 2 MON", "2025-01-01", {"2025-02-03T00:00Z", "2025-02-10T00:00Z"}},
    {"0 9 * * MON-FRI", "2025-03-14T10:00:00Z", {"2025-03-17T09:00Z", "2025-03-18T09:00Z", "2025-03-19T09:00Z"}},
    {"0 9 * * mon-Fri", "2025-03-14T10:00:00Z", {"2025-03-17T09:00Z"}},
    {"0 9 * * Sat,sUn", "2025-03-10", {"2025-03-15T09:00Z", "2025-03-16T09:00Z", "2025-03-22T09:00Z"}},
    {"0 0 1 jan,Jul *", "2025-02-01", {"2025-07-01T00:00Z", "2026-01-01T00:00Z"}},
    {"0 0 1 JUN-AUG *", "2025-01-01", {"2025-06-01T00:00Z", "2025-07-01T00:00Z", "2025-08-01T00:00Z"}},
    {"0 0 1 6-8 *", "2025-01-01", {"2025-06-01T00:00Z"}},
    {"0 0 * * 7", "2025-03-10", {"2025-03-16T00:00Z", "2025-03-23T00:00Z"}},
    {"0 0 * * 0", "2025-03-10", {"2025-03-16T00:00Z"}},
    {"0 0 * * 5-7", "2025-03-10", {"2025-03-14T00:00Z", "2025-03-15T00:00Z", "2025-03-16T00:00Z"}},
    {"0 0 * * SUN", "2025-03-16T00:00:00Z", {"2025-03-23T00:00Z"}},
    {"@hourly", "2025-03-10T10:30:00Z", {"2025-03-10T11:00Z", "2025-03-10T12:00Z"}},
    {"@daily", "2025-03-10T10:30:00Z", {"2025-03-11T00:00Z", "2025-03-12T00:00Z"}},
    {"@midnight", "2025-03-10T10:30:00Z", {"2025-03-11T00:00Z"}},
    {"@weekly", "2025-03-10T10:30:00Z", {"2025-03-16T00:00Z", "2025-03-23T00:00Z"}},
    {"@monthly", "2025-03-10T10:30:00Z", {"2025-04-01T00:00Z", "2025-05-01T00:00Z"}},
    {"@yearly", "2025-03-10T10:30:00Z", {"2026-01-01T00:00Z", "2027-01-01T00:00Z"}},
    {"@annually", "2025-03-10T10:30:00Z", {"2026-01-01T00:00Z"}},
    {"@DAILY", "2025-03-10T23:59:59Z", {"2025-03-11T00:00Z"}},
    {"* * * * *", "2025-12-31T23:59:00Z", {"2026-01-01T00:00Z", "2026-01-01T00:01Z"}},
    {"59 23 31 12 *", "2025-12-31T23:59:00Z", {"2026-12-31T23:59Z"}},
    {"0 0 1 1 *", "2025-12-31T23:59:59Z", {"2026-01-01T00:00Z"}},
    {"15 14 1 * *", "2025-01-01T14:15:00Z", {"2025-02-01T14:15Z", "2025-03-01T14:15Z"}},
    {"0 22 * * 1-5", "2025-03-14T22:00:00Z", {"2025-03-17T22:00Z", "2025-03-18T22:00Z"}},
    {"0 12 * * SUN", "2025-03-16T11:59:59Z", {"2025-03-16T12:00Z"}},
    {"0 0 1 1 *", "1969-06-01", {"1970-01-01T00:00Z"}},
    {"30 * * * *", "1969-12-31T23:59:30Z", {"1970-01-01T00:30Z"}},
    {"*/20 8-10 * * *", "2025-03-10T10:40:00Z", {"2025-03-11T08:00Z", "2025-03-11T08:20Z"}},
    {"0\t9  *  * *", "2025-03-10", {"2025-03-10T09:00Z"}},
    {"  0 9 * * *  ", "2025-03-10T09:00:00Z", {"2025-03-11T09:00Z"}},
    // SUN ending a range is 7.
    {"0 0 * * FRI-SUN", "2025-03-10", {"2025-03-14T00:00Z", "2025-03-15T00:00Z", "2025-03-16T00:00Z"}},
    {"0 0 * * sat-sun", "2025-03-16T00:00:00Z", {"2025-03-22T00:00Z", "2025-03-23T00:00Z"}},
};

TEST(CronNextAfter, Table) {
  ASSERT_GE(kNextCases.size(), 45u);
  for (const NextCase& c : kNextCases) {
    const CronExpr e = Parse(c.expr);
    std::int64_t t = Utc(c.from);
    for (const char* want : c.next) {
      const auto got = e.NextAfter(t);
      ASSERT_EQ(Iso(got), Iso(Utc(want))) << "\"" << c.expr << "\" after " << Iso(t);
      EXPECT_TRUE(e.Matches(*got)) << c.expr << " " << want;
      t = *got;  // from exactly a fire time: the one after it
    }
  }
}

TEST(CronNextAfter, ImpossibleDatesNeverFire) {
  for (const char* text : {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *", "* * 30-31 FEB *"}) {
    const CronExpr e = Parse(text);
    EXPECT_EQ(e.NextAfter(Utc("2025-01-01")), std::nullopt) << text;
    EXPECT_EQ(e.PrevAtOrBefore(Utc("2025-01-01")), std::nullopt) << text;
  }
}

TEST(CronNextAfter, OutsideYears1To9999IsNone) {
  const CronExpr every_minute = Parse("* * * * *");
  EXPECT_EQ(every_minute.NextAfter(Utc("9999-12-31T23:59:00Z")), std::nullopt);
  EXPECT_EQ(every_minute.NextAfter(std::numeric_limits<std::int64_t>::max()), std::nullopt);
  EXPECT_EQ(every_minute.NextAfter(std::numeric_limits<std::int64_t>::min()), std::nullopt);
  EXPECT_EQ(every_minute.PrevAtOrBefore(std::numeric_limits<std::int64_t>::min()), std::nullopt);
  EXPECT_EQ(every_minute.PrevAtOrBefore(std::numeric_limits<std::int64_t>::max()), std::nullopt);
  EXPECT_EQ(Iso(every_minute.NextAfter(Utc("9999-12-31T23:58:00Z"))), "9999-12-31T23:59Z");
  EXPECT_EQ(Iso(every_minute.PrevAtOrBefore(Utc("0001-01-01T00:00:30Z"))), "0001-01-01T00:00Z");
  EXPECT_EQ(Parse("0 0 1 1 *").NextAfter(Utc("9999-06-01")), std::nullopt);
}

struct PrevCase {
  const char* expr;
  const char* at;
  std::optional<const char*> want;
};

const std::vector<PrevCase> kPrevCases = {
    {"0 0 * * *", "2025-03-10T10:30:00Z", "2025-03-10T00:00Z"},
    {"0 0 * * *", "2025-03-10T00:00:00Z", "2025-03-10T00:00Z"},
    {"0 0 * * *", "2025-03-10T00:00:59Z", "2025-03-10T00:00Z"},
    {"*/15 * * * *", "2025-03-10T10:14:59Z", "2025-03-10T10:00Z"},
    {"0 9 * * MON-FRI", "2025-03-16T12:00:00Z", "2025-03-14T09:00Z"},
    {"0 0 29 2 *", "2028-02-28T23:59:00Z", "2024-02-29T00:00Z"},
    {"0 0 31 * *", "2025-07-01", "2025-05-31T00:00Z"},
    {"59 23 31 12 *", "2026-01-01T00:00:00Z", "2025-12-31T23:59Z"},
    {"0 0 13 * FRI", "2025-09-14", "2025-09-13T00:00Z"},
    {"0 0,12 1 */2 *", "2025-02-15", "2025-01-01T12:00Z"},
    {"30 * * * *", "1970-01-01T00:10:00Z", "1969-12-31T23:30Z"},
    {"0 0 30 2 *", "2025-01-01", std::nullopt},
};

TEST(CronPrevAtOrBefore, Table) {
  for (const PrevCase& c : kPrevCases) {
    const auto got = Parse(c.expr).PrevAtOrBefore(Utc(c.at));
    EXPECT_EQ(Iso(got), c.want ? Iso(Utc(*c.want)) : "none") << "\"" << c.expr << "\" at " << c.at;
  }
}

// NextAfter and PrevAtOrBefore search in opposite directions with their own
// code; at random instants they must agree with each other and Matches.
TEST(CronNextAfter, AgreesWithPrevAtOrBeforeAndMatches) {
  std::mt19937_64 rng(20250310);
  std::uniform_int_distribution<std::int64_t> instant(Utc("1960-01-01"), Utc("2110-01-01"));
  for (const NextCase& c : kNextCases) {
    const CronExpr e = Parse(c.expr);
    for (int i = 0; i < 200; ++i) {
      const std::int64_t t = instant(rng);
      const auto next = e.NextAfter(t);
      const auto prev = e.PrevAtOrBefore(t);
      ASSERT_TRUE(next && prev) << c.expr << " at " << t;
      EXPECT_GT(*next, t);
      EXPECT_LE(*prev, t);
      EXPECT_EQ(*next % 60, 0);
      EXPECT_TRUE(e.Matches(*next) && e.Matches(*prev)) << c.expr << " at " << t;
      // Nothing fires strictly between them.
      EXPECT_EQ(e.NextAfter(*prev), next) << c.expr << " at " << Iso(t);
      EXPECT_EQ(e.PrevAtOrBefore(*next - 1), prev) << c.expr << " at " << Iso(t);
    }
  }
}

// Minute by minute over a few days: NextAfter is the first minute Matches.
TEST(CronNextAfter, AgreesWithAMinuteByMinuteScan) {
  for (const char* text : {"*/7 */5 * * *", "0-10/3 1-23/4 * * *", "17 3 1,15 * WED", "45 23 * * 0",
                           "0 0 */3 * SAT-SUN", "59 * 2-4 * *"}) {
    const CronExpr e = Parse(text);
    const std::int64_t start = Utc("2025-02-25T13:37:00Z");
    std::int64_t expected_prev = -1;
    for (std::int64_t t = start; t < start + 10 * 86400; t += 60) {
      if (e.Matches(t)) {
        if (expected_prev >= 0) {
          EXPECT_EQ(e.NextAfter(expected_prev), t) << text;
        }
        EXPECT_EQ(e.PrevAtOrBefore(t + 59), t) << text;
        expected_prev = t;
      }
    }
    EXPECT_GT(expected_prev, 0) << text;
  }
}

TEST(CronMatches, OnlyWholeMinutesOfTheSchedule) {
  const CronExpr e = Parse("30 9 * * MON-FRI");
  EXPECT_TRUE(e.Matches(Utc("2025-03-14T09:30:00Z")));   // a Friday
  EXPECT_FALSE(e.Matches(Utc("2025-03-14T09:30:01Z")));  // not second 0
  EXPECT_FALSE(e.Matches(Utc("2025-03-15T09:30:00Z")));  // a Saturday
  EXPECT_FALSE(e.Matches(Utc("2025-03-14T09:31:00Z")));
}

struct ErrorCase {
  const char* text;
  const char* message;  // after `bad cron "<text>": `
};

TEST(CronParse, ErrorsNameTheFieldAndWhatIsWrong) {
  const std::vector<ErrorCase> cases = {
      {"61 * * * *", "minute 61 out of range 0-59"},
      {"* 24 * * *", "hour 24 out of range 0-23"},
      {"* * 0 * *", "day-of-month 0 out of range 1-31"},
      {"* * 32 * *", "day-of-month 32 out of range 1-31"},
      {"* * 99999999999 * *", "day-of-month 99999999999 out of range 1-31"},
      {"* * * 13 *", "month 13 out of range 1-12"},
      {"* * * 0 *", "month 0 out of range 1-12"},
      {"* * * * 8", "day-of-week 8 out of range 0-7"},
      {"*/0 * * * *", "minute step 0 out of range 1-60"},
      {"* 0-12/0 * * *", "hour step 0 out of range 1-24"},
      {"* * * */13 *", "month step 13 out of range 1-12"},
      {"*/x * * * *", "minute: step \"x\" is not a number"},
      {"* * * * 1/", "day-of-week: step \"\" is not a number"},
      {"30-10 * * * *", "minute range 30-10 is reversed"},
      {"* * * * FRI-MON", "day-of-week range FRI-MON is reversed"},
      {"* * 20-10/2 * *", "day-of-month range 20-10 is reversed"},
      {"* * * *", "4 fields, missing day-of-week (expected minute hour day-of-month month day-of-week)"},
      {"* *", "2 fields, missing day-of-month month day-of-week"},
      {"0 0 * * * *", "6 fields, expected 5: minute hour day-of-month month day-of-week"},
      {"", "empty expression"},
      {" \t ", "empty expression"},
      {"abc * * * *", "minute: \"abc\" is not a number"},
      {"1x * * * *", "minute: \"1x\" is not a number"},
      {"* -1 * * *", "hour: a value is missing"},
      {"* 1- * * *", "hour: a value is missing"},
      {"1,,2 * * * *", "minute: empty item in list \"1,,2\""},
      {"1, * * * *", "minute: empty item in list \"1,\""},
      {"* * * FOO *", "month: \"FOO\" is neither a number nor a month name (JAN-DEC)"},
      {"* * * JAN-FOO *", "month: \"FOO\" is neither a number nor a month name"},
      {"* * * * MONDAY", "day-of-week: \"MONDAY\" is neither a number nor a weekday name (SUN-SAT)"},
      {"* * MON * *", "day-of-month: \"MON\" is not a number"},
      {"* * * * JAN", "day-of-week: \"JAN\" is neither a number nor a weekday name"},
      {"@reboot", "unknown macro @reboot"},
      {"@daily 5", "@daily takes no fields after it"},
  };
  for (const ErrorCase& c : cases) {
    auto e = ParseCron(c.text);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(e.status().message(),
                HasSubstr("bad cron \"" + std::string(c.text) + "\": " + c.message));
  }
  EXPECT_EQ(ParseCron("61 * * * *").status().message(),
            "bad cron \"61 * * * *\": minute 61 out of range 0-59");
}

TEST(CronToString, CanonicalNumbersAndTheOriginalText) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"*/15 * * * *", "*/15 * * * *"},
      {"0 9 * * MON-FRI", "0 9 * * 1-5"},
      {"@daily", "0 0 * * *"},
      {"@WEEKLY", "0 0 * * 0"},
      {"@hourly", "0 * * * *"},
      {"@monthly", "0 0 1 * *"},
      {"@annually", "0 0 1 1 *"},
      {"0 0 * * 7", "0 0 * * 0"},
      {"0 0 * * 5-7", "0 0 * * 0,5,6"},
      {"10-40/10 * * * *", "10,20,30,40 * * * *"},
      {"5/15 * * * *", "5,20,35,50 * * * *"},
      {"0 0 */2 * MON", "0 0 */2 * 1"},
      {"0 0 1-31 * MON", "0 0 1-31 * 1"},
      {"0 0 13 * FRI", "0 0 13 * 5"},
      {"0 0 * * 0-7", "0 0 * * 0-6"},
      {"0 0 * * SUN-SUN", "0 0 * * 0"},
      {"0 0 * * MON-SUN", "0 0 * * 0-6"},
      {"0 0 * * */1", "0 0 * * *"},
      {"0,30 */7 1,15 jan-MAR,dec *", "0,30 */7 1,15 1-3,12 *"},
      {"*/10,5 * */10,5 * *", "0,5,10,20,30,40,50 * */10,5 * *"},
      {"0 0 * * */2", "0 0 * * */2"},
      {"0 0-23 1 1-12 *", "0 * 1 * *"},
      {"0\t9 * *  *", "0 9 * * *"},
  };
  for (const auto& [text, canonical] : cases) {
    const CronExpr e = Parse(text);
    EXPECT_EQ(e.ToString(), canonical) << text;
    EXPECT_EQ(e.text(), text);
  }
}

TEST(CronToString, ParsingTheCanonicalTextGivesTheSameSchedule) {
  for (const NextCase& c : kNextCases) {
    const CronExpr e = Parse(c.expr);
    const CronExpr again = Parse(e.ToString());
    EXPECT_EQ(again, e) << c.expr << " -> " << e.ToString();
    EXPECT_EQ(again.ToString(), e.ToString());
  }
  EXPECT_EQ(Parse("0 0 1 1 *"), Parse("@yearly"));
  EXPECT_FALSE(Parse("0 0 13 * FRI") == Parse("0 0 */1 * FRI"));  // OR versus AND
}

}  // namespace
}  // namespace sluice::workflows
