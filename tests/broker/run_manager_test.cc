// RunManager on its own: workflow runs moved along their DAG by the jobs
// that end, with no socket and no loop. The registry is a TOML file in a
// temporary folder; stage jobs run through a real JobLifecycle on a real
// JobStore, dispatched to a worker the test makes up, whose RESULTs the
// test writes. Time is whatever `now` the test passes; each step commits
// where the broker would.
//
// What must hold (run_manager.h, workflow_run.h):
//   - a run submits its root stages, then each stage once its dependencies
//     succeeded, and succeeds when every stage has;
//   - a dead stage fails its run, marks what is downstream upstream_failed
//     and raises one alert (the run's, naming the stage); retrying the
//     stage's job revives the run;
//   - cancelling a run cancels its stage jobs and its pending stages;
//   - max_active_runs queues a run until an earlier one finishes;
//   - cron fires a workflow at its slot, not before, and not while paused.
#include "broker/run_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "schemas/job_id.h"

namespace sluice::broker {
namespace {

// 2027-01-15T08:00:00Z, a slot of */5.
constexpr std::int64_t kT0 = 1'800'000'000'000;
constexpr std::int64_t kFiveMinutes = 5 * 60 * 1000;

constexpr char kRegistry[] = R"(
[workflow.dag]
[[workflow.dag.stage]]
name = "x"
kind = "test.noop"
max_attempts = 1
[[workflow.dag.stage]]
name = "y"
kind = "test.noop"
max_attempts = 1
[[workflow.dag.stage]]
name = "z"
kind = "test.noop"
depends_on = ["x", "y"]
max_attempts = 1

[workflow.tick]
schedule = "*/5 * * * *"
[[workflow.tick.stage]]
name = "only"
kind = "test.noop"
)";

struct Alert {
  std::string title, text;
};

class RunManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-runs-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    registry_path_ = (dir_ / "workflows.toml").string();
    std::ofstream(registry_path_) << kRegistry;
    Status s = store_.Open((dir_ / "state.sqlite").string(), SyncMode::kNormal);
    ASSERT_TRUE(s.ok()) << s.ToString();
    LifecycleConfig lc;
    lc.default_timeout_ms = 0;
    lc.seed = 7;
    jobs_ = std::make_unique<JobLifecycle>(store_, hooks_, lc);
    auto loaded = jobs_->Load(kT0, /*startup=*/true);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    runs_ = std::make_unique<RunManager>(store_, *jobs_, RunManagerConfig{registry_path_, false},
                                         [this](const std::string& title, const std::string& text) {
                                           alerts_.push_back({title, text});
                                         });
    Effects fx;
    s = runs_->Load(kT0, /*startup=*/true, &fx);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(runs_->registry().workflows.size(), 2u);
    Commit();
    auto w = std::make_unique<Worker>();
    w->routing_id = "rid-w1";
    w->id = "w1";
    w->host = "host-w1";
    w->slots = 8;
    w->queues = {"default"};
    w->kinds = {"test.noop"};
    s = jobs_->AddWorker(std::move(w), {}, kT0, &fx, &worker_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    runs_.reset();
    jobs_.reset();
    store_.Close();
    std::filesystem::remove_all(dir_);
  }

