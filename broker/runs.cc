// Workflow runs: starting them (RUN, cron), moving them along their DAG as
// their stage jobs end, cancelling and reviving them, and describing them.
// The DAG rules are in workflow_run.h; this file applies and persists them.
#include "broker/alert_error.h"
#include "broker/broker.h"
#include "broker/log.h"
#include "pipeline/workflows/registry.h"
#include "pipeline/workflows/stage_template.h"
#include "schemas/job_id.h"

namespace sluice::broker {

Status Broker::LoadWorkflows(std::int64_t now, bool startup) {
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
      if (!live_.count(st.job_seq)) {
        auto rec = store_.Load(st.job_seq, false);
        if (!rec.ok()) return rec.status();
        run_events_.push_back({st.job_seq, rec->has_value() ? (*rec)->job.state : JobState::kDead});
      }
    }
  }
  if (!runs_.empty()) Logf("workflows: %zu unfinished runs", runs_.size());
  if (startup) {
    StartQueuedRuns(now);
    if (!fatal_.ok()) return fatal_;
  }
  InitCron(now, startup);
  return Status::Ok();
}

void Broker::StartQueuedRuns(std::int64_t now) {
  // Queued runs whose turn has come (e.g. the limit was raised by hand).
  std::set<std::string> names;
  for (const auto& [seq, r] : runs_)
    if (r.phase == RunPhase::kQueued) names.insert(r.row.workflow);
  if (names.empty() || !Writable(now)) return;
  for (const std::string& w : names) TryStartQueued(w, now);
}

Status Broker::ReloadRegistry(std::string* message) {
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
  InitCron(clock_->NowMs(), /*startup=*/false);
  *message = "reloaded " + std::to_string(registry_.workflows.size()) + " workflows from " +
             config_.workflows_path;
  Logf("%s", message->c_str());
  return Status::Ok();
}

// ---- cron ----------------------------------------------------------------

void Broker::InitCron(std::int64_t now, bool startup) {
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
    if (startup && w.catch_up == workflows::CatchUp::kLatest && !paused_.count(w.name)) {
      auto last = run_store_.LastFire(w.name);
      auto prev = w.cron->PrevAtOrBefore(now_s);
      if (Db(last.status()) && last->has_value() && prev && *prev * 1000 > **last) {
        Logf("workflow %s: catching up on the missed slot %s", w.name.c_str(), UtcIso(*prev * 1000).c_str());
        FireCron(w, *prev * 1000, now);
      }
    }
    if (auto n = w.cron->NextAfter(now_s)) next[w.name] = *n * 1000;
  }
  next_fire_ = std::move(next);
  cron_text_.clear();
  for (const auto& w : registry_.workflows)
    if (w.cron) cron_text_[w.name] = w.cron->ToString();
}

void Broker::CronTick(std::int64_t now) {
  bool any_due = false;
  for (const auto& [name, due] : next_fire_) any_due = any_due || due <= now;
  // A slot fires with a write; while writes fail it waits (and fires late).
  if (!any_due || !Writable(now)) return;
  for (auto& [name, due] : next_fire_) {
    if (due > now) continue;
    const workflows::WorkflowDef* w = registry_.Find(name);
    if (w == nullptr || !w->cron) continue;
    const std::int64_t now_s = now / 1000;
    // The latest slot that has come (a clock that jumped skips the others).
    std::int64_t slot = due;
    if (auto prev = w->cron->PrevAtOrBefore(now_s); prev && *prev * 1000 > slot) slot = *prev * 1000;
    if (!paused_.count(name)) FireCron(*w, slot, now);
    auto n = w->cron->NextAfter(std::max(now_s, slot / 1000));
    due = n ? *n * 1000 : std::numeric_limits<std::int64_t>::max();
  }
}

void Broker::FireCron(const workflows::WorkflowDef& w, std::int64_t slot_ms, std::int64_t now) {
  if (!Db(store_.Begin())) return;
  auto last = run_store_.LastFire(w.name);
  if (!Db(last.status())) return;
  if (last->has_value() && **last >= slot_ms) return;  // fired already
  auto run = StartRun(w, "cron", UtcDay(slot_ms), slot_ms, {}, now);
  if (!run.ok()) {
    Logf("workflow %s: cron slot %s: %s", w.name.c_str(), UtcIso(slot_ms).c_str(),
         run.status().message().c_str());
    return;
  }
  Db(run_store_.InsertFire(w.name, slot_ms, now, *run));
  Logf("workflow %s: cron slot %s started r%lld", w.name.c_str(), UtcIso(slot_ms).c_str(),
       static_cast<long long>(*run));
}

