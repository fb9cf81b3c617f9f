// Workflow runs with real processes: a run finishes through real workers
// even when the broker is SIGKILLed in the middle; a cron slot fires once
// across a SIGKILL and a restart, and a missed slot is caught up once; a
// SIGHUP with a bad registry keeps the old one.
#include <signal.h>

#include <fstream>

#include "tests/integration/integration_test.h"

namespace sluice::testing {
namespace {

class WorkflowTest : public IntegrationTest {
 protected:
  std::string Registry(const std::string& text) {
    std::string path = dir_.File("workflows.toml");
    std::ofstream(path) << text;
    return path;
  }
  json Run(const std::string& workflow) {
    Answer a = client().Request(proto::Command::kRun, {{"workflow", workflow}}, Scaled(Ms(30000)));
    EXPECT_TRUE(a.ok()) << a.Describe();
    return a.body.value("run", json::object());
  }
  json RunStatus(const std::string& id) {
    Answer a = client().Status(id, Scaled(Ms(30000)));
    return a.ok() ? a.body.value("run", json::object()) : json::object();
  }
  json WaitRun(const std::string& id, const std::function<bool(const json&)>& done, Ms timeout) {
    json run;
    WaitUntil([&] { run = RunStatus(id); return done(run); }, timeout, Ms(100));
    return run;
  }
  std::size_t RunCount(const std::string& workflow) {
    Answer a = client().Request(proto::Command::kRuns, {{"workflow", workflow}}, Scaled(Ms(30000)));
    return a.ok() ? a.body["runs"].size() : 0;
  }
  static bool IsFinished(const std::string& state) {
    return state == "succeeded" || state == "failed" || state == "cancelled";
  }
  json Schedules() {
    Answer a = client().Request(proto::Command::kSchedules, json::object(), Scaled(Ms(30000)));
    return a.ok() ? a.body["schedules"] : json::array();
  }
};

TEST_F(WorkflowTest, RunFinishesThroughABrokerKill) {
  std::string reg = Registry(R"(
[workflow.chain]
[[workflow.chain.stage]]
name = "a"
kind = "test.noop"
[[workflow.chain.stage]]
name = "b"
kind = "test.sleep"
params = { ms = 3000 }
depends_on = ["a"]
[[workflow.chain.stage]]
name = "c"
kind = "test.noop"
depends_on = ["b"]
)");
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--workflows", reg}));
  cluster_.StartWorker(2);
  json run = Run("chain");
  ASSERT_EQ(run.value("id", ""), "r1") << run.dump();
  json seen = WaitRun(
      "r1", [](const json& r) { return r.contains("stages") && r["stages"][1]["state"] == "running"; },
      Scaled(Ms(60000)));
  ASSERT_EQ(seen["stages"][1]["state"], "running") << seen.dump();

  cluster_.StopBroker(SIGKILL);
  ASSERT_TRUE(cluster_.RestartBroker().ok());
  client_ = std::make_unique<WireClient>(cluster_.endpoint());
  json done = WaitRun("r1", [](const json& r) { return r.value("state", "") == "succeeded"; },
                      Scaled(Ms(120000)));
  ASSERT_EQ(done.value("state", ""), "succeeded") << done.dump();
  // b was re-adopted (or re-run) and recorded once; c ran once, after it.
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  auto rows = db.Query("SELECT stage, state, (SELECT count(*) FROM attempts a WHERE a.job_seq = s.job_seq "
                       "AND a.outcome = 'succeeded') AS ok FROM run_stages s ORDER BY stage");
  ASSERT_EQ(rows.size(), 3u) << db.error();
  for (const json& r : rows) {
    EXPECT_EQ(r["state"], "succeeded") << r.dump();
    EXPECT_EQ(r["ok"], 1) << r.dump();
  }
}

TEST_F(WorkflowTest, CronSlotFiresOnceAcrossAKillAndCatchesUpOnce) {
  std::string reg = Registry(R"(
[workflow.minutely]
schedule = "* * * * *"
catch_up = "latest"
[[workflow.minutely.stage]]
name = "only"
kind = "test.noop"
)");
  // A clock 4 s before a minute boundary, so the test sees a slot soon.
  const std::int64_t real = NowUnixMs();
  const std::int64_t offset = (60000 - real % 60000) - 4000 + (real % 60000 > 56000 ? 60000 : 0);
  ASSERT_NO_FATAL_FAILURE(
      StartBroker({"--workflows", reg, "--clock-offset-ms", std::to_string(offset)}));
  ASSERT_TRUE(WaitUntil([&] { return RunCount("minutely") == 1; }, Scaled(Ms(60000)), Ms(100)));

  cluster_.StopBroker(SIGKILL);
  ASSERT_TRUE(cluster_.RestartBroker().ok());
  client_ = std::make_unique<WireClient>(cluster_.endpoint());
  // Still inside the same minute: nothing fires again. A catch-up fires in
  // the broker's start-up, before it answers anything, and the next slot is
  // a minute away: two answers (start-up and a whole turn behind them) are
  // the fence.
  EXPECT_EQ(RunCount("minutely"), 1u);
  EXPECT_EQ(RunCount("minutely"), 1u);
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.Query("SELECT count(*) AS n FROM cron_fires")[0]["n"], 1);