  void Commit() {
    Status s = store_.Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // What Broker::Apply does with an entry point's effects: the ended jobs
  // move their runs on. Then the commit.
  void Apply(const Status& s, Effects& fx, std::int64_t now) {
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (!fx.ended.empty()) {
      Status e = runs_->OnJobsEnded(now, &fx);
      ASSERT_TRUE(e.ok()) << e.ToString();
      EXPECT_TRUE(fx.ended.empty()) << "OnJobsEnded left ended jobs";
    }
    Commit();
  }
  std::int64_t Start(const std::string& workflow, std::int64_t now) {
    const workflows::WorkflowDef* w = runs_->registry().Find(workflow);
    EXPECT_NE(w, nullptr) << workflow;
    if (w == nullptr) return 0;
    Effects fx;
    auto run = runs_->StartRun(*w, "manual", "2027-01-15", std::nullopt, {}, now, &fx);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    Apply(Status::Ok(), fx, now);
    return run.ok() ? *run : 0;
  }
  // Dispatches what is queued; the job seqs sent, with their attempts.
  std::map<std::int64_t, std::uint32_t> Dispatch(std::int64_t now) {
    Effects fx;
    Status s = jobs_->Dispatch(now, &fx);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::map<std::int64_t, std::uint32_t> sent;
    for (const Message& m : fx.after_commit) {
      if (m.cmd != proto::Command::kJob) continue;
      proto::JobMsg j;
      EXPECT_TRUE(proto::Decode(m.body, &j).ok());
      sent[ParseJobId(j.job).value_or(0)] = j.attempt;
    }
    Apply(Status::Ok(), fx, now);
    return sent;
  }
  // The worker's RESULT for the running attempt of job `seq`.
  void End(std::int64_t seq, Outcome outcome, std::int64_t now, const std::string& error = {}) {
    const Job* j = jobs_->Find(seq);
    ASSERT_NE(j, nullptr) << "job " << seq << " is not live";
    ASSERT_EQ(j->state, JobState::kRunning) << "job " << seq;
    proto::JobResult r;
    r.job = FormatJobId(seq);
    r.attempt = j->attempt;
    r.outcome = outcome;
    r.error = error;
    Effects fx;
    Apply(jobs_->RecordResult(*worker_, r, now, &fx), fx, now);
  }
  WorkflowRun* Run(std::int64_t run_seq) {
    auto r = runs_->FindRun(run_seq);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }
  const StageRun& Stage(std::int64_t run_seq, const std::string& name) {
    WorkflowRun* run = Run(run_seq);
    static const StageRun kNone;
    if (run == nullptr) return kNone;
    const int i = run->FindStage(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? kNone : run->stages[i];
  }
  RunPhase Phase(std::int64_t run_seq) {
    WorkflowRun* run = Run(run_seq);
    return run ? run->phase : RunPhase::kQueued;
  }
  std::map<std::string, StageState> StageStates(std::int64_t run_seq) {
    std::map<std::string, StageState> m;
    if (WorkflowRun* run = Run(run_seq))
      for (const StageRun& st : run->stages) m[st.def.name] = st.state;
    return m;
  }
  JobState StoredState(std::int64_t seq) {
    auto rec = store_.Load(seq, false);
    EXPECT_TRUE(rec.ok() && rec->has_value()) << "job " << seq;
    return rec.ok() && rec->has_value() ? (*rec)->job.state : JobState::kQueued;
  }
  nlohmann::json Runs(const std::string& workflow) {
    auto r = runs_->ListRuns(workflow, "", 100);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? proto::ToJson(*r) : nlohmann::json::array();
  }

  std::filesystem::path dir_;
  std::string registry_path_;
  JobStore store_;
  KindHookTable hooks_;
  std::unique_ptr<JobLifecycle> jobs_;
  std::unique_ptr<RunManager> runs_;
  Worker* worker_ = nullptr;
  std::vector<Alert> alerts_;
};

TEST_F(RunManagerTest, RootStagesStartAndEachEndMovesTheRunOn) {
  const std::int64_t run = Start("dag", kT0);
  ASSERT_EQ(run, 1);
  EXPECT_EQ(Phase(run), RunPhase::kRunning);
  const std::int64_t x = Stage(run, "x").job_seq, y = Stage(run, "y").job_seq;
  EXPECT_EQ(Stage(run, "x").state, StageState::kSubmitted);
  EXPECT_EQ(Stage(run, "y").state, StageState::kSubmitted);
  EXPECT_EQ(Stage(run, "z").state, StageState::kPending);
  EXPECT_EQ(Stage(run, "z").job_seq, 0);
  ASSERT_TRUE(jobs_->IsLive(x));
  ASSERT_TRUE(jobs_->IsLive(y));
  EXPECT_EQ(jobs_->live_count(), 2u) << "z was submitted before its inputs";
  EXPECT_EQ(jobs_->Find(x)->key, "r1/x");

  auto sent = Dispatch(kT0 + 1);
  EXPECT_EQ(sent, (std::map<std::int64_t, std::uint32_t>{{x, 1}, {y, 1}}));
  End(x, Outcome::kSucceeded, kT0 + 10);
  EXPECT_EQ(Stage(run, "x").state, StageState::kSucceeded);
  EXPECT_EQ(Stage(run, "z").state, StageState::kPending) << "z started with one of its inputs missing";
  EXPECT_EQ(Phase(run), RunPhase::kRunning);

  End(y, Outcome::kSucceeded, kT0 + 20);
  EXPECT_EQ(Stage(run, "z").state, StageState::kSubmitted);
  const std::int64_t z = Stage(run, "z").job_seq;
  ASSERT_TRUE(jobs_->IsLive(z));
  EXPECT_EQ(Dispatch(kT0 + 21), (std::map<std::int64_t, std::uint32_t>{{z, 1}}));
  End(z, Outcome::kSucceeded, kT0 + 30);

  EXPECT_EQ(Phase(run), RunPhase::kSucceeded);
  WorkflowRun* r = Run(run);
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->row.finished_ms.has_value());
  EXPECT_EQ(*r->row.finished_ms, kT0 + 30);
  nlohmann::json j = proto::ToJson(runs_->RunViewOf(*r, false));
  EXPECT_EQ(j["state"], "succeeded");
  EXPECT_EQ(j["id"], "r1");
  for (const auto& st : j["stages"]) EXPECT_EQ(st["state"], "succeeded") << st.dump();
  EXPECT_TRUE(alerts_.empty());
}

TEST_F(RunManagerTest, ADeadStageFailsTheRunWithOneAlertAndItsRetryRevivesIt) {
  const std::int64_t run = Start("dag", kT0);
  const std::int64_t x = Stage(run, "x").job_seq, y = Stage(run, "y").job_seq;
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 2u);