std::int64_t Broker::NextCronDueMs() const {
  std::int64_t due = std::numeric_limits<std::int64_t>::max();
  for (const auto& [name, ms] : next_fire_) due = std::min(due, ms);
  return due;
}

// ---- runs ----------------------------------------------------------------

Result<std::int64_t> Broker::StartRun(const workflows::WorkflowDef& w, const std::string& trigger,
                                      const std::string& logical_date, std::optional<std::int64_t> slot_ms,
                                      const std::map<std::string, std::string>& overrides,
                                      std::int64_t now) {
  // Validate before a run id is spent.
  auto check = workflows::RunVariables(logical_date, "r0", w.name, w.params, overrides);
  if (!check.ok()) return check.status();
  if (!Db(store_.Begin())) return fatal_;
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
  if (!Db(run_store_.InsertRun(run.row))) return fatal_;
  const std::int64_t seq = run.row.seq;
  runs_.emplace(seq, std::move(run));
  counters_.runs_started++;
  TryStartQueued(w.name, now);
  return seq;
}

void Broker::TryStartQueued(const std::string& workflow, std::int64_t now) {
  while (true) {
    std::uint32_t active = 0;
    WorkflowRun* first = nullptr;
    for (auto& [seq, r] : runs_) {
      if (r.row.workflow != workflow) continue;
      if (r.phase == RunPhase::kRunning) ++active;
      if (r.phase == RunPhase::kQueued && first == nullptr) first = &r;
    }
    if (first == nullptr || active >= first->max_active_runs) return;
    first->phase = RunPhase::kRunning;
    first->row.started_ms = now;
    PersistRun(*first);
    SubmitReady(*first, now);
  }
}

void Broker::SubmitReady(WorkflowRun& run, std::int64_t now) {
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
    proto::SubmittedJob job = SubmitOne(spec, now);
    auto seq = ParseJobId(job.id);
    if (!seq) return;  // SubmitOne failed: the broker is stopping (fatal_)
    st.state = StageState::kSubmitted;
    st.job_seq = *seq;
    run_of_job_[*seq] = run.row.seq;
    PersistStage(run, i);
    if (IsTerminal(job.state)) run_events_.push_back({*seq, job.state});
  }
  if (run.phase == RunPhase::kRunning && run.AllSucceeded()) FinishRun(run, RunPhase::kSucceeded, now, "");
}

void Broker::ProcessRunEvents(std::int64_t now) {
  while (!run_events_.empty() && fatal_.ok()) {
    if (!Writable(now)) return;
    auto events = std::move(run_events_);
    run_events_.clear();
    for (const auto& [job_seq, state] : events) {
      auto it = run_of_job_.find(job_seq);
      if (it == run_of_job_.end()) continue;
      const std::int64_t run_seq = it->second;
      run_of_job_.erase(it);
      auto rit = runs_.find(run_seq);
      if (rit == runs_.end()) continue;
      WorkflowRun& run = rit->second;
      for (std::size_t i = 0; i < run.stages.size(); ++i)
        if (run.stages[i].job_seq == job_seq && run.stages[i].state == StageState::kSubmitted)
          OnStageEnded(run, static_cast<int>(i), state, now);
      if (IsFinished(run.phase) && !run.AnySubmitted()) runs_.erase(run_seq);
    }
  }
}

void Broker::OnStageEnded(WorkflowRun& run, int i, JobState state, std::int64_t now) {
  StageRun& st = run.stages[i];
  st.state = state == JobState::kSucceeded   ? StageState::kSucceeded
             : state == JobState::kCancelled ? StageState::kCancelled
                                             : StageState::kDead;
  PersistStage(run, i);
  if (run.phase == RunPhase::kCancelled) return;
  if (st.state == StageState::kSucceeded) {
    if (run.phase == RunPhase::kRunning) SubmitReady(run, now);
    return;
  }
  for (int k : run.FailDownstream(i)) PersistStage(run, k);
  if (run.phase == RunPhase::kRunning)
    FinishRun(run, RunPhase::kFailed, now,
              "stage " + st.def.name + " ended " + std::string(StageStateName(st.state)), &st);
}