  // Down for five minutes: the latest missed slot fires once at start.
  cluster_.StopBroker(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(StartBroker(
      {"--workflows", reg, "--clock-offset-ms", std::to_string(offset + 5 * 60000)}));
  // Fired in start-up, so the first answer already counts it; the second
  // (a whole turn later) shows no other missed slot followed.
  EXPECT_EQ(RunCount("minutely"), 2u);
  EXPECT_EQ(RunCount("minutely"), 2u);
}

TEST_F(WorkflowTest, SighupWithABadRegistryKeepsTheOldOne) {
  const std::string good = R"(
[workflow.one]
[[workflow.one.stage]]
name = "s"
kind = "test.noop"
)";
  std::string reg = Registry(good);
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--workflows", reg}));
  ASSERT_EQ(Schedules().size(), 1u);
  Registry("[workflow.two]\n[[workflow.two.stage]]\nname = \"s\"\nkind = \"test.noop\"\ndepends_on = [\"s\"]\n");
  cluster_.broker()->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return cluster_.broker()->Stderr().find("reload refused") != std::string::npos; },
                        Scaled(Ms(30000)), Ms(100)))
      << cluster_.broker()->Stderr();
  EXPECT_NE(cluster_.broker()->Stderr().find("workflows.toml:"), std::string::npos);
  json s = Schedules();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0]["workflow"], "one");
  EXPECT_TRUE(cluster_.broker()->Running());

  Registry(good + "\n[workflow.two]\n[[workflow.two.stage]]\nname = \"s\"\nkind = \"test.noop\"\n");
  cluster_.broker()->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return Schedules().size() == 2; }, Scaled(Ms(30000)), Ms(100)));
}

