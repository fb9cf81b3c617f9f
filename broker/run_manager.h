// RunManager: workflow runs. It owns the registry, the runs that are
// unfinished (or still have live stage jobs), the map from stage job to run,
// cron's next slot per workflow and the paused set. It starts runs (RUN,
// cron), consumes the jobs that ended (Effects::ended from JobLifecycle) to
// move each run along its DAG, and asks the lifecycle for stage jobs
// (Submit) and for their cancellation. The DAG rules are in workflow_run.h;
// this class applies and persists them (RunStore), in the caller's open
// transaction, like JobLifecycle: nothing here touches a socket.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/job_lifecycle.h"
#include "broker/job_store.h"
#include "broker/run_store.h"
#include "broker/workflow_run.h"
#include "pipeline/workflows/workflow.h"
#include "schemas/replies.h"
#include "schemas/status.h"

namespace sluice::broker {

struct RunManagerConfig {
  std::string workflows_path;  // the registry (TOML); empty: no workflows
  bool verbose = false;
};

struct RunCounters {
  std::int64_t runs_started = 0, runs_failed = 0;
};

// Posts an alert (title, text); never blocks.
using AlertFn = std::function<void(const std::string& title, const std::string& text)>;

class RunManager {
 public:
  RunManager(JobStore& store, JobLifecycle& jobs, RunManagerConfig config, AlertFn alert);

  // Loads the registry, the paused set, the unfinished runs and cron's slots
  // (after JobLifecycle::Load: a stage job that is no longer live is an
  // event to apply). `startup`: queued runs whose turn has come start, and
  // a missed cron slot of a `catch_up = "latest"` workflow fires.
  Status Load(std::int64_t now, bool startup, Effects* fx);

  // Applies the jobs that ended (fx->ended, emptied) and any left from Load:
  // a stage's end moves its run on — submitting the stages now ready, whose
  // own ends are applied too — and a dead job of no run raises an alert.
  // Needs the transaction open.
  Status OnJobsEnded(std::int64_t now, Effects* fx);
  bool HasPendingEvents() const { return !pending_.empty(); }

  // A new run of `w`; queued behind max_active_runs, or started now.
  Result<std::int64_t> StartRun(const workflows::WorkflowDef& w, const std::string& trigger,
                                const std::string& logical_date, std::optional<std::int64_t> slot_ms,
                                const std::map<std::string, std::string>& overrides, std::int64_t now,
                                Effects* fx);
  // Queued runs whose turn has come (e.g. after a restart) start.
  Status StartQueuedRuns(std::int64_t now, Effects* fx);
  // CANCEL_JOB of a run id: its stage jobs are cancelled, its pending stages too.
  Status CancelRun(std::int64_t run_seq, std::int64_t now, Effects* fx);
  // A stage's job was retried by request: its run continues.
  Status OnJobRetried(std::int64_t job_seq, std::int64_t now, Effects* fx);
  // PAUSE / RESUME.
  Status SetPaused(const std::string& workflow, bool pause, std::int64_t now);
  // RELOAD / SIGHUP: a registry with errors is refused, the old one stays.
  Status Reload(std::int64_t now, std::string* message);

  // --- cron
  bool CronDue(std::int64_t now) const { return NextCronDueMs() <= now; }
  Status CronTick(std::int64_t now, Effects* fx);
  std::int64_t NextCronDueMs() const;
  // Each workflow's next slot: taken when a transaction opens and put back
  // when it is rolled back, so the slots that fired in it fire again.
  const std::map<std::string, std::int64_t>& cron_slots() const { return next_fire_; }
  void RestoreCronSlots(std::map<std::string, std::int64_t> slots) { next_fire_ = std::move(slots); }

  // --- reads
  // A run, loaded from the store when finished (ForgetRunIfDone drops it again).
  Result<WorkflowRun*> FindRun(std::int64_t run_seq);
  void ForgetRunIfDone(std::int64_t run_seq);
  // RUNS: the newest runs, by workflow and state.
  Result<std::vector<proto::RunView>> ListRuns(const std::string& workflow, const std::string& state,
                                               std::int64_t limit);
  // A run object (PROTOCOL.md §6.9); `detail`: its stages' jobs are read
  // from the store (attempts, errors) even while live.
  proto::RunView RunViewOf(const WorkflowRun& run, bool detail);
  // A SCHEDULES entry (§6.11).
  proto::ScheduleView ScheduleViewOf(const workflows::WorkflowDef& w);
  const workflows::Registry& registry() const { return registry_; }
  const std::string& workflows_path() const { return config_.workflows_path; }
  RunStore& run_store() { return run_store_; }
  const RunCounters& counters() const { return counters_; }
  std::size_t runs_in_memory() const { return runs_.size(); }

 private:
  Status InitCron(std::int64_t now, bool startup, Effects* fx);
  Status FireCron(const workflows::WorkflowDef& w, std::int64_t slot_ms, std::int64_t now, Effects* fx);
  Status TryStartQueued(const std::string& workflow, std::int64_t now, Effects* fx);
  Status SubmitReady(WorkflowRun& run, std::int64_t now, Effects* fx);
  Status OnStageEnded(WorkflowRun& run, int stage, JobState state, std::int64_t now, Effects* fx);
  // `failed_stage`: the stage whose end failed the run, named with its job's
  // last error in the run's alert.
  Status FinishRun(WorkflowRun& run, RunPhase phase, std::int64_t now, const std::string& why, Effects* fx,
                   const StageRun* failed_stage = nullptr);
  void AlertDeadJob(const EndedJob& e);
  std::string LastErrorOf(std::int64_t job_seq);  // "" when unknown
  Status PersistRun(WorkflowRun& run);
  Status PersistStage(const WorkflowRun& run, int stage);

  JobStore& store_;
  JobLifecycle& jobs_;
  RunManagerConfig config_;
  AlertFn alert_;
  workflows::Registry registry_;
  RunStore run_store_;
  std::map<std::int64_t, WorkflowRun> runs_;
  std::unordered_map<std::int64_t, std::int64_t> run_of_job_;
  std::vector<std::pair<std::int64_t, JobState>> pending_;  // ended stage jobs not yet applied
  std::map<std::string, std::int64_t> next_fire_;
  std::map<std::string, std::string> cron_text_;
  std::set<std::string> paused_;
  RunCounters counters_;
};

}  // namespace sluice::broker