std::string Broker::LastErrorOf(std::int64_t job_seq) {
  auto rec = store_.Load(job_seq, /*with_attempts=*/false);
  if (!rec.ok() || !rec->has_value()) return {};
  return (*rec)->last_error;
}

void Broker::FinishRun(WorkflowRun& run, RunPhase phase, std::int64_t now, const std::string& why,
                       const StageRun* failed_stage) {
  run.phase = phase;
  run.row.finished_ms = now;
  PersistRun(run);
  const std::string id = FormatRunId(run.row.seq);
  Logf("run %s (%s) %s%s%s", id.c_str(), run.row.workflow.c_str(), RunPhaseName(phase),
       why.empty() ? "" : ": ", why.c_str());
  if (phase == RunPhase::kFailed) {
    counters_.runs_failed++;
    // The run's one alert (its dead stage job posts none of its own): which
    // stage, its job and the job's last error.
    std::string title = "sluice: run " + id + " of " + run.row.workflow + " failed";
    std::string text = "Run " + id + " of workflow " + run.row.workflow + " (logical date " +
                       run.row.logical_date + ") failed: " + why + ".";
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
    Alert(title, text);
  }
  std::string workflow = run.row.workflow;  // TryStartQueued may touch other runs
  TryStartQueued(workflow, now);
}

void Broker::PersistRun(WorkflowRun& run) {
  run.row.state = RunPhaseName(run.phase);
  Db(run_store_.UpdateRun(run.row));
}

void Broker::PersistStage(const WorkflowRun& run, int i) {
  const StageRun& st = run.stages[i];
  Db(run_store_.UpsertStage(run.row.seq, {st.def.name, StageStateName(st.state), st.job_seq}));
}

Result<WorkflowRun*> Broker::FindRun(std::int64_t run_seq) {
  auto it = runs_.find(run_seq);
  if (it != runs_.end()) return &it->second;
  auto row = run_store_.Load(run_seq);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status::NotFound("no run r" + std::to_string(run_seq));
  auto stages = run_store_.Stages(run_seq);
  if (!stages.ok()) return stages.status();
  auto run = RestoreRun(std::move(**row), *stages);
  if (!run.ok()) return run.status();
  return &runs_.emplace(run_seq, std::move(*run)).first->second;
}

void Broker::ForgetRunIfDone(std::int64_t run_seq) {
  auto it = runs_.find(run_seq);
  if (it != runs_.end() && IsFinished(it->second.phase) && !it->second.AnySubmitted()) runs_.erase(it);
}

Status Broker::CancelRun(std::int64_t run_seq, std::int64_t now) {
  if (!Db(store_.Begin())) return fatal_;
  auto found = FindRun(run_seq);
  if (!found.ok()) return found.status();
  WorkflowRun& run = **found;
  if (IsFinished(run.phase)) {
    Status s = Status::Conflict("run r" + std::to_string(run_seq) + " is already " + RunPhaseName(run.phase));
    ForgetRunIfDone(run_seq);
    return s;
  }
  run.phase = RunPhase::kCancelled;  // first: the stage jobs' ends only record themselves
  for (std::size_t i = 0; i < run.stages.size(); ++i) {
    StageRun& st = run.stages[i];
    if (st.state == StageState::kSubmitted) {
      (void)CancelJob(st.job_seq, now);  // a job already ending reports its own end
    } else if (st.state == StageState::kPending || st.state == StageState::kUpstreamFailed) {
      st.state = StageState::kCancelled;
      PersistStage(run, static_cast<int>(i));
    }
  }
  FinishRun(run, RunPhase::kCancelled, now, "cancelled by request");
  ProcessRunEvents(now);
  return Status::Ok();
}

void Broker::OnStageJobRetried(std::int64_t job_seq, std::int64_t now) {
  auto where = run_store_.FindByJob(job_seq);
  if (!Db(where.status()) || !where->has_value()) return;
  auto found = FindRun((*where)->first);
  if (!found.ok()) return;
  WorkflowRun& run = **found;
  int i = run.FindStage((*where)->second);
  if (i < 0) return;
  run.stages[i].state = StageState::kSubmitted;
  run.stages[i].job_seq = job_seq;
  run_of_job_[job_seq] = run.row.seq;
  PersistStage(run, i);
  for (int k : run.ClearUpstreamFailed()) PersistStage(run, k);
  if (run.phase != RunPhase::kRunning) {
    Logf("run r%lld (%s) continues: stage %s retried", static_cast<long long>(run.row.seq),
         run.row.workflow.c_str(), run.stages[i].def.name.c_str());
    run.phase = RunPhase::kRunning;
    run.row.finished_ms.reset();
    if (!run.row.started_ms) run.row.started_ms = now;
    PersistRun(run);
  }
  SubmitReady(run, now);
}

