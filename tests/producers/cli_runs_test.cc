// Workflow runs and models in the `sluice` command line, run in this process
// (cli::Run with string streams): run (with --wait), runs, status and cancel
// of a run id, schedules, pause, resume, reload against a fake broker that
// plays PROTOCOL.md §6.9-6.13; models plan / test on folders in a temporary
// directory, with no broker; and the progress display of `run --wait`.
#include <map>
#include <memory>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "producers/cli.h"
#include "producers/cli_runs.h"
#include "producers/exit_codes.h"
#include "producers/run_format.h"
#include "tests/models/models_folder.h"
#include "tests/producers/fake_broker.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;
using sluice::testing::FakeBroker;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Cmd = proto::Command;

constexpr std::int64_t kT0 = 1714566896789;  // 2024-05-01T12:34:56.789Z

struct CliRun {
  int code;
  std::string out, err;
};

CliRun Sluice(std::vector<std::string> args) {
  args.insert(args.begin(), "sluice");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, err;
  const int code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

json Stage(const std::string& name, const std::string& kind, const std::string& state, int attempt,
           json job, json started, json finished, json error, json depends_on = json::array()) {
  return {{"name", name}, {"kind", kind}, {"state", state}, {"job", std::move(job)},
          {"attempt", attempt}, {"started_ms", std::move(started)},
          {"finished_ms", std::move(finished)}, {"error", std::move(error)},
          {"depends_on", std::move(depends_on)}};
}

// A toy run table behind the fake broker. A run's fate is set by its
// workflow: "ok" succeeds at the second STATUS, "fail" fails there, "slow"
// runs forever; "missing" is not_found. Each run is two stages, extract then
// transform.
struct FakeRuns {
  struct Entry {
    std::string workflow;
    json params;
    int polls = 0;
    bool cancelled = false;
  };
  std::map<std::string, Entry> runs;  // by id
  int next = 1;
  bool paused = false;

  json RunObject(const std::string& id, const Entry& e) const {
    json run = {{"id", id},           {"workflow", e.workflow},       {"trigger", "manual"},
                {"logical_date", "2024-05-01"}, {"slot", nullptr},    {"params", e.params},
                {"created_ms", kT0},  {"started_ms", kT0},            {"finished_ms", nullptr}};
    json extract, transform;
    const int phase = e.workflow == "slow" ? std::min(e.polls, 1) : std::min(e.polls, 2);
    if (phase == 0) {
      extract = Stage("extract", "extract.http", "running", 1, "j1", kT0, nullptr, nullptr);
      transform = Stage("transform", "transform.sql", "pending", 0, nullptr, nullptr, nullptr, nullptr);
    } else {
      extract = Stage("extract", "extract.http", "succeeded", 1, "j1", kT0, kT0 + 1500, nullptr);
      transform = Stage("transform", "transform.sql", "running", 1, "j2", kT0 + 1500, nullptr, nullptr);
    }
    run["state"] = "running";
    if (phase == 2 && e.workflow == "ok") {
      transform = Stage("transform", "transform.sql", "succeeded", 1, "j2", kT0 + 1500, kT0 + 2000, nullptr);
      run["state"] = "succeeded";
      run["finished_ms"] = kT0 + 2000;
    } else if (phase == 2 && e.workflow == "fail") {
      transform = Stage("transform", "transform.sql", "dead", 2, "j2", kT0 + 1500, kT0 + 4000,
                        "exit status 1\nTraceback");
      run["state"] = "failed";
      run["finished_ms"] = kT0 + 4000;
    }
    if (e.cancelled) {
      transform = Stage("transform", "transform.sql", "cancelled", 1, "j2", kT0 + 1500, kT0 + 1600, nullptr);
      run["state"] = "cancelled";
      run["finished_ms"] = kT0 + 1600;
    }
    transform["depends_on"] = {"extract"};
    run["stages"] = {extract, transform};
    return run;
  }

  json Schedule() const {
    return {{"workflow", "daily_prices"}, {"schedule", "0 6 * * *"}, {"paused", paused},
            {"catch_up", "latest"}, {"max_active_runs", 1}, {"next_fire", "2024-05-02T06:00:00Z"},
            {"last_fire", "2024-05-01T06:00:00Z"}, {"active_runs", 0}};
  }

  std::vector<FakeBroker::Answer> Handle(const FakeBroker::Request& r) {
    const json& b = r.body;
    const std::string id = b.value("id", "");
    switch (r.command) {
      case Cmd::kRun: {
        const std::string workflow = b.value("workflow", "");
        if (workflow == "missing")
          return {FakeBroker::Error(r, "not_found", "no workflow 'missing'")};
        const std::string rid = "r" + std::to_string(next++);
        Entry e{workflow, b.contains("params") ? b["params"] : json::object()};
        runs[rid] = e;
        return {FakeBroker::Reply(r, {{"run", RunObject(rid, e)}})};
      }
      case Cmd::kStatus: {
        if (id.rfind("j", 0) == 0)
          return {FakeBroker::Reply(r, {{"job", {{"id", id}, {"state", "queued"}, {"kind", "x"}}}})};
        auto it = runs.find(id);
        if (it == runs.end()) return {FakeBroker::Error(r, "not_found", "no run " + id)};
        ++it->second.polls;
        return {FakeBroker::Reply(r, {{"run", RunObject(id, it->second)}})};
      }
      case Cmd::kCancelJob: {
        auto it = runs.find(id);
        if (it == runs.end()) return {FakeBroker::Error(r, "not_found", "no run " + id)};
        if (it->second.cancelled) return {FakeBroker::Error(r, "invalid_state", "run " + id + " is cancelled")};
        it->second.cancelled = true;
        return {FakeBroker::Reply(r, {{"run", RunObject(id, it->second)}})};
      }
      case Cmd::kRuns: {
        json list = json::array();
        for (auto it = runs.rbegin(); it != runs.rend(); ++it) list.push_back(RunObject(it->first, it->second));
        return {FakeBroker::Reply(r, {{"runs", list}})};
      }
      case Cmd::kSchedules: {
        json manual = {{"workflow", "adhoc"}, {"schedule", nullptr}, {"paused", false},
                       {"catch_up", "none"}, {"max_active_runs", 2}, {"next_fire", nullptr},
                       {"last_fire", nullptr}, {"active_runs", 1}};
        return {FakeBroker::Reply(r, {{"schedules", {manual, Schedule()}}})};
      }
      case Cmd::kPause:
      case Cmd::kResume:
        if (b.value("workflow", "") != "daily_prices")
          return {FakeBroker::Error(r, "not_found", "no workflow '" + b.value("workflow", "") + "'")};
        paused = r.command == Cmd::kPause;
        return {FakeBroker::Reply(r, {{"schedule", Schedule()}})};
      case Cmd::kReload:
        return {FakeBroker::Reply(r, {{"workflows", 3}, {"path", "/etc/sluice/workflows.toml"}})};
      default:
        return {FakeBroker::Error(r, "unknown_command", "not in this test")};
    }
  }
};

FakeBroker::Handler FakeRunsHandler() {
  auto runs = std::make_shared<FakeRuns>();
  return [runs](const FakeBroker::Request& r) { return runs->Handle(r); };
}

class CliRunsTest : public ::testing::Test {
 protected:
  CliRunsTest() : broker_(FakeRunsHandler()) {}
  CliRun Run(std::vector<std::string> args) {
    args.push_back("--broker");
    args.push_back(broker_.endpoint());
    return Sluice(std::move(args));
  }
  json Json(const CliRun& r) {
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not one JSON document: " << r.out;
    return j;
  }
  std::size_t Polls(const std::string& id) const {
    std::size_t n = 0;
    for (const auto& req : broker_.requests())
      n += req.command == Cmd::kStatus && req.body.value("id", "") == id;
    return n;
  }
  FakeBroker broker_;
};

TEST_F(CliRunsTest, RunPrintsTheIdAndSendsTheParams) {
  auto r = Run({"run", "ok", "--param", "date=2024-05-01", "--param", "region=eu"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "r1\n");
  EXPECT_EQ(r.err, "");
  auto reqs = broker_.requests();
  ASSERT_EQ(reqs.size(), 1u);  // no --wait: no polling
  EXPECT_EQ(reqs[0].command, Cmd::kRun);
  EXPECT_EQ(reqs[0].body["workflow"], "ok");
  EXPECT_EQ(reqs[0].body["params"], (json{{"date", "2024-05-01"}, {"region", "eu"}}));

  ASSERT_EQ(Run({"run", "ok"}).code, kExitOk);
  EXPECT_FALSE(broker_.requests().back().body.contains("params"));
}

TEST_F(CliRunsTest, RunJsonIsTheRunObject) {
  auto r = Run({"run", "ok", "--json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  json run = Json(r);
  EXPECT_EQ(run["id"], "r1");
  EXPECT_EQ(run["state"], "running");
  EXPECT_EQ(run["stages"].size(), 2u);
}

TEST_F(CliRunsTest, RunUsageErrorsSendNothing) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"run"}, {"run", "ok", "--param", "novalue"},
        {"run", "ok", "--param", "a=1", "--param", "a=2"}, {"run", "ok", "--timeout", "5"},
        {"run", "ok", "--wait", "--timeout", "soon"}, {"runs", "--state", "dead"},
        {"runs", "--limit", "0"}, {"pause"}, {"models"}, {"models", "plan"}}) {
    auto r = Run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, kExitUsage) << joined << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_THAT(r.err, StartsWith("sluice: ")) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << r.err;
  }
  EXPECT_EQ(broker_.requests().size(), 0u);
}

