// The broker's and the workers' stderr during an integration run, read back
// line by line: every line parses as logfmt (by default) or as JSON (with
// --log-format json), with time, level and msg; job lines carry job,
// attempt and kind; the worker logs each job's start and end; under a flood
// the worker's per-job lines are sampled and the rest counted.
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/integration/integration_test.h"
#include "tests/support/logfmt_parse.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;

// A log line as key -> value (numbers as their text).
using Fields = std::map<std::string, std::string>;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Every line of `text` parsed in `format`; a failure for each line that is not.
std::vector<Fields> ParseAll(const std::string& who, const std::string& text, const std::string& format) {
  static const std::regex kTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<Fields> out;
  for (const std::string& line : Lines(text)) {
    Fields f;
    if (format == "json") {
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) {
        ADD_FAILURE() << who << ": not a JSON object: " << line;
        continue;
      }
      // nlohmann's object sorts its keys: the order is checked on the text.
      const bool ordered = line.rfind("{\"time\":", 0) == 0 && line.find(",\"level\":") != std::string::npos &&
                line.find(",\"msg\":") != std::string::npos;
      EXPECT_TRUE(ordered) << who << ": " << line;
      for (auto& [k, v] : j.items()) f[k] = v.is_string() ? v.get<std::string>() : v.dump();
    } else {
      LogfmtLine l = ParseLogfmt(line);
      if (!l.error.empty()) {
        ADD_FAILURE() << who << ": " << l.error;
        continue;
      }
      for (auto& [k, v] : l.pairs) f[k] = v;
    }
    EXPECT_TRUE(std::regex_match(f["time"], kTime)) << who << ": " << line;
    EXPECT_TRUE(f["level"] == "debug" || f["level"] == "info" || f["level"] == "warn" || f["level"] == "error")
        << who << ": " << line;
    EXPECT_FALSE(f["msg"].empty()) << who << ": " << line;
    // A line about one job names it, its attempt and kind together.
    if (f.count("job") || f.count("attempt")) {
      EXPECT_TRUE(f.count("job") && f.count("kind")) << who << ": " << line;
    }
    out.push_back(std::move(f));
  }
  return out;
}

class LogLinesTest : public IntegrationTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(LogLinesTest, EveryLineParses) {
  const std::string format = GetParam();
  const std::string registry = dir_.File("workflows.toml");
  std::ofstream(registry) << R"(
[workflow.breaks]
[[workflow.breaks.stage]]
name = "only"
kind = "test.fail"
params = { succeed_on = 99 }
max_attempts = 1
)";
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--log-format", format, "--workflows", registry}));
  Process& worker = cluster_.StartWorker(2, {"--log-format", format});
  ASSERT_TRUE(WaitForWorkers(1));
  std::vector<proto::JobSpec> specs(5, Spec("test.noop"));
  specs.push_back(Spec("test.sleep", {{"ms", 20}}));
  specs.push_back(Spec("test.fail", {{"succeed_on", 99}}, /*max_attempts=*/1));
  auto ids = SubmitAll(specs);
  ASSERT_EQ(ids.size(), specs.size());
  ASSERT_EQ(WaitForCount("succeeded", 6), 6);
  ASSERT_EQ(WaitForCount("dead", 1), 1);
  ASSERT_TRUE(client().Request(proto::Command::kRun, {{"workflow", "breaks"}}, Scaled(Ms(30000))).ok());
  ASSERT_EQ(WaitForCount("dead", 2), 2);
  // Stopped cleanly, so their last lines (shutdown) are read too.
  worker.Signal(SIGTERM);
  ASSERT_TRUE(worker.Wait(Scaled(Ms(30000))).has_value());
  auto st = cluster_.StopBroker(SIGTERM);
  ASSERT_TRUE(st.exited && st.code == 0);

  const auto broker_lines = ParseAll("broker", cluster_.broker()->Stderr(), format);
  const auto worker_lines = ParseAll("worker", worker.Stderr(), format);
  ASSERT_GT(broker_lines.size(), 3u);
  for (const Fields& f : broker_lines) EXPECT_EQ(f.at("component"), "broker") << f.at("msg");
  for (const Fields& f : worker_lines) {
    EXPECT_EQ(f.at("component"), "worker") << f.at("msg");
    EXPECT_FALSE(f.count("worker") == 0 || f.at("worker").empty()) << f.at("msg");
  }
  // The broker: the dead job's line, with its fields; the failed run's.
  bool dead_line = false, run_line = false;
  for (const Fields& f : broker_lines) {
    if (f.count("job") && f.at("job") == ids.back()) {
      dead_line = true;
      EXPECT_EQ(f.at("level"), "warn");
      EXPECT_EQ(f.at("attempt"), "1");
      EXPECT_EQ(f.at("kind"), "test.fail");
    }
    if (f.count("run") && f.count("state") && f.at("state") == "failed") run_line = true;
  }
  EXPECT_TRUE(dead_line);
  EXPECT_TRUE(run_line);
  // The worker: a start and an end for every job it ran (8: seven and the run's stage).
  std::map<std::string, int> started, ended;
  for (const Fields& f : worker_lines) {
    if (f.at("msg") == "job started") started[f.at("job")]++;
    if (f.at("msg") == "job ended") {
      ended[f.at("job")]++;
      EXPECT_TRUE(f.count("outcome") && f.count("duration_ms") && f.count("attempt")) << f.at("job");
      if (f.at("job") == ids.back()) {
        EXPECT_EQ(f.at("outcome"), "failed");
        EXPECT_EQ(f.at("level"), "warn");
        EXPECT_NE(f.at("error").find("succeed_on"), std::string::npos);
      }
      if (f.at("job") == ids[5]) {
        EXPECT_GE(std::stod(f.at("duration_ms")), 20.0);  // test.sleep ms=20
      }
    }
  }
  EXPECT_EQ(started.size(), 8u);
  EXPECT_EQ(ended.size(), 8u);
  for (const std::string& id : ids) {
    EXPECT_EQ(started[id], 1) << id;
    EXPECT_EQ(ended[id], 1) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, LogLinesTest, ::testing::Values("logfmt", "json"));

// A flood: the worker writes a few job lines a second and counts the rest;
// what it wrote and what it counted add up to every start and end.
TEST_F(LogLinesTest, AFloodIsSampledAndCounted) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Process& worker = cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(1));
  constexpr int kJobs = 3000;
  ASSERT_EQ(SubmitAll(std::vector<proto::JobSpec>(kJobs, Spec("test.noop"))).size(), static_cast<std::size_t>(kJobs));
  ASSERT_EQ(WaitForCount("succeeded", kJobs), kJobs);
  worker.Signal(SIGTERM);
  ASSERT_TRUE(worker.Wait(Scaled(Ms(30000))).has_value());
  std::int64_t written = 0, left_out = 0;
  const auto lines = ParseAll("worker", worker.Stderr(), "logfmt");
  for (const Fields& f : lines) {
    if (f.at("msg") == "job started" || f.at("msg") == "job ended") ++written;
    if (f.count("left_out")) left_out += std::stoll(f.at("left_out"));
  }
  EXPECT_EQ(written + left_out, 2 * kJobs);
  EXPECT_GT(left_out, 0);  // 3,000 jobs do not take the 150 s that 20 lines a second would need for all
  EXPECT_LT(lines.size(), static_cast<std::size_t>(kJobs)) << "not sampled";
}

}  // namespace
}  // namespace sluice::testing