nlohmann::json Broker::RunJson(const WorkflowRun& run, bool detail) {
  auto opt = [](const std::optional<std::int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json stages = nlohmann::json::array();
  for (const StageRun& st : run.stages) {
    nlohmann::json s = {{"name", st.def.name},
                        {"kind", st.def.kind},
                        {"state", StageStateName(st.state)},
                        {"job", st.job_seq ? nlohmann::json(FormatJobId(st.job_seq)) : nlohmann::json(nullptr)},
                        {"attempt", 0},
                        {"started_ms", nullptr},
                        {"finished_ms", nullptr},
                        {"error", nullptr},
                        {"depends_on", st.def.depends_on},
                        {"queue", st.def.queue},
                        // Whether a connected worker announces this kind on
                        // this queue now (a custom kind may have none yet).
                        {"kind_served", workers_.AnyServes(st.def.queue, st.def.kind)}};
    if (st.job_seq) {
      std::optional<JobRecord> rec;
      auto live = live_.find(st.job_seq);
      if (live != live_.end() && !detail) {
        rec.emplace();
        rec->job = live->second;
      } else if (detail || st.state == StageState::kSubmitted) {
        auto r = store_.Load(st.job_seq, detail);
        if (r.ok() && r->has_value()) rec = std::move(**r);
      }
      if (rec) {
        OverlayLive(&*rec);
        s["state"] = JobStateName(rec->job.state);
        s["attempt"] = rec->job.attempt;
        if (!rec->attempts.empty()) s["started_ms"] = rec->attempts.front().started_ms;
        if (rec->finished_ms) s["finished_ms"] = rec->finished_ms;
        if (!rec->last_error.empty()) s["error"] = rec->last_error;
      }
    }
    stages.push_back(std::move(s));
  }
  return {{"id", FormatRunId(run.row.seq)},
          {"state", RunPhaseName(run.phase)},
          {"workflow", run.row.workflow},
          {"trigger", run.row.trigger},
          {"logical_date", run.row.logical_date},
          {"slot", run.row.slot_ms ? nlohmann::json(UtcIso(*run.row.slot_ms)) : nlohmann::json(nullptr)},
          {"params", run.vars},
          {"created_ms", run.row.created_ms},
          {"started_ms", opt(run.row.started_ms)},
          {"finished_ms", opt(run.row.finished_ms)},
          {"stages", std::move(stages)}};
}

nlohmann::json Broker::ScheduleJson(const workflows::WorkflowDef& w) {
  std::uint32_t active = 0;
  for (const auto& [seq, r] : runs_)
    if (r.row.workflow == w.name && r.phase == RunPhase::kRunning) ++active;
  auto next = next_fire_.find(w.name);
  nlohmann::json j = {
      {"workflow", w.name},
      {"schedule", w.schedule.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.schedule)},
      {"paused", paused_.count(w.name) > 0},
      {"catch_up", workflows::CatchUpName(w.catch_up)},
      {"max_active_runs", w.max_active_runs},
      {"next_fire", next != next_fire_.end() && next->second != std::numeric_limits<std::int64_t>::max()
                        ? nlohmann::json(UtcIso(next->second))
                        : nlohmann::json(nullptr)},
      {"last_fire", nullptr},
      {"active_runs", active},
      {"unserved_stages", nlohmann::json::array()}};
  // Stages whose kind no connected worker announces on their queue (READY
  // `kinds`, as WORKERS shows them): a run would wait there.
  for (const auto& st : w.stages)
    if (!workers_.AnyServes(st.queue, st.kind))
      j["unserved_stages"].push_back({{"stage", st.name}, {"kind", st.kind}, {"queue", st.queue}});
  auto last = run_store_.LastFire(w.name);
  if (last.ok() && last->has_value()) j["last_fire"] = UtcIso(**last);
  return j;
}

}  // namespace sluice::broker