  End(x, Outcome::kFailed, kT0 + 10, "boom-x: no such table");  // max_attempts 1: dead
  EXPECT_EQ(StoredState(x), JobState::kDead);
  EXPECT_EQ(Phase(run), RunPhase::kFailed);
  auto states = StageStates(run);
  EXPECT_EQ(states["x"], StageState::kDead);
  EXPECT_EQ(states["y"], StageState::kSubmitted) << "a stage in flight finishes";
  EXPECT_EQ(states["z"], StageState::kUpstreamFailed);
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_NE(alerts_[0].title.find("run r1 of dag failed"), std::string::npos) << alerts_[0].title;
  EXPECT_NE(alerts_[0].title.find("stage x"), std::string::npos) << alerts_[0].title;
  EXPECT_NE(alerts_[0].text.find("boom-x: no such table"), std::string::npos) << alerts_[0].text;
  EXPECT_NE(alerts_[0].text.find("sluice retry " + FormatJobId(x)), std::string::npos) << alerts_[0].text;
  EXPECT_EQ(alerts_[0].title.find("is dead"), std::string::npos) << "the stage job posted its own alert";
  EXPECT_EQ(runs_->counters().runs_failed, 1);

  // y finishes; the run stays failed and z does not start.
  End(y, Outcome::kSucceeded, kT0 + 20);
  EXPECT_EQ(Stage(run, "y").state, StageState::kSucceeded);
  EXPECT_EQ(Phase(run), RunPhase::kFailed);
  EXPECT_EQ(Stage(run, "z").state, StageState::kUpstreamFailed);
  EXPECT_EQ(jobs_->live_count(), 0u);
  EXPECT_EQ(alerts_.size(), 1u) << "one failure, one alert";

  // Retrying x's job (as the broker's RETRY does): the run continues.
  Effects fx;
  Status s = jobs_->Retry(x, kT0 + 100, &fx);
  if (s.ok()) s = runs_->OnJobRetried(x, kT0 + 100, &fx);
  Apply(s, fx, kT0 + 100);
  EXPECT_EQ(Phase(run), RunPhase::kRunning);
  EXPECT_EQ(Stage(run, "x").state, StageState::kSubmitted);
  EXPECT_EQ(Stage(run, "z").state, StageState::kPending);
  EXPECT_FALSE(Run(run)->row.finished_ms.has_value());
  EXPECT_EQ(Dispatch(kT0 + 101), (std::map<std::int64_t, std::uint32_t>{{x, 2}}));
  End(x, Outcome::kSucceeded, kT0 + 110);
  const std::int64_t z = Stage(run, "z").job_seq;
  ASSERT_NE(z, 0);
  EXPECT_EQ(Dispatch(kT0 + 111), (std::map<std::int64_t, std::uint32_t>{{z, 1}}));
  End(z, Outcome::kSucceeded, kT0 + 120);
  EXPECT_EQ(Phase(run), RunPhase::kSucceeded);
  EXPECT_EQ(alerts_.size(), 1u);
}

