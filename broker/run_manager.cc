#include "broker/run_manager.h"

#include <limits>

#include "broker/alert_error.h"
#include "broker/log.h"
#include "broker/utc_text.h"
#include "pipeline/workflows/registry.h"
#include "pipeline/workflows/stage_template.h"
#include "schemas/job_id.h"

namespace sluice::broker {

RunManager::RunManager(JobStore& store, JobLifecycle& jobs, RunManagerConfig config, AlertFn alert)
    : store_(store), jobs_(jobs), config_(std::move(config)), alert_(std::move(alert)) {}

// ---- loading ---------------------------------------------------------------------

Status RunManager::Load(std::int64_t now, bool startup, Effects* fx) {
  if (Status s = run_store_.Prepare(store_.db()); !s.ok()) return s;
  if (!config_.workflows_path.empty()) {
    auto reg = workflows::LoadRegistry(config_.workflows_path);
    if (!reg.ok()) return reg.status();
    registry_ = std::move(*reg);
    Logf("workflows: %zu from %s", registry_.workflows.size(), config_.workflows_path.c_str());
  }
  auto paused = run_store_.Paused();
  if (!paused.ok()) return paused.status();
  paused_ = std::move(*paused);

  std::vector<RunRow> rows;
  if (Status s = run_store_.LoadActive([&](RunRow&& r) { rows.push_back(std::move(r)); }); !s.ok()) return s;
  for (RunRow& row : rows) {
    auto stages = run_store_.Stages(row.seq);
    if (!stages.ok()) return stages.status();
    auto run = RestoreRun(std::move(row), *stages);
    if (!run.ok()) return run.status();
    const std::int64_t seq = run->row.seq;
    WorkflowRun& r = runs_.emplace(seq, std::move(*run)).first->second;
    for (const StageRun& st : r.stages) {
      if (st.state != StageState::kSubmitted) continue;
      run_of_job_[st.job_seq] = seq;
      // A job that ended without its stage being told (it cannot, both
      // commit together; but a database edited by hand can say so).
      if (!jobs_.IsLive(st.job_seq)) {
        auto rec = store_.Load(st.job_seq, false);
        if (!rec.ok()) return rec.status();
        pending_.push_back({st.job_seq, rec->has_value() ? (*rec)->job.state : JobState::kDead});
      }
    }
  }
  if (!runs_.empty()) Logf("workflows: %zu unfinished runs", runs_.size());
  if (startup) {
    Status s = StartQueuedRuns(now, fx);
    if (!s.ok()) return s;
  }
  return InitCron(now, startup, fx);
}

Status RunManager::StartQueuedRuns(std::int64_t now, Effects* fx) {
  // Queued runs whose turn has come (e.g. the limit was raised by hand).
  std::set<std::string> names;
  for (const auto& [seq, r] : runs_)
    if (r.phase == RunPhase::kQueued) names.insert(r.row.workflow);
  if (names.empty()) return Status::Ok();
  if (Status s = store_.Begin(); !s.ok()) return s;
  for (const std::string& w : names) {
    Status s = TryStartQueued(w, now, fx);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status RunManager::Reload(std::int64_t now, std::string* message) {
  if (config_.workflows_path.empty()) {
    *message = "no registry: the broker was started without --workflows";
    return Status::InvalidArgument(*message);
  }
  auto reg = workflows::LoadRegistry(config_.workflows_path);
  if (!reg.ok()) {
    // One line (ERROR messages are): the problems joined with "; ".
    *message = reg.status().message();
    for (std::size_t p; (p = message->find('\n')) != std::string::npos;) message->replace(p, 1, "; ");
    Logf("reload refused, the old registry stays: %s", message->c_str());
    return Status::InvalidArgument(*message);
  }
  registry_ = std::move(*reg);
  Status s = InitCron(now, /*startup=*/false, nullptr);
  if (!s.ok()) return s;
  *message = "reloaded " + std::to_string(registry_.workflows.size()) + " workflows from " + config_.workflows_path;
  Logf("%s", message->c_str());
  return Status::Ok();
}

Status RunManager::SetPaused(const std::string& name, bool pause, std::int64_t now) {
  const workflows::WorkflowDef* w = registry_.Find(name);
  if (w == nullptr) return Status::NotFound("no workflow '" + name + "'");
  Status s = store_.Begin();
  if (s.ok()) s = run_store_.SetPaused(name, pause);
  if (!s.ok()) return s;
  if (pause) paused_.insert(name);
  else paused_.erase(name);
  // A resumed schedule starts from now: the slots it slept through stay missed.
  if (!pause && w->cron) {
    if (auto n = w->cron->NextAfter(now / 1000)) next_fire_[name] = *n * 1000;
  }
  Logf("workflow %s %s", name.c_str(), pause ? "paused" : "resumed");
  return Status::Ok();
}

// ---- cron ------------------------------------------------------------------------

Status RunManager::InitCron(std::int64_t now, bool startup, Effects* fx) {
  std::map<std::string, std::int64_t> next;
  const std::int64_t now_s = now / 1000;
  for (const auto& w : registry_.workflows) {
    if (!w.cron) continue;
    auto old = next_fire_.find(w.name);
    auto old_def = cron_text_.find(w.name);
    if (!startup && old != next_fire_.end() && old_def != cron_text_.end() &&
        old_def->second == w.cron->ToString()) {
      next[w.name] = old->second;  // unchanged schedule: keep its next slot
      continue;
    }
    if (startup && fx != nullptr && w.catch_up == workflows::CatchUp::kLatest && !paused_.count(w.name)) {
      auto last = run_store_.LastFire(w.name);
      if (!last.ok()) return last.status();
      auto prev = w.cron->PrevAtOrBefore(now_s);
      if (last->has_value() && prev && *prev * 1000 > **last) {
        Logf("workflow %s: catching up on the missed slot %s", w.name.c_str(), UtcIso(*prev * 1000).c_str());
        Status s = FireCron(w, *prev * 1000, now, fx);
        if (!s.ok()) return s;
      }
    }
    if (auto n = w.cron->NextAfter(now_s)) next[w.name] = *n * 1000;
  }
  next_fire_ = std::move(next);
  cron_text_.clear();
  for (const auto& w : registry_.workflows)
    if (w.cron) cron_text_[w.name] = w.cron->ToString();
  return Status::Ok();
}

Status RunManager::CronTick(std::int64_t now, Effects* fx) {
  for (auto& [name, due] : next_fire_) {
    if (due > now) continue;
    const workflows::WorkflowDef* w = registry_.Find(name);
    if (w == nullptr || !w->cron) continue;
    const std::int64_t now_s = now / 1000;
    // The latest slot that has come (a clock that jumped skips the others).
    std::int64_t slot = due;
    if (auto prev = w->cron->PrevAtOrBefore(now_s); prev && *prev * 1000 > slot) slot = *prev * 1000;
    if (!paused_.count(name)) {
      Status s = FireCron(*w, slot, now, fx);
      if (!s.ok()) return s;
    }
    auto n = w->cron->NextAfter(std::max(now_s, slot / 1000));
    due = n ? *n * 1000 : std::numeric_limits<std::int64_t>::max();
  }
  return Status::Ok();
}

Status RunManager::FireCron(const workflows::WorkflowDef& w, std::int64_t slot_ms, std::int64_t now, Effects* fx) {
  Status s = store_.Begin();
  if (!s.ok()) return s;
  auto last = run_store_.LastFire(w.name);
  if (!last.ok()) return last.status();
  if (last->has_value() && **last >= slot_ms) return Status::Ok();  // fired already
  auto run = StartRun(w, "cron", UtcDay(slot_ms), slot_ms, {}, now, fx);
  if (!run.ok()) {
    if (run.status().code() != Code::kInvalidArgument) return run.status();
    Logf("workflow %s: cron slot %s: %s", w.name.c_str(), UtcIso(slot_ms).c_str(), run.status().message().c_str());
    return Status::Ok();
  }
  s = run_store_.InsertFire(w.name, slot_ms, now, *run);
  if (s.ok()) store_.metrics().Add("sluice_cron_fires_total", {{"workflow", w.name}}, 1);
  if (!s.ok()) return s;
  Logf("workflow %s: cron slot %s started %s", w.name.c_str(), UtcIso(slot_ms).c_str(), FormatRunId(*run).c_str());
  return Status::Ok();
}

std::int64_t RunManager::NextCronDueMs() const {
  std::int64_t due = std::numeric_limits<std::int64_t>::max();
  for (const auto& [name, ms] : next_fire_) due = std::min(due, ms);
  return due;
}

// ---- runs ------------------------------------------------------------------------

Result<std::int64_t> RunManager::StartRun(const workflows::WorkflowDef& w, const std::string& trigger,
                                          const std::string& logical_date, std::optional<std::int64_t> slot_ms,
                                          const std::map<std::string, std::string>& overrides, std::int64_t now,
                                          Effects* fx) {
  // Validated before a run id is spent.
  auto check = workflows::RunVariables(logical_date, FormatRunId(0), w.name, w.params, overrides);
  if (!check.ok()) return check.status();
  Status s = store_.Begin();
  if (!s.ok()) return s;
  RunRow row;
  row.seq = run_store_.AllocateRunSeq();
  auto vars = workflows::RunVariables(logical_date, FormatRunId(row.seq), w.name, w.params, overrides);
  if (!vars.ok()) return vars.status();
  row.workflow = w.name;
  row.state = RunPhaseName(RunPhase::kQueued);
  row.trigger = trigger;
  row.logical_date = vars->count("date") ? vars->at("date") : logical_date;
  row.slot_ms = slot_ms;
  row.params = nlohmann::json(*vars).dump();
  row.definition = DefinitionJson(w).dump();
  row.created_ms = now;
  WorkflowRun run = NewRun(w, std::move(row));
  run.vars = std::move(*vars);
  s = run_store_.InsertRun(run.row);
  if (!s.ok()) return s;
  const std::int64_t seq = run.row.seq;
  store_.metrics().Add("sluice_runs_total", {{"workflow", run.row.workflow}, {"state", "started"}}, 1);
  runs_.emplace(seq, std::move(run));
  counters_.runs_started++;
  s = TryStartQueued(w.name, now, fx);
  if (!s.ok()) return s;
  s = OnJobsEnded(now, fx);  // stages that ended at once (an idempotency key seen before)
  if (!s.ok()) return s;
  return seq;
}

Status RunManager::TryStartQueued(const std::string& workflow, std::int64_t now, Effects* fx) {
  while (true) {
    std::uint32_t active = 0;
    WorkflowRun* first = nullptr;
    for (auto& [seq, r] : runs_) {
      if (r.row.workflow != workflow) continue;
      if (r.phase == RunPhase::kRunning) ++active;
      if (r.phase == RunPhase::kQueued && first == nullptr) first = &r;
    }
    if (first == nullptr || active >= first->max_active_runs) return Status::Ok();
    first->phase = RunPhase::kRunning;
    first->row.started_ms = now;
    Status s = PersistRun(*first);
    if (s.ok()) s = SubmitReady(*first, now, fx);
    if (!s.ok()) return s;
  }
}

Status RunManager::SubmitReady(WorkflowRun& run, std::int64_t now, Effects* fx) {
  for (int i : run.ReadyStages()) {
    StageRun& st = run.stages[i];
    nlohmann::json params = workflows::ExpandStageParams(st.def.params, run.vars, st.def.kind);
    proto::JobSpec spec;
    spec.kind = st.def.kind;
    spec.queue = st.def.queue;
    std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(params);
    spec.params.assign(bytes.begin(), bytes.end());
    spec.timeout_ms = st.def.timeout_ms;
    spec.max_attempts = st.def.max_attempts;
    spec.backoff_ms = st.def.backoff_ms;
    spec.key = FormatRunId(run.row.seq) + "/" + st.def.name;
    auto job = jobs_.Submit(spec, now, fx);
    if (!job.ok()) return job.status();
    auto seq = ParseJobId(job->id);
    if (!seq) return Status::Internal("stage job id " + job->id + " does not parse");
    st.state = StageState::kSubmitted;
    st.job_seq = *seq;
    run_of_job_[*seq] = run.row.seq;
    Status s = PersistStage(run, i);
    if (!s.ok()) return s;
    if (IsTerminal(job->state)) pending_.push_back({*seq, job->state});
  }
  if (run.phase == RunPhase::kRunning && run.AllSucceeded())
    return FinishRun(run, RunPhase::kSucceeded, now, "", fx);
  return Status::Ok();
}

Status RunManager::OnJobsEnded(std::int64_t now, Effects* fx) {
  while (!fx->ended.empty() || !pending_.empty()) {
    std::vector<EndedJob> ended = std::move(fx->ended);
    fx->ended.clear();
    for (const EndedJob& e : ended) {
      if (run_of_job_.count(e.seq)) pending_.push_back({e.seq, e.state});
      else if (e.state == JobState::kDead) AlertDeadJob(e);
    }
    auto events = std::move(pending_);
    pending_.clear();
    for (const auto& [job_seq, state] : events) {
      auto it = run_of_job_.find(job_seq);
      if (it == run_of_job_.end()) continue;
      const std::int64_t run_seq = it->second;
      run_of_job_.erase(it);
      auto rit = runs_.find(run_seq);
      if (rit == runs_.end()) continue;
      WorkflowRun& run = rit->second;
      for (std::size_t i = 0; i < run.stages.size(); ++i)
        if (run.stages[i].job_seq == job_seq && run.stages[i].state == StageState::kSubmitted) {
          Status s = OnStageEnded(run, static_cast<int>(i), state, now, fx);
          if (!s.ok()) return s;
        }
      if (IsFinished(run.phase) && !run.AnySubmitted()) runs_.erase(run_seq);
    }
  }
  return Status::Ok();
}

void RunManager::AlertDeadJob(const EndedJob& e) {
  // A stage of a run posts none of its own: its run's alert names it.
  const std::string id = FormatJobId(e.seq);
  const std::string error = AlertErrorExcerpt(e.error);
  alert_("sluice: job " + id + " (" + e.kind + ") is dead",
         "Job " + id + " of kind " + e.kind + " on queue " + e.queue + " failed " + std::to_string(e.failures) +
             " times and will not be retried. Last error: " + error);
}

Status RunManager::OnStageEnded(WorkflowRun& run, int i, JobState state, std::int64_t now, Effects* fx) {
  StageRun& st = run.stages[i];
  st.state = state == JobState::kSucceeded   ? StageState::kSucceeded
             : state == JobState::kCancelled ? StageState::kCancelled
                                             : StageState::kDead;
  Status s = PersistStage(run, i);
  if (!s.ok() || run.phase == RunPhase::kCancelled) return s;
  if (st.state == StageState::kSucceeded) return run.phase == RunPhase::kRunning ? SubmitReady(run, now, fx) : s;
  for (int k : run.FailDownstream(i)) {
    s = PersistStage(run, k);
    if (!s.ok()) return s;
  }
  if (run.phase != RunPhase::kRunning) return Status::Ok();
  return FinishRun(run, RunPhase::kFailed, now, "stage " + st.def.name + " ended " + std::string(StageStateName(st.state)),
                   fx, &st);
}

std::string RunManager::LastErrorOf(std::int64_t job_seq) {
  auto rec = store_.Load(job_seq, /*with_attempts=*/false);
  if (!rec.ok() || !rec->has_value()) return {};
  return (*rec)->last_error;
}

Status RunManager::FinishRun(WorkflowRun& run, RunPhase phase, std::int64_t now, const std::string& why,
                             Effects* fx, const StageRun* failed_stage) {
  run.phase = phase;
  run.row.finished_ms = now;
  Status s = PersistRun(run);
  if (!s.ok()) return s;
  store_.metrics().Add("sluice_runs_total", {{"workflow", run.row.workflow}, {"state", RunPhaseName(phase)}}, 1);
  const std::string id = FormatRunId(run.row.seq);
  LogFieldsf(phase == RunPhase::kFailed ? LogLevel::kWarn : LogLevel::kInfo,
             {{"run", id}, {"workflow", run.row.workflow}, {"state", RunPhaseName(phase)}}, "run %s (%s) %s%s%s",
             id.c_str(), run.row.workflow.c_str(), RunPhaseName(phase), why.empty() ? "" : ": ", why.c_str());
  if (phase == RunPhase::kFailed) {
    counters_.runs_failed++;
    // The run's one alert (its dead stage job posts none of its own): which
    // stage, its job and the job's last error.
    std::string title = "sluice: run " + id + " of " + run.row.workflow + " failed";
    std::string text = "Run " + id + " of workflow " + run.row.workflow + " (logical date " + run.row.logical_date +
                       ") failed: " + why + ".";
    if (failed_stage != nullptr && failed_stage->job_seq != 0) {
      const std::string job = FormatJobId(failed_stage->job_seq);
      const std::string error = LastErrorOf(failed_stage->job_seq);
      title += " at stage " + failed_stage->def.name;
      text += " Stage " + failed_stage->def.name + " (job " + job + ", kind " + failed_stage->def.kind + ")";
      if (!error.empty()) text += " last error: " + AlertErrorExcerpt(error);
      text += "\nRetry the stage's job with `sluice retry " + job + "` to continue.";
    } else {
      text += " Retry the stage's job with `sluice retry` to continue.";
    }
    alert_(title, text);
  }
  std::string workflow = run.row.workflow;  // TryStartQueued may touch other runs
  return TryStartQueued(workflow, now, fx);
}

Status RunManager::PersistRun(WorkflowRun& run) {
  run.row.state = RunPhaseName(run.phase);
  return run_store_.UpdateRun(run.row);
}

Status RunManager::PersistStage(const WorkflowRun& run, int i) {
  const StageRun& st = run.stages[i];
  return run_store_.UpsertStage(run.row.seq, {st.def.name, StageStateName(st.state), st.job_seq});
}

Result<WorkflowRun*> RunManager::FindRun(std::int64_t run_seq) {
  auto it = runs_.find(run_seq);
  if (it != runs_.end()) return &it->second;
  auto row = run_store_.Load(run_seq);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status::NotFound("no run " + FormatRunId(run_seq));
  auto stages = run_store_.Stages(run_seq);
  if (!stages.ok()) return stages.status();
  auto run = RestoreRun(std::move(**row), *stages);
  if (!run.ok()) return run.status();
  return &runs_.emplace(run_seq, std::move(*run)).first->second;
}

void RunManager::ForgetRunIfDone(std::int64_t run_seq) {
  auto it = runs_.find(run_seq);
  if (it != runs_.end() && IsFinished(it->second.phase) && !it->second.AnySubmitted()) runs_.erase(it);
}

Status RunManager::CancelRun(std::int64_t run_seq, std::int64_t now, Effects* fx) {
  Status s = store_.Begin();
  if (!s.ok()) return s;
  auto found = FindRun(run_seq);
  if (!found.ok()) return found.status();
  WorkflowRun& run = **found;
  if (IsFinished(run.phase)) {
    s = Status::Conflict("run " + FormatRunId(run_seq) + " is already " + RunPhaseName(run.phase));
    ForgetRunIfDone(run_seq);
    return s;
  }
  run.phase = RunPhase::kCancelled;  // first: the stage jobs' ends only record themselves
  for (std::size_t i = 0; i < run.stages.size(); ++i) {
    StageRun& st = run.stages[i];
    if (st.state == StageState::kSubmitted) {
      s = jobs_.Cancel(st.job_seq, now, fx);
      // A job already ending reports its own end.
      if (!s.ok() && s.code() != Code::kConflict && s.code() != Code::kNotFound) return s;
    } else if (st.state == StageState::kPending || st.state == StageState::kUpstreamFailed) {
      st.state = StageState::kCancelled;
      s = PersistStage(run, static_cast<int>(i));
      if (!s.ok()) return s;
    }
  }
  s = FinishRun(run, RunPhase::kCancelled, now, "cancelled by request", fx);
  if (!s.ok()) return s;
  return OnJobsEnded(now, fx);
}

Status RunManager::OnJobRetried(std::int64_t job_seq, std::int64_t now, Effects* fx) {
  auto where = run_store_.FindByJob(job_seq);
  if (!where.ok()) return where.status();
  if (!where->has_value()) return Status::Ok();  // not a stage
  auto found = FindRun((*where)->first);
  if (!found.ok()) return Status::Ok();
  WorkflowRun& run = **found;
  int i = run.FindStage((*where)->second);
  if (i < 0) return Status::Ok();
  // A cancel is final: the retried job runs on its own, the run stays
  // cancelled (reviving it would leave its cancelled stages with nothing to
  // end them, and the run running for ever).
  if (run.phase == RunPhase::kCancelled) {
    ForgetRunIfDone(run.row.seq);
    return Status::Ok();
  }
  run.stages[i].state = StageState::kSubmitted;
  run.stages[i].job_seq = job_seq;
  run_of_job_[job_seq] = run.row.seq;
  Status s = PersistStage(run, i);
  if (!s.ok()) return s;
  for (int k : run.ClearUpstreamFailed()) {
    s = PersistStage(run, k);
    if (!s.ok()) return s;
  }
  if (run.phase != RunPhase::kRunning) {
    Logf("run %s (%s) continues: stage %s retried", FormatRunId(run.row.seq).c_str(), run.row.workflow.c_str(),
         run.stages[i].def.name.c_str());
    run.phase = RunPhase::kRunning;
    run.row.finished_ms.reset();
    if (!run.row.started_ms) run.row.started_ms = now;
    s = PersistRun(run);
    if (!s.ok()) return s;
  }
  s = SubmitReady(run, now, fx);
  if (!s.ok()) return s;
  return OnJobsEnded(now, fx);
}

// ---- reads -----------------------------------------------------------------------

Result<std::vector<proto::RunView>> RunManager::ListRuns(const std::string& workflow, const std::string& state,
                                                         std::int64_t limit) {
  auto rows = run_store_.List(workflow, state, limit);
  if (!rows.ok()) return rows.status();
  std::vector<proto::RunView> runs;
  runs.reserve(rows->size());
  for (RunRow& row : *rows) {
    auto live = runs_.find(row.seq);
    if (live != runs_.end()) {
      runs.push_back(RunViewOf(live->second, false));
      continue;
    }
    auto stages = run_store_.Stages(row.seq);
    if (!stages.ok()) return stages.status();
    auto run = RestoreRun(std::move(row), *stages);
    if (run.ok()) runs.push_back(RunViewOf(*run, false));
  }
  return runs;
}

proto::RunView RunManager::RunViewOf(const WorkflowRun& run, bool detail) {
  proto::RunView v;
  v.id = FormatRunId(run.row.seq);
  v.state = RunPhaseName(run.phase);
  v.workflow = run.row.workflow;
  v.trigger = run.row.trigger;
  v.logical_date = run.row.logical_date;
  if (run.row.slot_ms) v.slot = UtcIso(*run.row.slot_ms);
  v.params = run.vars;
  v.created_ms = run.row.created_ms;
  v.started_ms = run.row.started_ms;
  v.finished_ms = run.row.finished_ms;
  v.stages.reserve(run.stages.size());
  for (const StageRun& st : run.stages) {
    proto::StageView s;
    s.name = st.def.name;
    s.kind = st.def.kind;
    s.state = StageStateName(st.state);
    if (st.job_seq) s.job = FormatJobId(st.job_seq);
    s.depends_on = st.def.depends_on;
    s.queue = st.def.queue;
    // Whether a connected worker announces this kind on this queue now (a
    // custom kind may have none yet).
    s.kind_served = jobs_.workers().AnyServes(st.def.queue, st.def.kind);
    if (st.job_seq) {
      std::optional<JobRecord> rec;
      const Job* live = jobs_.Find(st.job_seq);
      if (live != nullptr && !detail) {
        rec.emplace();
        rec->job = *live;
      } else if (detail || st.state == StageState::kSubmitted) {
        auto r = store_.Load(st.job_seq, detail);
        if (r.ok() && r->has_value()) rec = std::move(**r);
      }
      if (rec) {
        jobs_.OverlayLive(&*rec);
        s.state = JobStateName(rec->job.state);
        s.attempt = rec->job.attempt;
        if (!rec->attempts.empty()) s.started_ms = rec->attempts.front().started_ms;
        if (rec->finished_ms) s.finished_ms = rec->finished_ms;
        if (!rec->last_error.empty()) s.error = rec->last_error;
      }
    }
    v.stages.push_back(std::move(s));
  }
  return v;
}

proto::ScheduleView RunManager::ScheduleViewOf(const workflows::WorkflowDef& w) {
  proto::ScheduleView v;
  for (const auto& [seq, r] : runs_)
    if (r.row.workflow == w.name && r.phase == RunPhase::kRunning) ++v.active_runs;
  v.workflow = w.name;
  v.schedule = w.schedule;
  v.paused = paused_.count(w.name) > 0;
  v.catch_up = workflows::CatchUpName(w.catch_up);
  v.max_active_runs = w.max_active_runs;
  if (auto next = next_fire_.find(w.name);
      next != next_fire_.end() && next->second != std::numeric_limits<std::int64_t>::max())
    v.next_fire = UtcIso(next->second);
  // Stages whose kind no connected worker announces on their queue (READY
  // `kinds`, as WORKERS shows them): a run would wait there.
  for (const auto& st : w.stages)
    if (!jobs_.workers().AnyServes(st.queue, st.kind)) v.unserved_stages.push_back({st.name, st.kind, st.queue});
  auto last = run_store_.LastFire(w.name);
  if (last.ok() && last->has_value()) v.last_fire = UtcIso(**last);
  return v;
}

}  // namespace sluice::broker
