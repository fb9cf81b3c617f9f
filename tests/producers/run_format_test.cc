// How runs are shown (producers/run_format.h): a stage's error in the run
// tables, and the stages no connected worker serves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "producers/run_format.h"

namespace sluice {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kT0 = 1714566896789;  // 2024-05-01T12:34:56.789Z

// An audit failure as transform.sql reports it: a long first line that ends
// in "e.g.", then the offending keys, one a line.
std::string AuditError() {
  std::string e = "model foundation_monthly_prices_by_region_and_grade: audit unique_grain failed for "
                  "foundation_monthly_prices_by_region_and_grade: 120 duplicated grain keys, e.g.";
  for (int i = 0; i < 5; ++i) e += "\n  code=c" + std::to_string(i) + ", month=2024-0" + std::to_string(i + 1);
  return e;
}

std::string FirstLineOf(const std::string& s) { return s.substr(0, s.find('\n')); }

json DeadRun() {
  json stage = {{"name", "transform"}, {"kind", "transform.sql"}, {"state", "dead"},
                {"job", "j7"},         {"attempt", 1},            {"started_ms", kT0},
                {"finished_ms", kT0 + 1000}, {"error", AuditError()}, {"depends_on", json::array()}};
  return {{"id", "r3"}, {"workflow", "daily"}, {"state", "failed"}, {"trigger", "manual"},
          {"logical_date", "2024-05-01"}, {"created_ms", kT0}, {"started_ms", kT0},
          {"finished_ms", kT0 + 1000}, {"stages", json::array({stage})}};
}

// Defect: the run table cut an audit failure at "e.g." with no hint where
// the rest was. The first line is shown whole, then where to read the rest.
TEST(RunFormat, AMultiLineStageErrorShowsItsFirstLineAndWhereTheRestIs) {
  const std::string first = FirstLineOf(AuditError());
  const std::string pointer = "(more: sluice status j7)";
  for (const std::string& text : {FormatRun(DeadRun(), kT0 + 2000), FormatRunSummary(DeadRun(), kT0 + 2000)}) {
    EXPECT_THAT(text, HasSubstr(first + " " + pointer + "\n")) << text;
    EXPECT_THAT(text, Not(HasSubstr("code=c0"))) << text;
  }
  RunProgress lines(/*terminal=*/false);
  EXPECT_THAT(lines.Update(DeadRun(), kT0 + 2000), HasSubstr(": " + first + " " + pointer + "\n"));
}

TEST(RunFormat, AOneLineStageErrorIsShownAsItIs) {
  json run = DeadRun();
  run["stages"][0]["error"] = "exit status 1";
  const std::string text = FormatRun(run, kT0 + 2000);
  EXPECT_THAT(text, HasSubstr("exit status 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("sluice status")));
}

// A stage whose kind no connected worker announces is pointed out under the
// run tables and the schedules (the broker's `kind_served`, `unserved_stages`).
TEST(RunFormat, StagesNoWorkerServesAreShown) {
  json run = DeadRun();
  run["state"] = "running";
  run["stages"][0] = {{"name", "square"}, {"kind", "py.square"}, {"state", "queued"}, {"job", "j8"},
                      {"queue", "default"}, {"kind_served", false}, {"attempt", 0}};
  const std::string line = "r3: stage 'square' waits: no connected worker runs kind 'py.square' on queue 'default'\n";
  EXPECT_THAT(FormatRunTable(json::array({run}), kT0), HasSubstr(line));
  EXPECT_THAT(FormatRun(run, kT0), HasSubstr(line));
  run["stages"][0]["kind_served"] = true;
  EXPECT_THAT(FormatRunTable(json::array({run}), kT0), Not(HasSubstr("no connected worker")));

  json schedule = {{"workflow", "squares"}, {"schedule", nullptr}, {"paused", false}, {"catch_up", "none"},
                   {"max_active_runs", 1}, {"next_fire", nullptr}, {"last_fire", nullptr}, {"active_runs", 0},
                   {"unserved_stages", {{{"stage", "square"}, {"kind", "py.square"}, {"queue", "default"}}}}};
  EXPECT_THAT(FormatSchedules(json::array({schedule})),
              HasSubstr("squares: stage 'square': no connected worker runs kind 'py.square' on queue 'default'\n"));
  schedule["unserved_stages"] = json::array();
  EXPECT_THAT(FormatSchedules(json::array({schedule})), Not(HasSubstr("no connected worker")));
}

}  // namespace
}  // namespace sluice
