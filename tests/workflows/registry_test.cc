// The workflow registry (TOML): a valid file's fields, defaults and stage
// order; each kind of problem reported with its line and workflow; several
// problems reported together; reading from disk.
#include "pipeline/workflows/registry.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::workflows {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> StageNames(const WorkflowDef& w) {
  std::vector<std::string> out;
  for (const StageDef& s : w.stages) out.push_back(s.name);
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The message of a registry that must not load.
std::string Error(const std::string& text) {
  Result<Registry> r = ParseRegistry(text, "reg.toml");
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

// A single-workflow file: `body` goes after a valid first stage.
//   line 1: [workflow.w]
//   line 2: [[workflow.w.stage]]
//   line 3: name = "a"
//   line 4: kind = "test.noop"
//   line 5+: body
std::string Wf(const std::string& body) {
  return "[workflow.w]\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"test.noop\"\n" + body;
}

TEST(RegistryTest, ValidRegistryFieldsAndDefaults) {
  const std::string text = R"([workflow.coffee]
schedule = "0 6 * * *"
catch_up = "latest"
max_active_runs = 3
description = "coffee prices"

[workflow.coffee.params]
region = "all"
limit = 10
strict = true
date = 2024-03-15

[[workflow.coffee.stage]]
name = "extract_prices"
kind = "extract.http"
queue = "extract"
params = { source = "prices", url = "http://127.0.0.1:8080/prices/{year}-{month}.csv", headers = { A = "${env:TOKEN}" }, tries = [1, 2.5, false], on = 2024-01-02 }
timeout_s = 600
max_attempts = 3
backoff_s = 1.5

[[workflow.coffee.stage]]
name = "load"
kind = "load"
depends_on = ["extract_prices"]

[workflow.adhoc]
[[workflow.adhoc.stage]]
name = "only"
kind = "exec"
)";
  Result<Registry> r = ParseRegistry(text, "reg.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->path, "reg.toml");
  ASSERT_EQ(r->workflows.size(), 2u);
  EXPECT_EQ(r->workflows[0].name, "adhoc");  // sorted by name
  EXPECT_EQ(r->workflows[1].name, "coffee");

  const WorkflowDef* adhoc = r->Find("adhoc");
  ASSERT_NE(adhoc, nullptr);
  EXPECT_EQ(adhoc->schedule, "");
  EXPECT_FALSE(adhoc->cron.has_value());
  EXPECT_EQ(adhoc->catch_up, CatchUp::kNone);
  EXPECT_EQ(adhoc->max_active_runs, 1u);
  EXPECT_EQ(adhoc->params, nlohmann::json::object());
  EXPECT_EQ(adhoc->line, 27);
  ASSERT_EQ(adhoc->stages.size(), 1u);
  const StageDef& only = adhoc->stages[0];
  EXPECT_EQ(only.kind, "exec");
  EXPECT_EQ(only.queue, "default");
  EXPECT_EQ(only.params, nlohmann::json::object());
  EXPECT_TRUE(only.depends_on.empty());
  EXPECT_EQ(only.timeout_ms, 0u);
  EXPECT_EQ(only.max_attempts, 0u);
  EXPECT_EQ(only.backoff_ms, 0u);
  EXPECT_EQ(only.line, 28);

  const WorkflowDef* w = r->Find("coffee");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(r->Find("tea"), nullptr);
  EXPECT_EQ(w->line, 1);
  EXPECT_EQ(w->schedule, "0 6 * * *");
  ASSERT_TRUE(w->cron.has_value());
  EXPECT_EQ(w->cron->ToString(), "0 6 * * *");
  EXPECT_EQ(w->catch_up, CatchUp::kLatest);
  EXPECT_STREQ(CatchUpName(w->catch_up), "latest");
  EXPECT_STREQ(CatchUpName(CatchUp::kNone), "none");
  EXPECT_EQ(w->max_active_runs, 3u);
  EXPECT_EQ(w->description, "coffee prices");
  EXPECT_EQ(w->params, (nlohmann::json{{"region", "all"}, {"limit", "10"}, {"strict", "true"},
                                       {"date", "2024-03-15"}}));
  EXPECT_THAT(StageNames(*w), ElementsAre("extract_prices", "load"));

  const StageDef* ex = w->FindStage("extract_prices");
  ASSERT_NE(ex, nullptr);
  EXPECT_EQ(w->FindStage("nope"), nullptr);
  EXPECT_EQ(ex->kind, "extract.http");
  EXPECT_EQ(ex->queue, "extract");
  EXPECT_EQ(ex->params["source"], "prices");
  EXPECT_EQ(ex->params["url"], "http://127.0.0.1:8080/prices/{year}-{month}.csv");
  EXPECT_EQ(ex->params["headers"], (nlohmann::json{{"A", "${env:TOKEN}"}}));
  EXPECT_EQ(ex->params["tries"], nlohmann::json::parse("[1, 2.5, false]"));
  EXPECT_TRUE(ex->params["tries"][0].is_number_integer());
  EXPECT_EQ(ex->params["on"], "2024-01-02");
  EXPECT_EQ(ex->timeout_ms, 600000u);
  EXPECT_EQ(ex->max_attempts, 3u);
  EXPECT_EQ(ex->backoff_ms, 1500u);
  EXPECT_EQ(ex->line, 13);

  const StageDef* load = w->FindStage("load");
  ASSERT_NE(load, nullptr);
  EXPECT_THAT(load->depends_on, ElementsAre("extract_prices"));
  EXPECT_EQ(load->line, 22);
}

TEST(RegistryTest, StagesInStableTopologicalOrder) {
  // A diamond declared bottom-up, plus an independent stage in the middle:
  // each stage comes after its dependencies, ties go to file order.
  const std::string text = R"([workflow.d]
[[workflow.d.stage]]
name = "join"
kind = "test.noop"
depends_on = ["right", "left"]
[[workflow.d.stage]]
name = "right"
kind = "test.noop"
depends_on = ["root"]
[[workflow.d.stage]]
name = "lonely"
kind = "test.noop"
[[workflow.d.stage]]
name = "left"
kind = "test.noop"
depends_on = ["root", "root"]
[[workflow.d.stage]]
name = "root"
kind = "test.noop"
)";
  Result<Registry> r = ParseRegistry(text, "reg.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const WorkflowDef& w = r->workflows.at(0);
  EXPECT_THAT(StageNames(w), ElementsAre("lonely", "root", "right", "left", "join"));
  EXPECT_THAT(w.FindStage("left")->depends_on, ElementsAre("root"));  // duplicates dropped
  EXPECT_THAT(w.FindStage("join")->depends_on, ElementsAre("right", "left"));
}

TEST(RegistryTest, EmptyFileIsAnEmptyRegistry) {
  Result<Registry> r = ParseRegistry("# nothing yet\n", "reg.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->workflows.empty());
}

TEST(RegistryTest, MacroScheduleAndEmptySchedule) {
  Result<Registry> r = ParseRegistry(
      "[workflow.h]\nschedule = \"@hourly\"\n[[workflow.h.stage]]\nname = \"a\"\nkind = \"exec\"\n"
      "[workflow.m]\nschedule = \"\"\n[[workflow.m.stage]]\nname = \"a\"\nkind = \"exec\"\n",
      "reg.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->Find("h")->cron.has_value());
  EXPECT_EQ(r->Find("h")->cron->ToString(), "0 * * * *");
  EXPECT_FALSE(r->Find("m")->cron.has_value());
}

TEST(RegistryTest, UnknownKind) {
  EXPECT_EQ(Error(Wf("[[workflow.w.stage]]\nname = \"b\"\nkind = \"extract.htp\"\n")),
            "reg.toml:7: workflow 'w': stage 'b': unknown kind \"extract.htp\"; did you mean "
            "'extract.http'? (a custom kind may not be this close to a built-in one; built-in: exec, "
            "extract.http, load, transform.sql, export.serving, backup, test.noop, test.sleep, test.fail, "
            "test.crash)");
}

// Defect: a stage of a custom kind (served by a worker of one's own, in any
// language) was refused as "unknown kind". Any well-formed kind is taken.
TEST(RegistryTest, CustomKindsAreAccepted) {
  Result<Registry> r = ParseRegistry(
      Wf("[[workflow.w.stage]]\nname = \"b\"\nkind = \"py.square\"\ndepends_on = [\"a\"]\n"
         "[[workflow.w.stage]]\nname = \"c\"\nkind = \"team-ml.train_v2\"\ndepends_on = [\"b\"]\n"),
      "reg.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const WorkflowDef* w = r->Find("w");
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->stages.size(), 3u);
  EXPECT_EQ(w->stages[1].kind, "py.square");
  EXPECT_EQ(w->stages[2].kind, "team-ml.train_v2");
}

// A near miss of a built-in kind is a typo, not a custom kind.
TEST(RegistryTest, ANearMissOfABuiltinKindIsRefusedWithASuggestion) {
  const std::pair<const char*, const char*> typos[] = {
      {"extract.htp", "extract.http"}, {"transform.sq", "transform.sql"}, {"Transform.SQL", "transform.sql"},
      {"exe", "exec"}, {"test.noopp", "test.noop"}};
  for (const auto& [typo, meant] : typos) {
    const std::string e = Error(Wf(std::string("[[workflow.w.stage]]\nname = \"b\"\nkind = \"") + typo + "\"\n"));
    EXPECT_THAT(e, HasSubstr(std::string("stage 'b': unknown kind \"") + typo + "\"; did you mean '" + meant + "'?"));
  }
}

TEST(RegistryTest, AMalformedKindIsRefused) {
  EXPECT_THAT(Error(Wf("[[workflow.w.stage]]\nname = \"b\"\nkind = \"py square\"\n")),
              HasSubstr("reg.toml:7: workflow 'w': stage 'b': bad kind \"py square\": it must be 1-64 "
                        "characters of [A-Za-z0-9._-]"));
}

TEST(RegistryTest, UnknownDependencyIsNamed) {
  EXPECT_EQ(Error(Wf("depends_on = [\"extract\"]\n")),
            "reg.toml:5: workflow 'w': stage 'a': unknown dependency 'extract'");
  // A near miss gets a suggestion; the element's own line is reported.
  EXPECT_EQ(Error(Wf("[[workflow.w.stage]]\nname = \"bb\"\nkind = \"exec\"\ndepends_on = [\n  \"a\",\n  \"ab\"]\n")),
            "reg.toml:10: workflow 'w': stage 'bb': unknown dependency 'ab' (did you mean 'a'?)");
}

TEST(RegistryTest, CycleNamesItsStages) {
  const std::string text = R"([workflow.loop]
[[workflow.loop.stage]]
name = "start"
kind = "exec"
[[workflow.loop.stage]]
name = "a"
kind = "exec"
depends_on = ["start", "c"]
[[workflow.loop.stage]]
name = "b"
kind = "exec"
depends_on = ["a"]
[[workflow.loop.stage]]
name = "c"
kind = "exec"
depends_on = ["b"]
[[workflow.loop.stage]]
name = "after"
kind = "exec"
depends_on = ["c"]
)";
  EXPECT_EQ(Error(text), "reg.toml:5: workflow 'loop': cycle: a -> c -> b -> a");
  // Two separate cycles: both reported.
  EXPECT_EQ(Error("[workflow.w]\nstage = [\n"
                  "  {name = \"a\", kind = \"exec\", depends_on = [\"b\"]},\n"
                  "  {name = \"b\", kind = \"exec\", depends_on = [\"a\"]},\n"
                  "  {name = \"c\", kind = \"exec\", depends_on = [\"d\"]},\n"
                  "  {name = \"d\", kind = \"exec\", depends_on = [\"c\"]}]\n"),
            "reg.toml:3: workflow 'w': cycle: a -> b -> a\nreg.toml:5: workflow 'w': cycle: c -> d -> c");
}

TEST(RegistryTest, SelfDependency) {
  EXPECT_EQ(Error(Wf("depends_on = [\"a\"]\n")), "reg.toml:5: workflow 'w': stage 'a': depends on itself");
}

TEST(RegistryTest, BadCronCarriesParseCronMessage) {
  Result<CronExpr> want = ParseCron("61 * * * *");
  ASSERT_FALSE(want.ok());
  EXPECT_EQ(Error("[workflow.w]\n\nschedule = \"61 * * * *\"\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n"),
            "reg.toml:3: workflow 'w': " + want.status().message());
  EXPECT_THAT(want.status().message(), HasSubstr("minute"));
  EXPECT_THAT(Error("[workflow.w]\nschedule = 5\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n"),
              HasSubstr("reg.toml:2: workflow 'w': 'schedule' must be a string"));
}

TEST(RegistryTest, UnknownKeysAreErrors) {
  EXPECT_EQ(Error(Wf("depend_on = [\"x\"]\n")),
            "reg.toml:5: workflow 'w': stage 'a': unknown key 'depend_on' in [[workflow.w.stage]]; "
            "did you mean 'depends_on'? (known: name, kind, queue, params, depends_on, timeout_s, "
            "max_attempts, backoff_s)");
  EXPECT_THAT(Error("[workflow.w]\nschedul = \"@daily\"\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n"),
              HasSubstr("reg.toml:2: workflow 'w': unknown key 'schedul' in [workflow.w]; did you mean 'schedule'?"));
  EXPECT_THAT(Error("[workflows.w]\n"),
              HasSubstr("reg.toml:1: unknown key 'workflows' (expected [workflow.NAME] tables)"));
}

TEST(RegistryTest, DuplicateStage) {
  EXPECT_EQ(Error(Wf("[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n")),
            "reg.toml:5: workflow 'w': duplicate stage 'a' (first declared on line 2)");
}

TEST(RegistryTest, BadCatchUp) {
  EXPECT_EQ(Error("[workflow.w]\ncatch_up = \"all\"\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n"),
            "reg.toml:2: workflow 'w': 'catch_up' must be \"none\" or \"latest\", not \"all\"");
}

TEST(RegistryTest, TomlSyntaxErrorHasLineAndColumn) {
  const std::string msg = Error("[workflow.w]\n[[workflow.w.stage]]\nname = \"a\nkind = \"exec\"\n");
  EXPECT_THAT(msg, ::testing::StartsWith("reg.toml:3:"));
  EXPECT_THAT(Lines(msg), ::testing::SizeIs(1));
  EXPECT_THAT(Error("[workflow.w]\nmax_active_runs = = 1\n"), ::testing::StartsWith("reg.toml:2:19: "));
}

TEST(RegistryTest, BadNames) {
  EXPECT_EQ(Error("[workflow.\"bad name\"]\n[[workflow.\"bad name\".stage]]\nname = \"a\"\nkind = \"exec\"\n"),
            "reg.toml:1: workflow 'bad name': bad workflow name: it must be 1-64 characters of [A-Za-z0-9._-]");
  EXPECT_EQ(Error(Wf("queue = \"q/1\"\n")),
            "reg.toml:5: workflow 'w': stage 'a': bad queue name \"q/1\": it must be 1-64 characters of "
            "[A-Za-z0-9._-]");
  EXPECT_EQ(Error(Wf("[[workflow.w.stage]]\nname = \"\"\nkind = \"exec\"\n")),
            "reg.toml:6: workflow 'w': stage #2: bad stage name \"\": it must be 1-64 characters of [A-Za-z0-9._-]");
  EXPECT_EQ(Error(Wf("[[workflow.w.stage]]\nkind = \"exec\"\n")), "reg.toml:5: workflow 'w': stage #2: no 'name'");
  EXPECT_EQ(Error(Wf("[[workflow.w.stage]]\nname = \"b\"\n")), "reg.toml:5: workflow 'w': stage 'b': no 'kind'");
}

TEST(RegistryTest, WrongTypesAndRanges) {
  EXPECT_EQ(Error(Wf("max_attempts = \"3\"\n")),
            "reg.toml:5: workflow 'w': stage 'a': 'max_attempts' must be an integer 1..1000, not a string");
  EXPECT_EQ(Error(Wf("max_attempts = 0\n")),
            "reg.toml:5: workflow 'w': stage 'a': 'max_attempts' must be an integer 1..1000, not 0");
  EXPECT_EQ(Error(Wf("timeout_s = 0\n")),
            "reg.toml:5: workflow 'w': stage 'a': 'timeout_s' must be > 0 and at most 31536000 (seconds), not 0");
  EXPECT_THAT(Error(Wf("backoff_s = -1.5\n")), HasSubstr("'backoff_s' must be > 0"));
  EXPECT_THAT(Error(Wf("backoff_s = inf\n")), HasSubstr("'backoff_s' must be > 0"));
  EXPECT_THAT(Error(Wf("backoff_s = 0.0001\n")), HasSubstr("'backoff_s' must be at least 0.001"));
  EXPECT_THAT(Error(Wf("timeout_s = \"10\"\n")), HasSubstr("'timeout_s' must be a number of seconds, not a string"));
  EXPECT_THAT(Error(Wf("depends_on = \"x\"\n")), HasSubstr("'depends_on' must be an array of stage names"));
  EXPECT_THAT(Error(Wf("depends_on = [1]\n")), HasSubstr("'depends_on' must hold stage names (strings)"));
  EXPECT_THAT(Error(Wf("params = \"x\"\n")), HasSubstr("reg.toml:5: workflow 'w': stage 'a': 'params' must be a table"));
  EXPECT_THAT(Error(Wf("params = { x = nan }\n")), HasSubstr("'params' holds a float that is not finite"));
  EXPECT_THAT(Error("[workflow.w]\nmax_active_runs = 1001\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n"),
              HasSubstr("reg.toml:2: workflow 'w': 'max_active_runs' must be an integer 1..1000, not 1001"));
  EXPECT_THAT(Error("[workflow.w]\ndescription = 1\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n"),
              HasSubstr("'description' must be a string, not an integer"));
  EXPECT_THAT(Error("workflow = 1\n"), HasSubstr("reg.toml:1: 'workflow' must be a table of workflows"));
  EXPECT_THAT(Error("[workflow]\nw = 1\n"), HasSubstr("reg.toml:2: workflow 'w': must be a table"));
  EXPECT_THAT(Error("[workflow.w]\n[workflow.w.stage]\nname = \"a\"\nkind = \"exec\"\n"),
              HasSubstr("reg.toml:2: workflow 'w': 'stage' must be an array of tables"));
}

TEST(RegistryTest, RunParameterDefaults) {
  const std::string head = "[workflow.w]\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n[workflow.w.params]\n";
  EXPECT_EQ(Error(head + "run_id = \"x\"\n"),
            "reg.toml:6: workflow 'w': parameter 'run_id' is reserved (year, month and day follow 'date'; "
            "run_id and workflow are the run's own)");
  EXPECT_EQ(Error(head + "date = \"2023-02-29\"\n"),
            "reg.toml:6: workflow 'w': parameter 'date' \"2023-02-29\" must be a calendar date YYYY-MM-DD");
  EXPECT_EQ(Error(head + "list = [\"a\"]\n"), "reg.toml:6: workflow 'w': parameter 'list' must be a string, not an array");
  EXPECT_THAT(Error(head + "\"a b\" = \"x\"\n"), HasSubstr("bad parameter name 'a b'"));
}

TEST(RegistryTest, WorkflowWithoutStages) {
  EXPECT_EQ(Error("[workflow.empty]\nschedule = \"@daily\"\n"),
            "reg.toml:1: workflow 'empty': no stages (add [[workflow.empty.stage]] entries)");
  EXPECT_EQ(Error("[workflow.empty]\nstage = []\n"),
            "reg.toml:2: workflow 'empty': no stages (add [[workflow.empty.stage]] entries)");
}

TEST(RegistryTest, AllProblemsReportedTogetherInLineOrder) {
  const std::string text = R"([workflow.zeta]
catch_up = "sometimes"
[[workflow.zeta.stage]]
name = "x"
kind = "no pe"

[workflow.alpha]
schedule = "* * *"
[[workflow.alpha.stage]]
name = "a"
kind = "exec"
depend_on = ["b"]
[[workflow.alpha.stage]]
name = "b"
kind = "exec"
depends_on = ["a", "ghost"]
[[workflow.alpha.stage]]
name = "a"
kind = "exec"
)";
  const std::vector<std::string> lines = Lines(Error(text));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_THAT(lines[0], HasSubstr("reg.toml:2: workflow 'zeta': 'catch_up'"));
  EXPECT_THAT(lines[1], HasSubstr("reg.toml:5: workflow 'zeta': stage 'x': bad kind \"no pe\""));
  EXPECT_THAT(lines[2], HasSubstr("reg.toml:8: workflow 'alpha': bad cron \"* * *\""));
  EXPECT_THAT(lines[3], HasSubstr("reg.toml:12: workflow 'alpha': stage 'a': unknown key 'depend_on'"));
  EXPECT_THAT(lines[4], HasSubstr("reg.toml:16: workflow 'alpha': stage 'b': unknown dependency 'ghost'"));
  EXPECT_THAT(lines[5], HasSubstr("reg.toml:17: workflow 'alpha': duplicate stage 'a' (first declared on line 9)"));
}

TEST(RegistryTest, ManyProblemsAreCapped) {
  std::string text = "[workflow.w]\n";
  for (int i = 0; i < kMaxRegistryErrors + 20; ++i)
    text += "[[workflow.w.stage]]\nname = \"s" + std::to_string(i) + "\"\nkind = \"b d\"\n";
  const std::vector<std::string> lines = Lines(Error(text));
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kMaxRegistryErrors) + 1);
  EXPECT_EQ(lines.back(), "reg.toml: ... and 20 more problems");
}

