// Workflow runs and cron in the broker's loop, in-process with a clock the
// test moves: DAG fan-out / fan-in, failure propagation and retry,
// parameters, max_active_runs, cancel, registry reloads, and cron fires
// that survive restarts without firing a slot twice.
#include <fstream>
#include <set>

#include <cstdlib>

#include "schemas/replies.h"
#include "tests/broker/broker_fixture.h"
#include "tests/workers/scripted_http_server.h"

namespace sluice::broker {
namespace {

using namespace sluice::broker::testing;  // NOLINT: the fixture's vocabulary

constexpr char kDiamond[] = R"(
[workflow.diamond]
[workflow.diamond.params]
region = "all"
[[workflow.diamond.stage]]
name = "a"
kind = "test.noop"
params = { path = "{region}/{date}", year = "{year}", run = "{run_id}" }
[[workflow.diamond.stage]]
name = "b"
kind = "test.noop"
depends_on = ["a"]
max_attempts = 1
[[workflow.diamond.stage]]
name = "c"
kind = "test.noop"
depends_on = ["a"]
[[workflow.diamond.stage]]
name = "d"
kind = "test.noop"
depends_on = ["b", "c"]

[workflow.every5]
schedule = "*/5 * * * *"
catch_up = "latest"
[[workflow.every5.stage]]
name = "only"
kind = "test.noop"

[workflow.lazy]
schedule = "*/5 * * * *"
[[workflow.lazy.stage]]
name = "only"
kind = "test.noop"
)";

class WorkflowRunsTest : public BrokerLoopTest {
 protected:
  void SetUp() override {
    BrokerLoopTest::SetUp();
    std::filesystem::create_directories(dir_);
    config_.workflows_path = (dir_ / "workflows.toml").string();
    WriteRegistry(kDiamond);
  }
  void WriteRegistry(const std::string& text) { std::ofstream(config_.workflows_path) << text; }
  json Run(Peer& c, const std::string& w, json params = json::object()) {
    return c.Request(Command::kRun, {{"workflow", w}, {"params", params}});
  }
  json RunStatus(Peer& c, const std::string& id) { return Status(c, id)["run"]; }
  std::map<std::string, std::string> StageStates(const json& run) {
    std::map<std::string, std::string> m;
    for (const auto& s : run["stages"]) m[s["name"]] = s["state"];
    return m;
  }
  // The next JOB the worker gets (skipping ACKs): {job id, params}.
  std::pair<std::string, json> NextJob(Peer& worker, int timeout_ms = 5000) {
    while (true) {
      Msg m = worker.Recv(timeout_ms);
      if (m.cmd == 0) return {"", json()};
      if (m.cmd == static_cast<std::uint8_t>(Command::kJob)) return {m.Json()["job"], m.Json()["params"]};
    }
  }
  // Waits (polling STATUS) for the run to reach `state`.
  json WaitRun(Peer& c, const std::string& id, const std::string& state) {
    json r;
    for (int i = 0; i < 100; ++i) {
      r = RunStatus(c, id);
      if (r["state"] == state) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "run " << id << " never became " << state << ": " << r.dump();
    return r;
  }
  json Runs(Peer& c, const std::string& w) {
    return c.Request(Command::kRuns, {{"workflow", w}})["runs"];
  }
  size_t WaitRunCount(Peer& c, const std::string& w, size_t n) {
    json runs;
    for (int i = 0; i < 150; ++i) {
      runs = Runs(c, w);
      if (runs.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return runs.size();
  }
};

TEST_F(WorkflowRunsTest, FanOutFanInAndParameters) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  json run = Run(client, "diamond", {{"region", "br"}, {"date", "2024-02-29"}})["run"];
  ASSERT_EQ(run["id"], "r1") << run.dump();
  EXPECT_EQ(run["state"], "running");
  EXPECT_EQ(run["logical_date"], "2024-02-29");
  EXPECT_EQ(run["trigger"], "manual");
  worker.Ready("w1", 8, {}, 60000, 0, {"test.noop"});

  auto [a, params] = NextJob(worker);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(params["path"], "br/2024-02-29");
  EXPECT_EQ(params["year"], "2024");
  EXPECT_EQ(params["run"], "r1");
  EXPECT_EQ(NextJob(worker, 800).first, "") << "b or c started before a finished";
  worker.Result(a, 1, Outcome::kSucceeded);
  // Fan-out: b and c both start.
  std::set<std::string> bc = {NextJob(worker).first, NextJob(worker).first};
  EXPECT_EQ(bc.size(), 2u);
  EXPECT_EQ(StageStates(RunStatus(client, "r1"))["d"], "pending");
  auto it = bc.begin();
  worker.Result(*it, 1, Outcome::kSucceeded);
  EXPECT_EQ(NextJob(worker, 800).first, "") << "d started with one of its inputs missing";
  worker.Result(*std::next(it), 1, Outcome::kSucceeded);
  // Fan-in: d starts once both are done.
  std::string d = NextJob(worker).first;
  ASSERT_FALSE(d.empty());
  worker.Result(d, 1, Outcome::kSucceeded);
  json done = WaitRun(client, "r1", "succeeded");
  for (const auto& [stage, state] : StageStates(done)) EXPECT_EQ(state, "succeeded") << stage;
  EXPECT_FALSE(done["finished_ms"].is_null());
  EXPECT_EQ(done["stages"][0]["attempt"], 1);
}

TEST_F(WorkflowRunsTest, DeadStageFailsDownstreamAndRetryContinues) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  Run(client, "diamond");
  worker.Ready("w1", 8, {}, 60000, 0, {"test.noop"});
  std::string a = NextJob(worker).first;
  worker.Result(a, 1, Outcome::kSucceeded);
  std::string j1 = NextJob(worker).first, j2 = NextJob(worker).first;
  json run = RunStatus(client, "r1");
  std::string b = run["stages"][1]["job"], c = run["stages"][2]["job"];
  ASSERT_EQ(std::set<std::string>({j1, j2}), std::set<std::string>({b, c}));
  // b fails for good (max_attempts 1): d is upstream_failed, the run failed;
  // c, already running, still finishes.
  worker.Result(b, 1, Outcome::kFailed, "boom");
  run = WaitRun(client, "r1", "failed");
  EXPECT_EQ(StageStates(run)["b"], "dead");
  EXPECT_EQ(StageStates(run)["d"], "upstream_failed");
  worker.Result(c, 1, Outcome::kSucceeded);
  for (int i = 0; i < 50 && StageStates(RunStatus(client, "r1"))["c"] != "succeeded"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  run = RunStatus(client, "r1");
  EXPECT_EQ(StageStates(run)["c"], "succeeded");
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(Stats(client)["counters"]["runs_failed"], 1);

  // Retrying the dead stage's job: the run continues and d runs after b.
  json retried = client.Request(Command::kRetry, {{"id", b}});
  ASSERT_EQ(retried["job"]["state"], "queued") << retried.dump();
  run = RunStatus(client, "r1");
  EXPECT_EQ(run["state"], "running");
  EXPECT_EQ(StageStates(run)["d"], "pending");
  ASSERT_EQ(NextJob(worker).first, b);
  worker.Result(b, 2, Outcome::kSucceeded);
  std::string d = NextJob(worker).first;
  ASSERT_FALSE(d.empty());
  worker.Result(d, 1, Outcome::kSucceeded);
  run = WaitRun(client, "r1", "succeeded");
  EXPECT_TRUE(run["finished_ms"].is_number());
}

TEST_F(WorkflowRunsTest, MaxActiveRunsQueuesAndCancelStopsARun) {
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  EXPECT_EQ(Run(client, "diamond")["run"]["state"], "running");
  EXPECT_EQ(Run(client, "diamond")["run"]["state"], "queued");  // max_active_runs = 1
  worker.Ready("w1", 8, {}, 60000, 0, {"test.noop"});
  std::string a = NextJob(worker).first;
  ASSERT_FALSE(a.empty());
  json cancelled = client.Request(Command::kCancelJob, {{"id", "r1"}});
  ASSERT_EQ(cancelled["run"]["state"], "cancelled") << cancelled.dump();
  for (const auto& [stage, state] : StageStates(cancelled["run"])) EXPECT_EQ(state, "cancelled") << stage;
  // The worker is told to stop a; the queued run starts in its place.
  Msg m = worker.Recv();
  while (m.cmd == static_cast<std::uint8_t>(Command::kAck)) m = worker.Recv();
  EXPECT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kCancel));
  EXPECT_EQ(RunStatus(client, "r2")["state"], "running");
  json again = client.Request(Command::kCancelJob, {{"id", "r1"}});
  EXPECT_EQ(again["code"], "invalid_state") << again.dump();
  EXPECT_EQ(client.Request(Command::kRun, {{"workflow", "nope"}})["code"], "not_found");
  EXPECT_EQ(client.Request(Command::kRun, {{"workflow", "diamond"}, {"params", {{"date", "2024-02-30"}}}})["code"],
            "bad_request");
}

TEST_F(WorkflowRunsTest, CronFiresOncePerSlotAcrossRestarts) {
  // 1'800'000'000 s is 2027-01-15T08:00:00Z: a slot of */5.
  StartBroker();
  Peer client(ctx_, endpoint_);
  json sched = client.Request(Command::kSchedules, json::object())["schedules"];
  ASSERT_EQ(sched.size(), 3u);
  EXPECT_EQ(sched[1]["workflow"], "every5");
  EXPECT_EQ(sched[1]["next_fire"], "2027-01-15T08:05:00Z");
  EXPECT_EQ(sched[0]["next_fire"], nullptr);  // diamond: manual only

  clock_.Advance(5 * 60 * 1000);
  ASSERT_EQ(WaitRunCount(client, "every5", 1), 1u);
  json run = Runs(client, "every5")[0];
  EXPECT_EQ(run["trigger"], "cron");
  EXPECT_EQ(run["slot"], "2027-01-15T08:05:00Z");
  EXPECT_EQ(run["logical_date"], "2027-01-15");
  ASSERT_EQ(WaitRunCount(client, "lazy", 1), 1u);

  // A restart in the same minute does not fire the slot again.
  StopBroker();
  clock_.Advance(20 * 1000);
  StartBroker();
  Peer c2(ctx_, endpoint_);
  (void)c2.UntilFence();  // start-up and a whole turn are behind us
  EXPECT_EQ(Runs(c2, "every5").size(), 1u);
  EXPECT_EQ(Runs(c2, "lazy").size(), 1u);

  // Down for half an hour: catch_up = latest fires the latest missed slot
  // once; catch_up = none fires nothing until the next slot.
  StopBroker();
  clock_.Advance(30 * 60 * 1000);  // now 08:35:20
  StartBroker();
  Peer c3(ctx_, endpoint_);
  ASSERT_EQ(WaitRunCount(c3, "every5", 2), 2u);
  EXPECT_EQ(Runs(c3, "every5")[0]["slot"], "2027-01-15T08:35:00Z");
  (void)c3.UntilFence();  // no other missed slot follows
  EXPECT_EQ(Runs(c3, "every5").size(), 2u);
  EXPECT_EQ(Runs(c3, "lazy").size(), 1u);

  // Paused: the slot passes without a run; the pause survives a restart.
  EXPECT_EQ(c3.Request(Command::kPause, {{"workflow", "lazy"}})["schedule"]["paused"], true);
  StopBroker();
  StartBroker();
  Peer c4(ctx_, endpoint_);
  clock_.Advance(5 * 60 * 1000);  // 08:40:20
  ASSERT_EQ(WaitRunCount(c4, "every5", 3), 3u);
  EXPECT_EQ(Runs(c4, "lazy").size(), 1u);
  json s = c4.Request(Command::kSchedules, json::object())["schedules"];
  EXPECT_EQ(s[2]["paused"], true);
  EXPECT_EQ(s[1]["last_fire"], "2027-01-15T08:40:00Z");
  EXPECT_EQ(c4.Request(Command::kResume, {{"workflow", "lazy"}})["schedule"]["paused"], false);
  clock_.Advance(5 * 60 * 1000);
  ASSERT_EQ(WaitRunCount(c4, "lazy", 2), 2u);
}

TEST_F(WorkflowRunsTest, BadRegistryIsRefusedAndTheOldOneStays) {
  StartBroker();
  Peer client(ctx_, endpoint_);
  WriteRegistry("[workflow.x]\n[[workflow.x.stage]]\nname = \"s\"\nkind = \"transform.sq\"\n");
  json r = client.Request(Command::kReload, json::object());
  EXPECT_EQ(r["code"], "bad_request");
  EXPECT_NE(r["message"].get<std::string>().find("workflows.toml:4"), std::string::npos) << r.dump();
  EXPECT_EQ(client.Request(Command::kSchedules, json::object())["schedules"].size(), 3u);
  EXPECT_EQ(Run(client, "diamond")["run"]["state"], "running");

  WriteRegistry("[workflow.x]\n[[workflow.x.stage]]\nname = \"s\"\nkind = \"test.noop\"\n");
  r = client.Request(Command::kReload, json::object());
  EXPECT_EQ(r["workflows"], 1) << r.dump();
  EXPECT_EQ(Run(client, "x")["run"]["state"], "running");
  EXPECT_EQ(client.Request(Command::kRun, {{"workflow", "diamond"}})["code"], "not_found");
  // The run started before the reload keeps its own copy of the stages.
  EXPECT_EQ(RunStatus(client, "r1")["stages"].size(), 4u);
}

TEST_F(WorkflowRunsTest, ReloadRequestedBySignalFlag) {
  std::atomic<bool> reload{false};
  config_.reload_requested = &reload;
  StartBroker();
  Peer client(ctx_, endpoint_);
  WriteRegistry("[workflow.x]\n[[workflow.x.stage]]\nname = \"s\"\nkind = \"transform.sq\"\n");
  reload = true;
  for (int i = 0; i < 100 && reload; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(reload) << "the loop never looked at the flag";
  EXPECT_EQ(client.Request(Command::kSchedules, json::object())["schedules"].size(), 3u) << "bad file taken";
  WriteRegistry("[workflow.x]\n[[workflow.x.stage]]\nname = \"s\"\nkind = \"test.noop\"\n");
  reload = true;
  json s;
  for (int i = 0; i < 100; ++i) {
    s = client.Request(Command::kSchedules, json::object())["schedules"];
    if (s.size() == 1u) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(s.size(), 1u) << s.dump();
}

// One failure, one post (issue 10): a stage that dies makes its run's alert,
// which names the stage and carries its error; the stage job's own "is dead"
// alert is not sent. A job outside any run still alerts, with its error.
// The count is taken after a fence: alerts are posted in the order they were
// raised, so once the fence job's alert has arrived every earlier one has.
TEST_F(WorkflowRunsTest, ADeadStagePostsOneAlertForItsRunWithTheError) {
  worker::testing::ScriptedHttpServer hook(
      [](int, const std::string&) { return worker::testing::Reply(200, "", "ok"); });
  ::setenv("ALERT_WEBHOOK_URL", hook.Url("/alerts").c_str(), 1);
  StartBroker();
  ::unsetenv("ALERT_WEBHOOK_URL");
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  Run(client, "diamond");
  worker.Ready("w1", 8, {}, 60000, 0, {"test.noop"});
  std::string a = NextJob(worker).first;
  ASSERT_FALSE(a.empty());
  worker.Result(a, 1, Outcome::kFailed, "stage-a-error: disk on fire", /*retryable=*/false);
  WaitRun(client, "r1", "failed");

  // The fence: a job of no run that dies, with an error longer than an
  // alert carries.
  const std::string long_error = "fence-error-head " + std::string(3000, 'x') + " fence-error-tail";
  const std::string fence = Submit(client, {{"kind", "test.noop"}, {"max_attempts", 1}});
  ASSERT_EQ(NextJob(worker).first, fence);
  worker.Result(fence, 1, Outcome::kFailed, long_error, /*retryable=*/false);
  auto has_fence = [&] {
    for (const std::string& r : hook.Requests())
      if (r.find("job " + fence + " ") != std::string::npos) return true;
    return false;
  };
  for (int i = 0; i < 400 && !has_fence(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(has_fence()) << "the fence job's alert never arrived";

  const std::vector<std::string> posts = hook.Requests();
  ASSERT_EQ(posts.size(), 2u) << "the run's alert and the fence's; got:\n"
                              << [&] { std::string all; for (auto& p : posts) all += p + "\n---\n"; return all; }();
  const std::string& run_alert = posts[0];
  EXPECT_EQ(run_alert.rfind("POST /alerts", 0), 0u) << run_alert;
  EXPECT_NE(run_alert.find("run r1 of diamond failed"), std::string::npos) << run_alert;
  EXPECT_NE(run_alert.find("stage a"), std::string::npos) << run_alert;
  EXPECT_NE(run_alert.find("stage-a-error: disk on fire"), std::string::npos) << run_alert;
  EXPECT_NE(run_alert.find("sluice retry " + a), std::string::npos) << run_alert;
  EXPECT_EQ(run_alert.find("is dead"), std::string::npos) << run_alert;

  const std::string& job_alert = posts[1];
  EXPECT_NE(job_alert.find("is dead"), std::string::npos) << job_alert;
  EXPECT_NE(job_alert.find("fence-error-head x"), std::string::npos) << job_alert;
  EXPECT_EQ(job_alert.find("fence-error-tail"), std::string::npos) << "cut to a few hundred bytes";
  EXPECT_LT(job_alert.size(), 2000u);
}

TEST_F(WorkflowRunsTest, FinishedRunsAgeOutWithRetention) {
  config_.retention_ms = 3600 * 1000;
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  clock_.Advance(5 * 60 * 1000);  // a cron slot of every5 (and lazy)
  ASSERT_EQ(WaitRunCount(client, "every5", 1), 1u);
  worker.Ready("w1", 8, {}, 60000, 0, {"test.noop"});
  for (int i = 0; i < 2; ++i) {
    std::string job = NextJob(worker).first;
    ASSERT_FALSE(job.empty());
    worker.Result(job, 1, Outcome::kSucceeded);
  }
  WaitRun(client, "r1", "succeeded");
  WaitRun(client, "r2", "succeeded");
  clock_.Advance(2 * 3600 * 1000);  // past the retention; the next slots fire too
  json runs;
  for (int i = 0; i < 200; ++i) {
    runs = Runs(client, "every5");
    if (!runs.empty() && runs.back()["id"] != "r1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  for (const auto& r : runs) EXPECT_NE(r["id"], "r1") << "the old run was not pruned";
  EXPECT_EQ(Status(client, "r1")["code"], "not_found");
  // The latest fire of each workflow stays: a restart must not fire it again.
  StopBroker();
  Database db;
  ASSERT_TRUE(db.Open(config_.state_path, true).ok());
  auto st = db.Prepare("SELECT count(*) FROM cron_fires WHERE workflow = 'every5'");
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->Step(), SQLITE_ROW);
  EXPECT_GE(st->Int(0), 1);
}

TEST_F(WorkflowRunsTest, BrokerRefusesToStartWithABadRegistry) {
  WriteRegistry("[workflow.x]\n[[workflow.x.stage]]\nname = \"s\"\nkind = \"test.noop\"\ndepends_on = [\"ghost\"]\n");
  Broker broker(config_, &clock_);
  sluice::Status s = broker.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("workflows.toml:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ghost"), std::string::npos) << s.message();
}

// The run replies are built as the typed views of schemas/replies.h
// (RunView, ScheduleView) and encoded with proto::Encode: each body is the
// bytes of its own JSON through to_msgpack, as when the broker built them
// as JSON, and decodes with the client's typed decoders.
TEST_F(WorkflowRunsTest, RunRepliesAreTheBytesOfTheirJson) {
  StartBroker();
  Peer worker(ctx_, endpoint_);
  worker.Ready("w1", 8, {}, 60000, 0, {"test.noop"});
  Peer c(ctx_, endpoint_);
  // A READY from another connection may be read after a later request.
  for (int i = 0; i < 200 && c.Request(Command::kWorkers, json::object())["workers"].empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::uint64_t req = 1000;
  auto reply = [&](Command cmd, json body) {
    body["req"] = ++req;
    c.SendJson(cmd, body);
    Msg m = c.Recv();
    EXPECT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kReply)) << (m.cmd ? m.Json().dump() : "no answer");
    if (m.cmd != static_cast<std::uint8_t>(Command::kReply)) return std::string();
    const json j = json::from_msgpack(m.body);
    EXPECT_EQ(j["req"], req);
    auto again = json::to_msgpack(j);
    EXPECT_EQ(std::string(again.begin(), again.end()), m.body) << "not the bytes of its JSON: " << j.dump();
    return m.body;
  };
  auto decoded = [](const std::string& body, auto* out) {
    sluice::Status s = proto::Decode(body, out);
    EXPECT_TRUE(s.ok()) << s.ToString();
  };

  proto::RunReply run;
  decoded(reply(Command::kRun, {{"workflow", "diamond"}, {"params", {{"region", "eu"}}}}), &run);
  EXPECT_EQ(run.run.id, "r1");
  EXPECT_EQ(run.run.state, "running");
  EXPECT_EQ(run.run.trigger, "manual");
  EXPECT_EQ(run.run.slot, "");  // nil
  EXPECT_EQ(run.run.params.at("region"), "eu");
  ASSERT_EQ(run.run.stages.size(), 4u);
  EXPECT_EQ(run.run.stages[0].job, "j1");
  EXPECT_TRUE(run.run.stages[0].kind_served);
  EXPECT_EQ(run.run.stages[3].job, "");  // d: pending, no job
  EXPECT_EQ(run.run.stages[3].depends_on, (std::vector<std::string>{"b", "c"}));
  ASSERT_FALSE(NextJob(worker).first.empty());

  decoded(reply(Command::kStatus, {{"id", "r1"}}), &run);
  EXPECT_EQ(run.run.stages[0].state, "running");
  EXPECT_TRUE(run.run.stages[0].started_ms.has_value());
  proto::RunsReply runs;
  decoded(reply(Command::kRuns, {{"workflow", "diamond"}, {"state", "running"}}), &runs);
  ASSERT_EQ(runs.runs.size(), 1u);
  EXPECT_EQ(runs.runs[0].id, "r1");
  decoded(reply(Command::kCancelJob, {{"id", "r1"}}), &run);
  EXPECT_EQ(run.run.state, "cancelled");
  EXPECT_TRUE(run.run.finished_ms.has_value());

  proto::SchedulesReply schedules;
  decoded(reply(Command::kSchedules, json::object()), &schedules);
  ASSERT_EQ(schedules.schedules.size(), 3u);
  EXPECT_EQ(schedules.schedules[0].workflow, "diamond");
  EXPECT_EQ(schedules.schedules[0].schedule, "");      // nil: manual runs only
  EXPECT_EQ(schedules.schedules[0].next_fire, "");     // nil
  EXPECT_EQ(schedules.schedules[1].next_fire, "2027-01-15T08:05:00Z");
  EXPECT_EQ(schedules.schedules[1].catch_up, "latest");
  proto::ScheduleReply schedule;
  decoded(reply(Command::kPause, {{"workflow", "lazy"}}), &schedule);
  EXPECT_TRUE(schedule.schedule.paused);
  decoded(reply(Command::kResume, {{"workflow", "lazy"}}), &schedule);
  EXPECT_FALSE(schedule.schedule.paused);
  proto::ReloadReply reload;
  decoded(reply(Command::kReload, json::object()), &reload);
  EXPECT_EQ(reload.workflows, 3u);
  EXPECT_EQ(reload.path, config_.workflows_path);
}

}  // namespace
}  // namespace sluice::broker