TEST_F(CliRunsTest, RunOfAnUnknownWorkflowIsNotFound) {
  auto r = Run({"run", "missing", "--wait"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "sluice: not_found: no workflow 'missing'\n");
}

TEST_F(CliRunsTest, RunWaitPollsUntilSucceededAndPrintsASummary) {
  auto r = Run({"run", "ok", "--wait"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  // Not a terminal: a line per change, no ANSI codes.
  EXPECT_THAT(r.out, StartsWith("extract running (attempt 1)\n"
                                "r1 running\n"
                                "extract succeeded (attempt 1) in 1.500 s\n"
                                "transform running (attempt 1)\n"
                                "transform succeeded (attempt 1) in 500 ms\n"
                                "r1 succeeded\n"
                                "\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("\x1b[")));
  EXPECT_THAT(r.out, HasSubstr("STAGE      KIND           STATE      ATTEMPTS  DURATION  ERROR\n"
                               "extract    extract.http   succeeded  1         1.500 s\n"
                               "transform  transform.sql  succeeded  1         500 ms\n"));
  EXPECT_THAT(r.out, EndsWith("r1 succeeded in 2.000 s\n"));
  EXPECT_EQ(Polls("r1"), 2u);
}

TEST_F(CliRunsTest, RunWaitExitsOneWhenTheRunFailed) {
  auto r = Run({"run", "fail", "--wait"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("transform dead (attempt 2) in 2.500 s: exit status 1 (more: sluice status j2)\n"));
  EXPECT_THAT(r.out, HasSubstr("transform  transform.sql  dead       2         2.500 s   exit status 1 (more: sluice status j2)\n"));
  EXPECT_THAT(r.out, EndsWith("r1 failed in 4.000 s\n"));
}

TEST_F(CliRunsTest, RunWaitJsonPrintsOnlyTheFinalRun) {
  auto r = Run({"run", "fail", "--wait", "--json"});
  EXPECT_EQ(r.code, kExitFailed);
  json run = Json(r);
  EXPECT_EQ(run["id"], "r1");
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(run["stages"][1]["state"], "dead");

  auto ok = Run({"run", "ok", "--wait", "--json"});
  EXPECT_EQ(ok.code, kExitOk) << ok.err;
  EXPECT_EQ(Json(ok)["state"], "succeeded");
}

TEST_F(CliRunsTest, RunWaitExitsFourWhenItsTimeoutRunsOut) {
  auto r = Run({"run", "slow", "--wait", "--timeout", "0.6", "--json"});
  EXPECT_EQ(r.code, kExitWaitTimeout);
  EXPECT_EQ(Json(r)["state"], "running");
  EXPECT_EQ(r.err, "sluice: run: timed out after 0.6 s; r1 is running\n");
  EXPECT_GE(Polls("r1"), 2u);

  auto text = Run({"run", "slow", "--wait", "--timeout", "0"});
  EXPECT_EQ(text.code, kExitWaitTimeout);
  EXPECT_THAT(text.out, HasSubstr("\nr2 running for "));
  EXPECT_EQ(text.err, "sluice: run: timed out after 0 s; r2 is running\n");
}

// `wait` takes run ids as `status` and `cancel` do: it polls the run until
// it is finished; exit 0 succeeded, 1 failed or cancelled, 4 timed out.
TEST_F(CliRunsTest, WaitOnARunIdPollsUntilItEnds) {
  ASSERT_EQ(Run({"run", "ok"}).code, kExitOk);
  auto r = Run({"wait", "r1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "r1 succeeded\n");
  EXPECT_EQ(Polls("r1"), 2u);

  ASSERT_EQ(Run({"run", "fail"}).code, kExitOk);
  auto failed = Run({"wait", "r2", "--json"});
  EXPECT_EQ(failed.code, kExitFailed) << failed.err;
  json run = Json(failed);
  EXPECT_EQ(run["id"], "r2");
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(run["stages"][1]["state"], "dead");
}

TEST_F(CliRunsTest, WaitOnARunIdTimesOutWithFour) {
  ASSERT_EQ(Run({"run", "slow"}).code, kExitOk);
  auto r = Run({"wait", "r1", "--timeout", "0.3", "--json"});
  EXPECT_EQ(r.code, kExitWaitTimeout);
  EXPECT_EQ(Json(r)["state"], "running");
  EXPECT_EQ(r.err, "sluice: wait: timed out after 0.3 s; 1 of 1 runs not finished: r1\n");
}

TEST_F(CliRunsTest, WaitOnRunAndJobIdsTogether) {
  ASSERT_EQ(Run({"run", "slow"}).code, kExitOk);
  auto r = Run({"--json", "wait", "r1", "j7", "--timeout", "0"});
  EXPECT_EQ(r.code, kExitWaitTimeout);
  json j = Json(r);
  ASSERT_EQ(j["runs"].size(), 1u) << r.out;
  EXPECT_EQ(j["runs"][0]["id"], "r1");
  ASSERT_EQ(j["jobs"].size(), 1u) << r.out;
  EXPECT_EQ(j["jobs"][0]["id"], "j7");
  EXPECT_EQ(r.err, "sluice: wait: timed out after 0 s; 2 of 2 jobs and runs not finished: r1 j7\n");

  auto missing = Run({"wait", "r9"});
  EXPECT_EQ(missing.code, kExitFailed);
  EXPECT_EQ(missing.err, "sluice: not_found: no run r9\n");
}

TEST_F(CliRunsTest, StatusOfARunIdShowsItsStages) {
  ASSERT_EQ(Run({"run", "ok", "--param", "date=2024-05-01"}).code, kExitOk);
  auto r = Run({"status", "r1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("id            r1\n"
                               "workflow      ok\n"
                               "state         running\n"
                               "trigger       manual\n"
                               "logical date  2024-05-01\n"
                               "params        {\"date\":\"2024-05-01\"}\n"
                               "created       2024-05-01T12:34:56.789Z\n"));
  // (The running stage's duration runs to now: it sets the column's width.)
  EXPECT_THAT(r.out, HasSubstr("duration      "));
  EXPECT_THAT(r.out, HasSubstr(" so far\n\nSTAGE      STATE      JOB  ATTEMPTS  DURATION"));
  EXPECT_THAT(r.out, HasSubstr("\nextract    succeeded  j1   1         1.500 s\n"));
  EXPECT_THAT(r.out, HasSubstr("\ntransform  running    j2   1         "));
  auto j = Run({"status", "r1", "--json"});
  EXPECT_EQ(j.code, kExitOk);
  EXPECT_EQ(Json(j)["stages"][0]["name"], "extract");
  // A job id still shows the job.
  auto job = Run({"status", "j5"});
  EXPECT_EQ(job.code, kExitOk) << job.err;
  EXPECT_THAT(job.out, HasSubstr("id          j5\n"));
  auto missing = Run({"status", "r9"});
  EXPECT_EQ(missing.code, kExitFailed);
  EXPECT_EQ(missing.err, "sluice: not_found: no run r9\n");
}

TEST_F(CliRunsTest, CancelOfARunIdCancelsTheRun) {
  ASSERT_EQ(Run({"run", "slow"}).code, kExitOk);
  auto r = Run({"cancel", "r1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state         cancelled\n"));
  EXPECT_THAT(r.out, HasSubstr("transform  cancelled"));
  auto reqs = broker_.requests();
  EXPECT_EQ(reqs.back().command, Cmd::kCancelJob);
  EXPECT_EQ(reqs.back().body["id"], "r1");
  auto again = Run({"cancel", "r1", "--json"});
  EXPECT_EQ(again.code, kExitFailed);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err, "sluice: invalid_state: run r1 is cancelled\n");

  ASSERT_EQ(Run({"run", "slow"}).code, kExitOk);
  auto j = Run({"cancel", "r2", "--json"});
  EXPECT_EQ(j.code, kExitOk);
  EXPECT_EQ(Json(j)["state"], "cancelled");
}

TEST_F(CliRunsTest, RunsListsRunsWithFilters) {
  ASSERT_EQ(Run({"run", "ok"}).code, kExitOk);
  ASSERT_EQ(Run({"run", "slow"}).code, kExitOk);
  auto r = Run({"runs", "--workflow", "ok", "--state", "running", "--limit", "5"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const json body = broker_.requests().back().body;
  EXPECT_EQ(broker_.requests().back().command, Cmd::kRuns);
  EXPECT_EQ(body["workflow"], "ok");
  EXPECT_EQ(body["state"], "running");
  EXPECT_EQ(body["limit"], 5);
  EXPECT_THAT(r.out, StartsWith("ID  WORKFLOW  STATE    TRIGGER  LOGICAL DATE  STARTED               DURATION\n"
                                "r2  slow      running  manual   2024-05-01    2024-05-01T12:34:56Z  "));
  auto j = Run({"runs", "--json"});
  EXPECT_EQ(j.code, kExitOk);
  json doc = Json(j);
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][1]["id"], "r1");
  const json plain = broker_.requests().back().body;
  EXPECT_FALSE(plain.contains("workflow"));
  EXPECT_FALSE(plain.contains("state"));
  EXPECT_FALSE(plain.contains("limit"));
}

TEST_F(CliRunsTest, SchedulesPauseAndResume) {
  auto s = Run({"schedules"});
  EXPECT_EQ(s.code, kExitOk) << s.err;
  EXPECT_EQ(s.out,
            "WORKFLOW      SCHEDULE   NEXT FIRE             LAST FIRE             PAUSED  CATCH_UP  ACTIVE RUNS\n"
            "adhoc         -                                                      no      none      1/2\n"
            "daily_prices  0 6 * * *  2024-05-02T06:00:00Z  2024-05-01T06:00:00Z  no      latest    0/1\n");
  auto sj = Run({"schedules", "--json"});
  EXPECT_EQ(Json(sj)["schedules"][1]["workflow"], "daily_prices");

  auto p = Run({"pause", "daily_prices"});
  EXPECT_EQ(p.code, kExitOk) << p.err;
  EXPECT_THAT(p.out, HasSubstr("daily_prices  0 6 * * *  2024-05-02T06:00:00Z  2024-05-01T06:00:00Z  yes"));
  EXPECT_EQ(broker_.requests().back().command, Cmd::kPause);
  EXPECT_EQ(broker_.requests().back().body["workflow"], "daily_prices");
  auto rj = Run({"resume", "daily_prices", "--json"});
  EXPECT_EQ(rj.code, kExitOk) << rj.err;
  EXPECT_EQ(broker_.requests().back().command, Cmd::kResume);
  EXPECT_EQ(Json(rj)["paused"], false);
  EXPECT_EQ(Json(rj)["workflow"], "daily_prices");
  auto nf = Run({"pause", "nope"});
  EXPECT_EQ(nf.code, kExitFailed);
  EXPECT_EQ(nf.err, "sluice: not_found: no workflow 'nope'\n");
}

TEST_F(CliRunsTest, ReloadPrintsWhatWasLoaded) {
  auto r = Run({"reload"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "reloaded 3 workflows from /etc/sluice/workflows.toml\n");
  EXPECT_EQ(broker_.requests().back().command, Cmd::kReload);
  auto j = Run({"reload", "--json"});
  EXPECT_EQ(Json(j), (json{{"workflows", 3}, {"path", "/etc/sluice/workflows.toml"}}));
}

TEST(CliRuns, ARefusedReloadExitsTwoWithTheBrokersError) {
  FakeBroker broker([](const FakeBroker::Request& r) {
    return std::vector<FakeBroker::Answer>{FakeBroker::Error(
        r, "bad_request", "workflows.toml:4: workflow 'daily': unknown stage kind 'nope'")};
  });
  auto r = Sluice({"reload", "--broker", broker.endpoint()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "sluice: bad_request: workflows.toml:4: workflow 'daily': unknown stage kind 'nope'\n");
}

TEST(CliRuns, ASilentBrokerExitsThree) {
  FakeBroker silent([](const FakeBroker::Request&) { return std::vector<FakeBroker::Answer>{}; });
  for (std::vector<std::string> args : {std::vector<std::string>{"run", "x", "--wait"}, {"runs"},
                                        {"status", "r1"}, {"schedules"}, {"reload"}}) {
    args.insert(args.end(), {"--broker", silent.endpoint(), "--rpc-timeout", "0.2"});
    auto r = Sluice(args);
    EXPECT_EQ(r.code, kExitUnreachable) << args[0];
    EXPECT_THAT(r.err, HasSubstr("no answer from the broker"));
  }
}

TEST(CliRuns, HelpExitsZeroForEveryNewCommand) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"run"}, {"runs"}, {"schedules"}, {"pause"}, {"resume"}, {"reload"},
        {"models"}, {"models", "plan"}, {"models", "test"}}) {
    args.push_back("--help");
    auto r = Sluice(args);
    EXPECT_EQ(r.code, kExitOk) << args[0];
    EXPECT_THAT(r.out, HasSubstr("Usage:")) << args[0];
  }
  EXPECT_THAT(Sluice({"status", "--help"}).out, HasSubstr("A job id (j12) or a run id (r3)"));
}

TEST(CliRuns, RunIds) {
  EXPECT_TRUE(IsRunId("r1"));
  EXPECT_TRUE(IsRunId("r1234"));
  EXPECT_FALSE(IsRunId("r"));
  EXPECT_FALSE(IsRunId("j12"));
  EXPECT_FALSE(IsRunId("r12x"));
  EXPECT_FALSE(IsRunId("R12"));
}

// ---- run --wait's progress display ----

json ProgressRun(const std::string& run_state, const std::string& extract_state, int attempt,
                 json finished = nullptr) {
  return {{"id", "r7"},
          {"workflow", "daily"},
          {"state", run_state},
          {"started_ms", kT0},
          {"stages",
           {Stage("extract", "extract.http", extract_state, attempt, "j1", kT0, std::move(finished), nullptr),
            Stage("load", "load", "pending", 0, nullptr, nullptr, nullptr, nullptr)}}};
}

TEST(RunProgress, OnATerminalRedrawsTheFrameInPlace) {
  RunProgress p(/*terminal=*/true);
  const std::string first = p.Update(ProgressRun("running", "running", 1), kT0 + 1000);
  EXPECT_EQ(first,
            "r7 daily running  1.000 s\n"
            "STAGE    STATE    ATTEMPT  DURATION\n"
            "extract  running  1        1.000 s\n"
            "load     pending  0\n");
  const std::string second = p.Update(ProgressRun("running", "succeeded", 1, kT0 + 1500), kT0 + 2000);
  EXPECT_THAT(second, StartsWith("\x1b[4A\r\x1b[Jr7 daily running  2.000 s\n"));
  EXPECT_THAT(second, HasSubstr("extract  succeeded  1        1.500 s\n"));
  EXPECT_EQ(p.Finish(), "\x1b[4A\r\x1b[J");
  EXPECT_EQ(p.Finish(), "");
}

TEST(RunProgress, OtherwiseALinePerChange) {
  RunProgress p(/*terminal=*/false);
  EXPECT_EQ(p.Update(ProgressRun("queued", "pending", 0), kT0), "r7 queued\n");
  EXPECT_EQ(p.Update(ProgressRun("running", "running", 1), kT0),
            "extract running (attempt 1)\nr7 running\n");
  EXPECT_EQ(p.Update(ProgressRun("running", "running", 1), kT0 + 500), "");
  // A retry seen only as a new attempt number is a change too.
  EXPECT_EQ(p.Update(ProgressRun("running", "running", 2), kT0 + 900), "extract running (attempt 2)\n");
  EXPECT_EQ(p.Update(ProgressRun("running", "succeeded", 2, kT0 + 1500), kT0 + 2000),
            "extract succeeded (attempt 2) in 1.500 s\n");
  EXPECT_EQ(p.Finish(), "\n");
}

// ---- models plan / test: no broker ----

// `sluice ARGS...` with a --broker no client could use.
CliRun Offline(std::vector<std::string> args) {
  args.insert(args.begin(), {"--broker", "not-an-endpoint", "--rpc-timeout", "0.1"});
  return Sluice(std::move(args));
}

void WriteModels(const models::testing::ModelsFolder& f) {
  f.Write("staging/staging_prices.sql", "MODEL (name staging_prices, kind VIEW);\nSELECT * FROM raw_prices");
  f.Write("foundation/foundation_monthly_prices.sql",
          "MODEL (name foundation_monthly_prices, kind FULL);\n"
          "SELECT code, substr(day, 1, 7) AS month, avg(price) AS avg_price FROM staging_prices GROUP BY 1, 2");
}

std::string MonthlyTest(double expected) {
  return "[[test]]\nname = \"monthly average\"\nmodel = \"foundation_monthly_prices\"\n"
         "[test.inputs.staging_prices]\n"
         "rows = [ { code = \"a\", day = \"2024-01-02\", price = 1.0 },\n"
         "         { code = \"a\", day = \"2024-01-09\", price = 2.0 } ]\n"
         "[test.expect]\nrows = [ { code = \"a\", month = \"2024-01\", avg_price = " +
         std::to_string(expected) + " } ]\n";
}

TEST(CliModels, PlanPrintsTheOrderAsTextOrJson) {
  models::testing::ModelsFolder f;
  WriteModels(f);
  auto r = Offline({"models", "plan", f.dir().string()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("staging_prices"));
  EXPECT_LT(r.out.find("staging_prices"), r.out.find("foundation_monthly_prices"));
  EXPECT_THAT(r.out, HasSubstr("raw_prices"));
  auto j = Offline({"models", "plan", f.dir().string(), "--json"});
  EXPECT_EQ(j.code, kExitOk) << j.err;
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["lakehouse"], nullptr);
  EXPECT_EQ(doc["end_ds"].get<std::string>().size(), 10u);  // today
  json plan = doc["models"];
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0], (json{{"order", 1}, {"name", "staging_prices"}, {"layer", "staging"}, {"kind", "VIEW"},
                           {"depends_on", {"raw_prices"}}, {"path", "staging/staging_prices.sql"},
                           {"action", "build"}, {"reason", "no build recorded"}, {"intervals", json::array()}}));
  EXPECT_EQ(plan[1]["name"], "foundation_monthly_prices");
  EXPECT_EQ(plan[1]["depends_on"], (json{"staging_prices"}));
  // A lakehouse that is not there is a usage error.
  auto missing = Offline({"models", "plan", f.dir().string(), "--lakehouse", (f.dir() / "nope.sqlite").string()});
  EXPECT_EQ(missing.code, kExitUsage) << missing.err;
  EXPECT_THAT(missing.err, HasSubstr("no lakehouse at"));
}

TEST(CliModels, APassingTestExitsZero) {
  models::testing::ModelsFolder f;
  WriteModels(f);
  f.Write("foundation/foundation_monthly_prices.test.toml", MonthlyTest(1.5));
  auto r = Offline({"models", "test", f.dir().string()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "PASS foundation/foundation_monthly_prices.test.toml: monthly average (foundation_monthly_prices)\n"
            "1 tests, 1 passed, 0 failed\n");
  auto j = Offline({"--json", "models", "test", f.dir().string()});
  EXPECT_EQ(j.code, kExitOk) << j.err;
  EXPECT_EQ(json::parse(j.out),
            (json{{"run", 1}, {"passed", 1}, {"failed", 0},
                  {"cases", {{{"file", "foundation/foundation_monthly_prices.test.toml"}, {"name", "monthly average"},
                              {"model", "foundation_monthly_prices"}, {"passed", true}, {"message", ""}}}}}));
}

TEST(CliModels, AWrongExpectationExitsOneWithTheDiff) {
  models::testing::ModelsFolder f;
  WriteModels(f);
  f.Write("foundation/foundation_monthly_prices.test.toml", MonthlyTest(2.5));
  auto r = Offline({"models", "test", f.dir().string()});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("FAIL foundation/foundation_monthly_prices.test.toml: monthly average"));
  EXPECT_THAT(r.out, HasSubstr("missing rows (expected, not returned):"));
  EXPECT_THAT(r.out, HasSubstr("avg_price = 1.5}"));
  EXPECT_THAT(r.out, EndsWith("1 tests, 0 passed, 1 failed\n"));
  auto j = Offline({"models", "test", f.dir().string(), "--json"});
  EXPECT_EQ(j.code, kExitFailed);
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["failed"], 1);
  EXPECT_EQ(doc["cases"][0]["passed"], false);
  EXPECT_THAT(doc["cases"][0]["message"].get<std::string>(), HasSubstr("unexpected rows"));
}

TEST(CliModels, AFolderThatDoesNotLoadExitsOneWithItsProblems) {
  models::testing::ModelsFolder f;
  WriteModels(f);
  f.Write("foundation/foundation_broken.sql", "MODEL (name foundation_broken, kind FULL);\nSELECT * FROM staging_nope");
  for (const char* verb : {"plan", "test"}) {
    auto r = Offline({"models", verb, f.dir().string()});
    EXPECT_EQ(r.code, kExitFailed) << verb;
    EXPECT_EQ(r.out, "") << verb;
    EXPECT_THAT(r.err, StartsWith("sluice: models folder " + f.dir().string() + " does not load:\n")) << verb;
    EXPECT_THAT(r.err, HasSubstr("staging_nope")) << verb;
  }
  auto missing = Offline({"models", "plan", (f.dir() / "nope").string()});
  EXPECT_EQ(missing.code, kExitFailed);
  EXPECT_THAT(missing.err, HasSubstr("does not exist"));
}

}  // namespace
}  // namespace sluice::cli