TEST(RegistryTest, LoadFromFile) {
  char dir[] = "/tmp/sluice-registry-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/workflows.toml";
  {
    std::ofstream out(path);
    out << "[workflow.w]\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n";
  }
  Result<Registry> r = LoadRegistry(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->path, path);
  ASSERT_EQ(r->workflows.size(), 1u);

  Result<Registry> missing = LoadRegistry(std::string(dir) + "/none.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("none.toml"));

  {
    std::ofstream out(path);
    out << "[workflow.w]\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exe\"\n";
  }
  Result<Registry> bad = LoadRegistry(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::StartsWith(path + ":4: workflow 'w': stage 'a': unknown kind"));
  std::remove(path.c_str());
  rmdir(dir);
}

// Defect: the registry took a schedule that never fires, which `sluice
// cron` refuses. Same check, same words, the registry's line prefix.
TEST(RegistryTest, CronThatNeverFiresIsRefused) {
  auto with_schedule = [](const std::string& cron) {
    return "[workflow.w]\n\nschedule = \"" + cron + "\"\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n";
  };
  EXPECT_EQ(Error(with_schedule("0 0 30 2 *")), "reg.toml:3: workflow 'w': cron \"0 0 30 2 *\" never fires (no date matches it)");
  EXPECT_EQ(Error(with_schedule("0 0 31 4,6,9,11 *")),
            "reg.toml:3: workflow 'w': cron \"0 0 31 4,6,9,11 *\" never fires (no date matches it)");
  // Rare is not never: every 29 February, and 30 February or any Monday.
  EXPECT_TRUE(ParseRegistry(with_schedule("0 0 29 2 *"), "reg.toml").ok());
  EXPECT_TRUE(ParseRegistry(with_schedule("0 0 30 2 MON"), "reg.toml").ok());
}

// Stage params nested deeper than kMaxStageParamsDepth would become a job
// no decoder accepts: refused with the stage's line.
TEST(RegistryTest, StageParamsNestedTooDeep) {
  auto nested = [](int arrays) {
    return Wf("params = { a = " + std::string(arrays, '[') + std::string(arrays, ']') + " }\n");
  };
  EXPECT_TRUE(ParseRegistry(nested(kMaxStageParamsDepth - 1), "reg.toml").ok());
  EXPECT_EQ(Error(nested(kMaxStageParamsDepth)),
            "reg.toml:5: workflow 'w': stage 'a': 'params' holds tables and arrays nested deeper than 32 levels");
}

// Defect: a 10 MB registry blocked the broker's loop for 1.7 s on reload.
// Files over kMaxRegistryBytes are refused unread, at start and on reload
// alike (both go through LoadRegistry).
TEST(RegistryTest, FileOverTheSizeCapIsRefused) {
  char dir[] = "/tmp/sluice-registry-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/workflows.toml";
  const std::string valid = "[workflow.w]\n[[workflow.w.stage]]\nname = \"a\"\nkind = \"exec\"\n";
  auto write = [&](std::size_t total) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::string pad = "#" + std::string(total - valid.size() - 2, 'x') + "\n";
    out << valid << pad;
  };
  write(kMaxRegistryBytes);
  Result<Registry> at_cap = LoadRegistry(path);
  ASSERT_TRUE(at_cap.ok()) << at_cap.status().message();
  EXPECT_EQ(at_cap->workflows.size(), 1u);

  write(kMaxRegistryBytes + 1);
  Result<Registry> over = LoadRegistry(path);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(over.status().message(), path + ": larger than 1048576 bytes (1 MiB), the registry's size limit");

  write(10u << 20);
  EXPECT_EQ(LoadRegistry(path).status().message(), over.status().message());
  std::string text(kMaxRegistryBytes + 1, '#');
  EXPECT_EQ(Error(text), "reg.toml: larger than 1048576 bytes (1 MiB), the registry's size limit");
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(RegistryTest, NamesAccepted) {
  EXPECT_TRUE(IsValidRegistryName("a.b_c-D9"));
  EXPECT_TRUE(IsValidRegistryName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidRegistryName(std::string(65, 'x')));
  EXPECT_FALSE(IsValidRegistryName(""));
  EXPECT_FALSE(IsValidRegistryName("a b"));
  EXPECT_FALSE(IsValidRegistryName("a/b"));
}

}  // namespace
}  // namespace sluice::workflows
