// `sluice cron`, run in this process (cli::Run with string streams): the
// next fire times as text and as JSON, --from formats, and usage errors.
// No broker is started: the command must not need one.
#include <chrono>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "producers/cli.h"
#include "producers/cli_cron.h"
#include "producers/exit_codes.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CliRun {
  int code;
  std::string out, err;
};

// `sluice ARGS...`, with --broker naming an endpoint no client could use:
// a command that tried to connect would fail.
CliRun Sluice(std::vector<std::string> args) {
  args.insert(args.begin(), {"sluice", "--broker", "not-an-endpoint", "--rpc-timeout", "0.1"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, err;
  const int code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

TEST(CliCron, PrintsTheNextFireTimesWithTheirWeekdays) {
  auto r = Sluice({"cron", "0 9 * * MON-FRI", "--from", "2025-03-14T10:00:00Z", "--count", "3"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "2025-03-17T09:00:00Z  Mon\n"
            "2025-03-18T09:00:00Z  Tue\n"
            "2025-03-19T09:00:00Z  Wed\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliCron, FiveByDefaultAcrossTheYearEnd) {
  auto r = Sluice({"cron", "@daily", "--from", "2025-12-30"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "2025-12-31T00:00:00Z  Wed\n"
            "2026-01-01T00:00:00Z  Thu\n"
            "2026-01-02T00:00:00Z  Fri\n"
            "2026-01-03T00:00:00Z  Sat\n"
            "2026-01-04T00:00:00Z  Sun\n");
}

TEST(CliCron, JsonIsTheExpressionAsGivenAndTheTimes) {
  // Both day fields restricted: every 13th and every Friday.
  auto r = Sluice({"--json", "cron", "0 0 13 * fri", "--from", "2025-09-01", "--count", "3"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "{\"expr\":\"0 0 13 * fri\",\"next\":[\"2025-09-05T00:00:00Z\",\"2025-09-12T00:00:00Z\","
            "\"2025-09-13T00:00:00Z\"]}\n");
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc, json::parse(R"({"expr": "0 0 13 * fri", "next": ["2025-09-05T00:00:00Z",
                                "2025-09-12T00:00:00Z", "2025-09-13T00:00:00Z"]})"));
  // --json after the command works too.
  auto after = Sluice({"cron", "@yearly", "--from", "2025-06-01", "--count", "1", "--json"});
  EXPECT_EQ(after.code, kExitOk) << after.err;
  EXPECT_EQ(json::parse(after.out), json::parse(R"({"expr":"@yearly","next":["2026-01-01T00:00:00Z"]})"));
}

TEST(CliCron, FromTakesSecondsMinutesOrADateWithOrWithoutZ) {
  for (const char* from : {"2025-03-10T10:30:00Z", "2025-03-10T10:30:00", "2025-03-10T10:30Z",
                           "2025-03-10T10:30", "2025-03-10 10:30", "2025-03-10t10:30:59z"}) {
    auto r = Sluice({"cron", "@hourly", "--from", from, "--count", "1"});
    EXPECT_EQ(r.code, kExitOk) << from << ": " << r.err;
    EXPECT_EQ(r.out, "2025-03-10T11:00:00Z  Mon\n") << from;
  }
  auto date = Sluice({"cron", "@hourly", "--from", "2025-03-10", "--count", "1"});
  EXPECT_EQ(date.out, "2025-03-10T01:00:00Z  Mon\n");
  // Strictly after: from exactly a fire time, the next one.
  auto exact = Sluice({"cron", "@hourly", "--from", "2025-03-10T11:00Z", "--count", "1"});
  EXPECT_EQ(exact.out, "2025-03-10T12:00:00Z  Mon\n");
}

TEST(CliCron, WithoutFromStartsNow) {
  const auto before = std::chrono::system_clock::now();
  auto r = Sluice({"--json", "cron", "* * * * *", "--count", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc["next"].size(), 2u);
  auto first = ParseUtcInstant(doc["next"][0].get<std::string>());
  ASSERT_TRUE(first.has_value());
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count();
  EXPECT_GT(*first, now_s - 1);
  EXPECT_LE(*first, now_s + 61);
}

TEST(CliCron, ABadExpressionIsAUsageErrorNamingTheField) {
  auto r = Sluice({"cron", "61 * * * *", "--from", "2025-01-01"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "sluice: bad cron \"61 * * * *\": minute 61 out of range 0-59\n");
  for (const char* expr : {"* * * *", "*/0 * * * *", "* * * * 5-1", "@reboot", "hello"}) {
    auto bad = Sluice({"--json", "cron", expr});
    EXPECT_EQ(bad.code, kExitUsage) << expr;
    EXPECT_EQ(bad.out, "") << expr;
    EXPECT_THAT(bad.err, StartsWith("sluice: bad cron \"" + std::string(expr) + "\": ")) << expr;
    EXPECT_EQ(bad.err.find('\n'), bad.err.size() - 1) << "one line: " << bad.err;
  }
}

TEST(CliCron, ABadFromOrCountIsAUsageError) {
  for (const char* from : {"2025-02-30", "2025-3-1", "tomorrow", "2025-03-10T25:00Z",
                           "2025-03-10T10:30:00+01:00", "2025-03-10T10:30:00.5Z", "0000-01-01", ""}) {
    auto r = Sluice({"cron", "@daily", "--from", from});
    EXPECT_EQ(r.code, kExitUsage) << from;
    EXPECT_EQ(r.out, "") << from;
    EXPECT_THAT(r.err, StartsWith("sluice: ")) << from;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
  EXPECT_THAT(Sluice({"cron", "@daily", "--from", "2025-02-30"}).err,
              HasSubstr("--from '2025-02-30' is not a UTC time"));
  EXPECT_EQ(Sluice({"cron", "@daily", "--count", "0"}).code, kExitUsage);
  EXPECT_EQ(Sluice({"cron", "@daily", "--count", "x"}).code, kExitUsage);
  EXPECT_EQ(Sluice({"cron"}).code, kExitUsage);
  EXPECT_EQ(Sluice({"cron", "0", "0", "*", "*", "*"}).code, kExitUsage);  // unquoted
}

TEST(CliCron, AnExpressionThatNeverFiresIsAUsageError) {
  auto r = Sluice({"--json", "cron", "0 0 30 2 *", "--from", "2025-01-01"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "sluice: cron \"0 0 30 2 *\" never fires (nothing within 9 years after "
            "2025-01-01T00:00:00Z)\n");
}

TEST(CliCron, HelpExitsZero) {
  auto r = Sluice({"cron", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("--count"));
  EXPECT_THAT(Sluice({"--help"}).out, HasSubstr("cron"));
}

TEST(ParseUtcInstant, FormatsAndCalendarChecks) {
  EXPECT_EQ(ParseUtcInstant("1970-01-01"), 0);
  EXPECT_EQ(ParseUtcInstant("1970-01-01T00:01Z"), 60);
  EXPECT_EQ(ParseUtcInstant("2024-02-29T23:59:59Z"), 1709251199);
  EXPECT_EQ(ParseUtcInstant("1969-12-31T23:59:59"), -1);
  EXPECT_EQ(ParseUtcInstant("2025-02-29"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-04-31"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-01-01T24:00Z"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-01-01T12:60Z"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-01-01T12:00:60Z"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-01-01T12Z"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-01-01Z"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("2025-01-01T12:00ZZ"), std::nullopt);
  EXPECT_EQ(ParseUtcInstant("25-01-01"), std::nullopt);
}

}  // namespace
}  // namespace sluice::cli
