// Stage parameter templates: the run variables (and the date override), and
// {var} expansion in nested params, with unknown placeholders, ${env:X}
// secrets and extract.http's url left for the worker.
#include "pipeline/workflows/stage_template.h"

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::workflows {
namespace {

using ::testing::HasSubstr;
using Vars = std::map<std::string, std::string>;
using nlohmann::json;

Vars MustVars(const std::string& date, const json& defaults, const Vars& overrides) {
  Result<Vars> v = RunVariables(date, "r12", "coffee", defaults, overrides);
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? *v : Vars{};
}

TEST(StageTemplateTest, RunVariables) {
  const Vars v = MustVars("2024-03-05", json{{"region", "eu"}, {"limit", "10"}}, {{"limit", "20"}, {"mode", "full"}});
  EXPECT_EQ(v, (Vars{{"date", "2024-03-05"},
                     {"year", "2024"},
                     {"month", "03"},
                     {"day", "05"},
                     {"yesterday", "2024-03-04"},
                     {"run_id", "r12"},
                     {"workflow", "coffee"},
                     {"region", "eu"},
                     {"limit", "20"},
                     {"mode", "full"}}));
  // No defaults at all (null) is fine.
  EXPECT_EQ(MustVars("2024-03-05", json(), {}).size(), 7u);
  // The day before, across a month and a leap day; a run parameter of that
  // name (a registry from before the variable) keeps its value.
  EXPECT_EQ(MustVars("2024-03-01", json(), {})["yesterday"], "2024-02-29");
  EXPECT_EQ(MustVars("2024-01-01", json(), {})["yesterday"], "2023-12-31");
  EXPECT_EQ(MustVars("2024-03-05", json{{"yesterday", "mine"}}, {})["yesterday"], "mine");
}

TEST(StageTemplateTest, DateParameterOverridesLogicalDate) {
  Vars v = MustVars("2024-03-05", json::object(), {{"date", "2023-12-31"}});
  EXPECT_EQ(v["date"], "2023-12-31");
  EXPECT_EQ(v["year"], "2023");
  EXPECT_EQ(v["month"], "12");
  EXPECT_EQ(v["day"], "31");
  // A registry default pins it too, and an override beats the default.
  v = MustVars("2024-03-05", json{{"date", "2020-02-29"}}, {});
  EXPECT_EQ(v["date"], "2020-02-29");
  v = MustVars("2024-03-05", json{{"date", "2020-02-29"}}, {{"date", "2021-01-01"}});
  EXPECT_EQ(v["date"], "2021-01-01");
  EXPECT_EQ(v["day"], "01");
}

TEST(StageTemplateTest, BadDateOverrideRejected) {
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-04-31", "2024-3-5", "20240305", "yesterday",
                          "0000-01-01", "2024-03-05T00:00", ""}) {
    Result<Vars> v = RunVariables("2024-03-05", "r1", "w", json::object(), {{"date", bad}});
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(v.status().message(), HasSubstr("must be a calendar date YYYY-MM-DD")) << bad;
  }
  EXPECT_FALSE(RunVariables("2024-02-30", "r1", "w", json::object(), {}).ok());
  EXPECT_TRUE(RunVariables("2000-02-29", "r1", "w", json::object(), {}).ok());
}

TEST(StageTemplateTest, ReservedAndMalformedParametersRejected) {
  for (const char* name : {"year", "month", "day", "run_id", "workflow", ""}) {
    Result<Vars> v = RunVariables("2024-03-05", "r1", "w", json::object(), {{name, "x"}});
    EXPECT_FALSE(v.ok()) << name;
  }
  EXPECT_FALSE(RunVariables("2024-03-05", "r1", "w", json{{"year", "1999"}}, {}).ok());
  EXPECT_FALSE(RunVariables("2024-03-05", "r1", "w", json::array(), {}).ok());
}

TEST(StageTemplateTest, ExpandsEveryStringAtAnyDepthButNotKeys) {
  const Vars vars = MustVars("2024-03-05", json{{"region", "eu"}}, {});
  const json params = json::parse(R"({
    "command": "load-{region}",
    "args": ["--date={date}", "--run", "{run_id}", 3, true, null, ["{year}/{month}/{day}"]],
    "env": {"WF": "{workflow}", "{region}": "key stays"},
    "n": 1.5
  })");
  const json want = json::parse(R"({
    "command": "load-eu",
    "args": ["--date=2024-03-05", "--run", "r12", 3, true, null, ["2024/03/05"]],
    "env": {"WF": "coffee", "{region}": "key stays"},
    "n": 1.5
  })");
  EXPECT_EQ(ExpandStageParams(params, vars, "exec"), want);
}