TEST_F(RunManagerTest, ADeadJobOfNoRunRaisesItsOwnAlert) {
  proto::JobSpec spec;
  spec.kind = "test.noop";
  spec.max_attempts = 1;
  Effects fx;
  auto job = jobs_->Submit(spec, kT0, &fx);
  ASSERT_TRUE(job.ok());
  Apply(Status::Ok(), fx, kT0);
  const std::int64_t seq = *ParseJobId(job->id);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  End(seq, Outcome::kFailed, kT0 + 2, "lonely failure");
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_NE(alerts_[0].title.find("job " + job->id + " (test.noop) is dead"), std::string::npos)
      << alerts_[0].title;
  EXPECT_NE(alerts_[0].text.find("lonely failure"), std::string::npos) << alerts_[0].text;
}

TEST_F(RunManagerTest, CancelRunCancelsItsStageJobsAndPendingStages) {
  const std::int64_t run = Start("dag", kT0);
  const std::int64_t x = Stage(run, "x").job_seq, y = Stage(run, "y").job_seq;
  worker_->slots = 1;  // x runs, y waits
  auto sent = Dispatch(kT0 + 1);
  ASSERT_EQ(sent.size(), 1u);
  const std::int64_t running = sent.begin()->first;
  const std::int64_t waiting = running == x ? y : x;

  Effects fx;
  Status s = runs_->CancelRun(run, kT0 + 10, &fx);
  // The worker is told to stop the attempt it runs.
  int cancels = 0;
  for (const Message& m : fx.send_now) {
    if (m.cmd != proto::Command::kCancel) continue;
    proto::CancelMsg c;
    ASSERT_TRUE(proto::Decode(m.body, &c).ok());
    EXPECT_EQ(m.rid, "rid-w1");
    EXPECT_EQ(c.job, FormatJobId(running));
    ++cancels;
  }
  EXPECT_EQ(cancels, 1);
  Apply(s, fx, kT0 + 10);
  EXPECT_EQ(Phase(run), RunPhase::kCancelled);
  for (const auto& [name, state] : StageStates(run)) EXPECT_EQ(state, StageState::kCancelled) << name;
  EXPECT_EQ(StoredState(running), JobState::kCancelled);
  EXPECT_EQ(StoredState(waiting), JobState::kCancelled);
  EXPECT_EQ(jobs_->live_count(), 0u);
  EXPECT_TRUE(Dispatch(kT0 + 11).empty());
  EXPECT_TRUE(alerts_.empty()) << "a cancelled run is no failure";

  Effects again;
  EXPECT_EQ(runs_->CancelRun(run, kT0 + 12, &again).code(), Code::kConflict);
  store_.Rollback();
  EXPECT_EQ(runs_->CancelRun(99, kT0 + 12, &again).code(), Code::kNotFound);
  store_.Rollback();
}

TEST_F(RunManagerTest, MaxActiveRunsQueuesASecondRunUntilTheFirstFinishes) {
  const std::int64_t first = Start("dag", kT0);
  const std::int64_t second = Start("dag", kT0 + 1);
  EXPECT_EQ(Phase(first), RunPhase::kRunning);
  EXPECT_EQ(Phase(second), RunPhase::kQueued) << "max_active_runs is 1";
  for (const auto& [name, state] : StageStates(second)) EXPECT_EQ(state, StageState::kPending) << name;
  EXPECT_EQ(jobs_->live_count(), 2u) << "the queued run submitted jobs";

  std::int64_t now = kT0 + 10;
  for (int round = 0; round < 2; ++round) {
    auto sent = Dispatch(now);
    ASSERT_FALSE(sent.empty());
    for (const auto& [seq, attempt] : sent) End(seq, Outcome::kSucceeded, ++now);
    EXPECT_EQ(Phase(second), round == 0 ? RunPhase::kQueued : RunPhase::kRunning) << "round " << round;
  }
  EXPECT_EQ(Phase(first), RunPhase::kSucceeded);
  EXPECT_EQ(Phase(second), RunPhase::kRunning);
  EXPECT_EQ(Stage(second, "x").state, StageState::kSubmitted);
  EXPECT_EQ(Stage(second, "y").state, StageState::kSubmitted);
  ASSERT_TRUE(Run(second)->row.started_ms.has_value());
  EXPECT_GT(*Run(second)->row.started_ms, kT0 + 10);
}