// `sluice wait` takes run ids as `status` and `cancel` do (issue 10): it
// waits until the run is terminal; exit 0 succeeded, 1 failed or cancelled,
// 4 timed out; --json prints the run object.
TEST_F(WorkflowTest, CliWaitTakesARunId) {
  std::string reg = Registry(R"(
[workflow.good]
[[workflow.good.stage]]
name = "a"
kind = "test.sleep"
params = { ms = 300 }
[[workflow.good.stage]]
name = "b"
kind = "test.noop"
depends_on = ["a"]

[workflow.bad]
[[workflow.bad.stage]]
name = "a"
kind = "test.fail"
params = { succeed_on = 99 }
max_attempts = 1

[workflow.stuck]
[[workflow.stuck.stage]]
name = "a"
kind = "test.noop"
queue = "nobody-serves-this"
)");
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--workflows", reg}));
  cluster_.StartWorker(2);
  ASSERT_TRUE(WaitForWorkers(1));
  const std::string good = Run("good").value("id", ""), bad = Run("bad").value("id", ""),
                    stuck = Run("stuck").value("id", "");
  ASSERT_FALSE(good.empty() || bad.empty() || stuck.empty());

  CommandResult r = cluster_.Cli({"--json", "wait", good, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.Describe();
  EXPECT_EQ(j.value("id", ""), good) << r.out;
  EXPECT_EQ(j.value("state", ""), "succeeded") << r.out;
  EXPECT_EQ(RunStatus(good).value("state", ""), "succeeded");

  r = cluster_.Cli({"wait", bad, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
  EXPECT_NE(r.out.find(bad), std::string::npos) << r.Describe();
  EXPECT_EQ(RunStatus(bad).value("state", ""), "failed");

  r = cluster_.Cli({"wait", stuck, "--timeout", "1"}, Scaled(Ms(60000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 4) << r.Describe();
  EXPECT_EQ(RunStatus(stuck).value("state", ""), "running");

  // Run and job ids together: one document, each in the order given.
  proto::JobSpec noop;
  noop.kind = "test.noop";
  const std::string job = SubmitOne(noop);
  ASSERT_FALSE(job.empty());
  r = cluster_.Cli({"--json", "wait", good, job, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.Describe();
  ASSERT_EQ(j["runs"].size(), 1u) << r.out;
  EXPECT_EQ(j["runs"][0].value("id", ""), good) << r.out;
  ASSERT_EQ(j["jobs"].size(), 1u) << r.out;
  EXPECT_EQ(j["jobs"][0].value("state", ""), "succeeded") << r.out;

  // A run id that does not exist: the broker's not_found, exit 1.
  r = cluster_.Cli({"wait", "r999", "--timeout", "5"});
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
}

// Defect: a stage of a custom kind was refused at load ("unknown kind"), so
// a worker of one's own could not serve a workflow. Here the middle stage's
// kind is served by a Python worker written from PROTOCOL.md
// (tests/python/square_worker.py), the others by sluice-worker. Until the
// Python worker connects, `sluice schedules` and `sluice runs` say that no
// connected worker runs that kind; then the run succeeds.
TEST_F(WorkflowTest, ACustomKindStageRunsOnAPythonWorker) {
  const std::string script = std::string(SLUICE_SOURCE_DIR) + "/tests/python/square_worker.py";
  {
    CommandResult probe = RunCommand("python-probe", {"/usr/bin/python3", "-c", "import zmq, msgpack"},
                                     dir_.path(), Scaled(Ms(30000)));
    if (!probe.status.exited || probe.status.code != 0)
      GTEST_SKIP() << "/usr/bin/python3 with python3-zmq and python3-msgpack is needed: " << probe.Describe();
  }
  std::string reg = Registry(R"(
[workflow.squares]
[[workflow.squares.stage]]
name = "first"
kind = "test.noop"
[[workflow.squares.stage]]
name = "square"
kind = "py.square"
params = { x = 7 }
depends_on = ["first"]
[[workflow.squares.stage]]
name = "last"
kind = "test.noop"
depends_on = ["square"]
)");
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--workflows", reg}));
  cluster_.StartWorker(2);
  ASSERT_TRUE(WaitForWorkers(1));

  // Nobody runs py.square yet: SCHEDULES says so, in JSON and in text.
  CommandResult sched = cluster_.Cli({"schedules", "--json"});
  ASSERT_EQ(sched.status.code, 0) << sched.Describe();
  json entry = json::parse(sched.out)["schedules"][0];
  ASSERT_TRUE(entry["unserved_stages"].is_array()) << entry.dump();
  ASSERT_EQ(entry["unserved_stages"].size(), 1u) << entry.dump();
  EXPECT_EQ(entry["unserved_stages"][0]["stage"], "square");
  EXPECT_EQ(entry["unserved_stages"][0]["kind"], "py.square");
  EXPECT_EQ(entry["unserved_stages"][0]["queue"], "default");
  CommandResult text = cluster_.Cli({"schedules"});
  EXPECT_NE(text.out.find("no connected worker runs kind 'py.square'"), std::string::npos) << text.out;

  // The run waits at the custom stage, and RUNS says why.
  json run = Run("squares");
  const std::string id = run.value("id", "");
  ASSERT_FALSE(id.empty()) << run.dump();
  json waiting = WaitRun(
      id, [](const json& r) { return r.contains("stages") && r["stages"][1]["state"] == "queued"; },
      Scaled(Ms(60000)));
  ASSERT_EQ(waiting["stages"][1]["state"], "queued") << waiting.dump();
  CommandResult runs = cluster_.Cli({"runs", "--json"});
  ASSERT_EQ(runs.status.code, 0) << runs.Describe();
  json stage = json::parse(runs.out)["runs"][0]["stages"][1];
  EXPECT_EQ(stage["kind_served"], false) << stage.dump();
  EXPECT_EQ(json::parse(runs.out)["runs"][0]["stages"][0]["kind_served"], true);
  CommandResult runs_text = cluster_.Cli({"runs"});
  EXPECT_NE(runs_text.out.find(id + ": stage 'square' waits: no connected worker runs kind 'py.square'"),
            std::string::npos)
      << runs_text.out;

  // The Python worker comes: the run finishes, the middle stage through it.
  Process python("python-worker", {"/usr/bin/python3", script, "--broker", cluster_.endpoint()}, dir_.path());
  json done = WaitRun(id, [](const json& r) { return IsFinished(r.value("state", "")); }, Scaled(Ms(120000)));
  ASSERT_EQ(done.value("state", ""), "succeeded") << done.dump() << "\n" << python.Describe();
  const std::string job = done["stages"][1].value("job", "");
  Answer status = client().Status(job, Scaled(Ms(30000)));
  ASSERT_TRUE(status.ok()) << status.Describe();
  EXPECT_EQ(status.body["job"]["outputs"]["square"], 49) << status.body.dump();
  EXPECT_EQ(status.body["job"]["attempts"][0]["worker"].get<std::string>().rfind("py-square-", 0), 0u)
      << status.body.dump();
  // Served now: the schedule lists no stage without a worker.
  json after = json::parse(cluster_.Cli({"schedules", "--json"}).out)["schedules"][0];
  EXPECT_EQ(after["unserved_stages"].size(), 0u) << after.dump();
  python.Signal(SIGTERM);
  EXPECT_TRUE(python.Wait(Scaled(Ms(30000))).has_value());
}

}  // namespace
}  // namespace sluice::testing