TEST(StageTemplateTest, UnknownPlaceholdersAndSecretsKept) {
  const Vars vars = MustVars("2024-03-05", json::object(), {});
  const json params = json::parse(R"({
    "a": "{nope} {date}",
    "secret": "Bearer ${env:API_TOKEN}",
    "json": "{\"k\": 1}",
    "brace": "{ {date}} {",
    "double": "{{date}}",
    "empty": "{}"
  })");
  const json out = ExpandStageParams(params, vars, "exec");
  EXPECT_EQ(out["a"], "{nope} 2024-03-05");
  EXPECT_EQ(out["secret"], "Bearer ${env:API_TOKEN}");
  EXPECT_EQ(out["json"], "{\"k\": 1}");
  EXPECT_EQ(out["brace"], "{ 2024-03-05} {");
  EXPECT_EQ(out["double"], "{2024-03-05}");
  EXPECT_EQ(out["empty"], "{}");
}

TEST(StageTemplateTest, SubstitutedValuesAreNotExpandedAgain) {
  const Vars vars = MustVars("2024-03-05", json::object(), {{"p", "{date}"}});
  EXPECT_EQ(ExpandStageParams(json{{"x", "{p}"}}, vars, "exec"), (json{{"x", "{date}"}}));
  EXPECT_EQ(ExpandTemplate("{p}-{date}", vars), "{date}-2024-03-05");
}

TEST(StageTemplateTest, ExtractHttpUrlLeftToWorkerAndDateAdded) {
  const Vars vars = MustVars("2024-03-05", json{{"region", "eu"}}, {});
  const json params = json::parse(R"({
    "source": "prices_{region}",
    "url": "http://127.0.0.1:8080/{region}/prices/{year}-{month}-{day}/{date}.csv?t=${env:T}",
    "headers": {"X-Run": "{run_id}", "url": "{date}"}
  })");
  const json out = ExpandStageParams(params, vars, "extract.http");
  // The date placeholders stay for the worker (it walks back periods on
  // 404); other run variables are filled in.
  EXPECT_EQ(out["url"], "http://127.0.0.1:8080/eu/prices/{year}-{month}-{day}/{date}.csv?t=${env:T}");
  EXPECT_EQ(out["source"], "prices_eu");
  EXPECT_EQ(out["headers"], (json{{"X-Run", "r12"}, {"url", "2024-03-05"}}));
  EXPECT_EQ(out["date"], "2024-03-05");

  // A stage's own date wins (and is expanded like any value).
  EXPECT_EQ(ExpandStageParams(json{{"url", "u"}, {"date", "2020-01"}}, vars, "extract.http")["date"], "2020-01");
  EXPECT_EQ(ExpandStageParams(json{{"url", "u"}, {"date", "{year}"}}, vars, "extract.http")["date"], "2024");
  // The date override is the date the worker gets.
  const Vars over = MustVars("2024-03-05", json::object(), {{"date", "2023-07-09"}});
  EXPECT_EQ(ExpandStageParams(json{{"url", "u/{date}"}}, over, "extract.http"),
            (json{{"url", "u/{date}"}, {"date", "2023-07-09"}}));
  // Other kinds get no date param and their url expanded.
  EXPECT_EQ(ExpandStageParams(json{{"url", "u/{date}"}}, vars, "exec"), (json{{"url", "u/2024-03-05"}}));
}

TEST(StageTemplateTest, CalendarDates) {
  EXPECT_TRUE(IsCalendarDate("2024-02-29"));
  EXPECT_TRUE(IsCalendarDate("1900-02-28"));
  EXPECT_FALSE(IsCalendarDate("1900-02-29"));
  EXPECT_TRUE(IsCalendarDate("9999-12-31"));
  EXPECT_FALSE(IsCalendarDate("2024-00-10"));
  EXPECT_FALSE(IsCalendarDate("2024-01-00"));
  EXPECT_FALSE(IsCalendarDate("2024-01-1a"));
}

}  // namespace
}  // namespace sluice::workflows