TEST_F(RunManagerTest, CronFiresAtItsSlotNotBeforeAndNotWhilePaused) {
  EXPECT_EQ(runs_->NextCronDueMs(), kT0 + kFiveMinutes);
  Effects fx;
  EXPECT_FALSE(runs_->CronDue(kT0 + kFiveMinutes - 1));
  ASSERT_TRUE(runs_->CronTick(kT0 + kFiveMinutes - 1, &fx).ok());
  Apply(Status::Ok(), fx, kT0 + kFiveMinutes - 1);
  EXPECT_TRUE(Runs("tick").empty()) << "fired before its slot";
  EXPECT_EQ(jobs_->live_count(), 0u);

  const std::int64_t slot = kT0 + kFiveMinutes;
  EXPECT_TRUE(runs_->CronDue(slot + 300));
  ASSERT_TRUE(runs_->CronTick(slot + 300, &fx).ok());
  Apply(Status::Ok(), fx, slot + 300);
  nlohmann::json runs = Runs("tick");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["trigger"], "cron");
  EXPECT_EQ(runs[0]["slot"], "2027-01-15T08:05:00Z");
  EXPECT_EQ(runs[0]["logical_date"], "2027-01-15");
  EXPECT_EQ(runs[0]["state"], "running");
  EXPECT_EQ(jobs_->live_count(), 1u);
  EXPECT_EQ(runs_->NextCronDueMs(), slot + kFiveMinutes);
  // The same slot does not fire twice.
  ASSERT_TRUE(runs_->CronTick(slot + 400, &fx).ok());
  Apply(Status::Ok(), fx, slot + 400);
  EXPECT_EQ(Runs("tick").size(), 1u);
  EXPECT_TRUE(Runs("dag").empty()) << "a manual workflow fired";

  // Paused: its next slot passes without a run.
  ASSERT_TRUE(runs_->SetPaused("tick", true, slot + 500).ok());
  Commit();
  ASSERT_TRUE(runs_->CronTick(slot + kFiveMinutes, &fx).ok());
  Apply(Status::Ok(), fx, slot + kFiveMinutes);
  EXPECT_EQ(Runs("tick").size(), 1u) << "a paused workflow fired";
  EXPECT_EQ(runs_->NextCronDueMs(), slot + 2 * kFiveMinutes);

  // Resumed: the next slot fires.
  ASSERT_TRUE(runs_->SetPaused("tick", false, slot + kFiveMinutes + 100).ok());
  Commit();
  ASSERT_TRUE(runs_->CronTick(slot + 2 * kFiveMinutes, &fx).ok());
  Apply(Status::Ok(), fx, slot + 2 * kFiveMinutes);
  runs = Runs("tick");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["slot"], "2027-01-15T08:15:00Z");
  EXPECT_EQ(runs_->SetPaused("nope", true, slot).code(), Code::kNotFound);
}


// Retrying a stage's job of a cancelled run must not leave the run running
// with nothing left to run: once every job has ended the run is finished
// (a cancel is final: it stays cancelled), and the workflow's next run is
// not held behind it by max_active_runs.
TEST_F(RunManagerTest, RetryingAStageOfACancelledRunDoesNotLeaveItRunningForever) {
  const std::int64_t run = Start("dag", kT0);
  const std::int64_t x = Stage(run, "x").job_seq;
  Effects fx;
  Apply(runs_->CancelRun(run, kT0 + 1, &fx), fx, kT0 + 1);
  ASSERT_EQ(Phase(run), RunPhase::kCancelled);

  Status s = jobs_->Retry(x, kT0 + 2, &fx);
  if (s.ok()) s = runs_->OnJobRetried(x, kT0 + 2, &fx);
  Apply(s, fx, kT0 + 2);
  std::int64_t now = kT0 + 3;
  for (int round = 0; round < 5 && jobs_->live_count() > 0; ++round)
    for (const auto& [seq, attempt] : Dispatch(now++)) End(seq, Outcome::kSucceeded, now++);
  ASSERT_EQ(jobs_->live_count(), 0u);
  EXPECT_TRUE(IsFinished(Phase(run))) << "run r1 is " << RunPhaseName(Phase(run)) << " with no job left";
  EXPECT_EQ(Phase(run), RunPhase::kCancelled);

  const std::int64_t next = Start("dag", now);
  EXPECT_EQ(Phase(next), RunPhase::kRunning) << "the next run waits behind a run that never ends";
}

}  // namespace
}  // namespace sluice::broker
