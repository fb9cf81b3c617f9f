// The command handlers: decode the body with its codec (schemas/requests.h),
// call the lifecycle (job_lifecycle.h) or the runs (run_manager.h), apply
// their effects, answer with a typed reply (schemas/replies.h). No rule
// lives here.
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "broker/broker.h"
#include "broker/extract_runs.h"
#include "broker/job_view.h"
#include "broker/log.h"
#include "broker/utc_text.h"
#include "schemas/job_id.h"
#include "schemas/protocol.h"
#include "schemas/replies.h"
#include "schemas/requests.h"

namespace sluice::broker {
namespace {

// The job an `id` names, or not_found.
Status JobSeqOf(const std::string& id, std::int64_t* seq) {
  auto parsed = ParseJobId(id);
  if (!parsed) return Status::NotFound("no job '" + id + "' (job ids look like j123)");
  *seq = *parsed;
  return Status::Ok();
}

// The run an `id` names, when it is a run id (r12).
std::optional<std::int64_t> RunSeqOf(const std::string& id) {
  if (id.empty() || id[0] != 'r') return std::nullopt;
  return ParseRunId(id);
}

std::string_view ErrCode(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidArgument: return proto::err::kBadRequest;
    case Code::kNotFound: return proto::err::kNotFound;
    case Code::kConflict: return proto::err::kInvalidState;
    default: return proto::err::kInternal;
  }
}

// A refusal (bad request, not found, conflict) is answered; anything else
// is a failed store write, for the loop to recover from.
bool IsRefusal(const Status& s) {
  return s.code() == Code::kInvalidArgument || s.code() == Code::kNotFound || s.code() == Code::kConflict;
}

}  // namespace

template <typename Request>
bool Broker::ReadRequest(const std::string& rid, std::string_view body, Request* m, bool count) {
  Status s = proto::Decode(body, m);
  if (s.ok()) return true;
  if (count) counters_.bad_messages++;
  // The body's own `req` when the decoder did not get to it.
  ReplyError(rid, m->req ? m->req : proto::PeekReq(body), proto::err::kBadRequest, s.message());
  return false;
}

template <typename Reply>
void Broker::SendReply(const std::string& rid, const Reply& m) {
  std::string out;
  proto::Encode(m, &out);
  Defer(rid, proto::Command::kReply, std::move(out), m.req);
}

void Broker::ReplyError(const std::string& rid, std::uint64_t req, std::string_view code,
                        const std::string& message, const proto::JobAttempt* attempt) {
  proto::ErrorMsg e;
  e.req = req;
  e.code = std::string(code);
  e.message = message.substr(0, proto::kMaxErrorBytes);
  if (attempt != nullptr) {
    e.job = attempt->job;
    e.attempt = attempt->attempt;
  }
  std::string body;
  proto::Encode(e, &body);
  Defer(rid, proto::Command::kError, std::move(body));
}

void Broker::OnReady(const std::string& rid, std::string_view body) {
  proto::Ready m;
  Status s = proto::Decode(body, &m);
  if (!s.ok()) {
    counters_.bad_messages++;
    return ReplyError(rid, 0, proto::err::kBadRequest, s.message());
  }
  const std::int64_t now = clock_->NowMs();
  auto w = std::make_unique<Worker>();
  w->routing_id = rid;
  w->id = m.worker;
  w->host = m.host;
  w->pid = m.pid;
  w->version = m.version;
  w->key = peer_key_;
  w->key_name = peer_name_;
  w->queues = m.queues;
  w->kinds_list = m.kinds;
  w->kinds.insert(m.kinds.begin(), m.kinds.end());
  w->slots = m.slots;
  w->prefetch = m.prefetch;
  w->adaptive = m.adaptive;
  w->window = PrefetchWindow(config_.prefetch_target_us);
  w->heartbeat_ms = m.heartbeat_ms;
  w->connected_ms = now;
  w->last_seen_ms = now;
  w->last_sent_ms = now;
  Effects fx;
  Worker* added = nullptr;
  if (!Apply(jobs_->AddWorker(std::move(w), m.running, now, &fx, &added), fx)) return;
  Logf("worker %s (host %s, pid %lld) ready: %u slots, queues %zu, kinds %zu, %zu running",
       added->id.c_str(), added->host.c_str(), static_cast<long long>(added->pid), added->slots,
       added->queues.size(), added->kinds.size(), m.running.size());
}

void Broker::OnHeartbeat(const std::string& rid, std::string_view body) {
  proto::Heartbeat m;
  Status s = proto::Decode(body, &m);
  Worker* w = jobs_->workers().ByRoutingId(rid);
  if (w == nullptr) return ReplyError(rid, 0, proto::err::kUnknownWorker, "send READY first");
  if (!s.ok()) {
    counters_.bad_messages++;
    return ReplyError(rid, 0, proto::err::kBadRequest, s.message());
  }
  if (m.slots && *m.slots != w->slots) {
    Logf("worker %s: slots %u -> %u%s", w->id.c_str(), w->slots, *m.slots,
         *m.slots == 0 ? " (draining)" : "");
    jobs_->SetSlots(*w, *m.slots);
  }
}

void Broker::OnResult(const std::string& rid, std::string_view body) {
  proto::JobResult m;
  Status s = proto::Decode(body, &m);
  if (!s.ok()) {
    counters_.bad_messages++;
    // Named, so that the worker stops re-sending a result that will never
    // be taken (PROTOCOL.md §5.3).
    proto::JobAttempt named;
    const bool readable = proto::PeekAttempt(body, &named).ok() && !named.job.empty() && named.attempt > 0;
    return ReplyError(rid, 0, proto::err::kBadRequest, s.message(), readable ? &named : nullptr);
  }
  Worker* w = jobs_->workers().ByRoutingId(rid);
  if (w == nullptr) {
    // Neither recorded nor ACKed: the worker sends READY, then again its
    // results (PROTOCOL.md §5).
    return ReplyError(rid, 0, proto::err::kUnknownWorker,
                      "send READY first; RESULT " + m.job + " attempt " + std::to_string(m.attempt) +
                          " was not recorded");
  }
  Effects fx;
  if (!Apply(jobs_->RecordResult(*w, m, clock_->NowMs(), &fx), fx)) return;  // not stored: not ACKed
  w->pending_acks.push_back({m.job, m.attempt});
  jobs_->RequestDispatch();
}

void Broker::OnBye(const std::string& rid, std::string_view body) {
  proto::Bye m;
  (void)proto::Decode(body, &m);
  if (jobs_->workers().ByRoutingId(rid) == nullptr) return;
  Effects fx;
  Apply(jobs_->RemoveWorker(rid, "worker left" + (m.reason.empty() ? std::string() : ": " + m.reason),
                            clock_->NowMs(), &fx),
        fx);
}

void Broker::OnSubmit(const std::string& rid, std::string_view body) {
  proto::Submit m;
  Status s = proto::Decode(body, &m);
  if (!s.ok()) {
    counters_.bad_messages++;
    return ReplyError(rid, proto::PeekReq(body), proto::err::kBadRequest, s.message());
  }
  const std::int64_t now = clock_->NowMs();
  proto::SubmitReply reply;
  reply.req = m.req;
  reply.jobs.reserve(m.jobs.size());
  Effects fx;
  for (const auto& spec : m.jobs) {
    auto job = jobs_->Submit(spec, now, &fx);
    if (!Apply(job.status(), fx)) return;
    reply.jobs.push_back(std::move(*job));
  }
  std::string out;
  proto::Encode(reply, &out);
  Defer(rid, proto::Command::kReply, std::move(out), m.req);
  if (m.notify) {
    for (const proto::SubmittedJob& j : reply.jobs) {
      auto seq = ParseJobId(j.id);
      if (!seq) continue;
      if (IsTerminal(j.state)) {
        DeferDone(rid, j.id, j.state);  // an existing job (idempotency key) that has ended already
      } else if (notify_.size() < kMaxNotify) {
        notify_[*seq] = rid;
      }
    }
  }
}

void Broker::OnStatus(const std::string& rid, std::string_view body) {
  proto::StatusRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  if (auto run = RunSeqOf(m.id)) return OnRunStatus(rid, m.req, *run);
  std::int64_t seq = 0;
  if (Status s = JobSeqOf(m.id, &seq); !s.ok()) return ReplyError(rid, m.req, ErrCode(s), s.message());
  auto r = store_.Load(seq, true);
  if (!r.ok()) return ReplyError(rid, m.req, proto::err::kInternal, r.status().message());
  if (!r->has_value()) return ReplyError(rid, m.req, proto::err::kNotFound, "no job " + FormatJobId(seq));
  SendReply(rid, proto::JobReply{m.req, LiveJobView(**r, true)});
}

void Broker::OnList(const std::string& rid, std::string_view body) {
  proto::ListRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  ListFilter f;
  if (!m.state.empty()) f.state = ParseJobState(m.state);  // the decoder checked it
  f.queue = m.queue;
  f.kind = m.kind;
  f.limit = proto::EffectiveLimit(m.limit, proto::kDefaultListLimit);
  proto::ListReply reply;
  reply.req = m.req;
  if (f.state == JobState::kRunning) {
    // Running attempts live in memory only.
    std::vector<std::int64_t> seqs = jobs_->RunningSeqs(f.queue, f.kind);
    if (static_cast<std::int64_t>(seqs.size()) > f.limit) seqs.resize(f.limit);
    for (std::int64_t seq : seqs) {
      auto rec = store_.Load(seq, false);
      if (!rec.ok() || !rec->has_value()) continue;
      reply.jobs.push_back(LiveJobView(**rec, false));
    }
    return SendReply(rid, reply);
  }
  // Running jobs are stored as queued: fetch enough to drop them and still fill the page.
  const std::int64_t running = f.state == JobState::kQueued ? static_cast<std::int64_t>(jobs_->running_count()) : 0;
  const std::int64_t want = f.limit;
  f.limit += running;
  auto rows = store_.List(f);
  if (!rows.ok()) return ReplyError(rid, m.req, proto::err::kInternal, rows.status().message());
  for (auto& rec : *rows) {
    jobs_->OverlayLive(&rec);
    if (f.state && rec.job.state != *f.state) continue;
    if (static_cast<std::int64_t>(reply.jobs.size()) == want) break;
    reply.jobs.push_back(JobViewOf(rec, false, jobs_->WaitingReason(rec.job)));
  }
  SendReply(rid, reply);
}

void Broker::OnRetry(const std::string& rid, std::string_view body) {
  proto::RetryRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  std::int64_t seq = 0;
  Status s = JobSeqOf(m.id, &seq);
  const std::int64_t now = clock_->NowMs();
  Effects fx;
  if (s.ok()) s = jobs_->Retry(seq, now, &fx);
  if (s.ok()) s = runs_->OnJobRetried(seq, now, &fx);  // a stage of a run: the run continues
  if (!s.ok() && IsRefusal(s)) return ReplyError(rid, m.req, ErrCode(s), s.message());
  if (!Apply(s, fx)) return;
  auto r = store_.Load(seq, false);
  if (!r.ok() || !r->has_value()) return ReplyError(rid, m.req, proto::err::kInternal, "job vanished");
  SendReply(rid, proto::JobReply{m.req, LiveJobView(**r, false)});
}

void Broker::OnCancelJob(const std::string& rid, std::string_view body) {
  proto::CancelJobRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  if (auto run = RunSeqOf(m.id)) return OnRunCancel(rid, m.req, *run);
  std::int64_t seq = 0;
  Status s = JobSeqOf(m.id, &seq);
  Effects fx;
  if (s.ok()) s = jobs_->Cancel(seq, clock_->NowMs(), &fx);
  if (!s.ok() && IsRefusal(s)) return ReplyError(rid, m.req, ErrCode(s), s.message());
  if (!Apply(s, fx)) return;
  auto r = store_.Load(seq, false);
  if (!r.ok() || !r->has_value()) return ReplyError(rid, m.req, proto::err::kInternal, "job vanished");
  SendReply(rid, proto::JobReply{m.req, LiveJobView(**r, false)});
}

void Broker::OnWorkers(const std::string& rid, std::string_view body) {
  proto::WorkersRequest m;
  if (!ReadRequest(rid, body, &m, true)) return;
  proto::WorkersReply reply;
  reply.req = m.req;
  jobs_->workers().ForEach([&](Worker& w) {
    proto::WorkerView v;
    v.worker = w.id;
    v.host = w.host;
    v.pid = w.pid;
    v.queues = w.queues;
    v.kinds = w.kinds_list;
    v.slots = w.slots;
    v.prefetch = w.prefetch;
    v.adaptive = w.adaptive;
    v.window = w.adaptive ? w.window.Allowance(SteadyMicros(), w.prefetch) : w.prefetch;
    v.busy = w.leases.size();
    v.version = w.version;
    v.connected_ms = w.connected_ms;
    v.last_seen_ms = w.last_seen_ms;
    v.key = w.key_name;
    v.running.reserve(w.leases.size());
    for (const auto& [seq, attempt] : w.leases) v.running.push_back({FormatJobId(seq), attempt});
    reply.workers.push_back(std::move(v));
  });
  SendReply(rid, reply);
}

// STATS stays a document (replies.h: StatsView): its shape grows with the
// broker's counters.
void Broker::OnStats(const std::string& rid, std::string_view body) {
  proto::StatsRequest m;
  if (!ReadRequest(rid, body, &m, true)) return;
  nlohmann::json by_state = nlohmann::json::object();
  const StateCounts& counts = jobs_->counts();
  for (int i = 0; i < kJobStateCount; ++i)
    by_state[std::string(JobStateName(static_cast<JobState>(i)))] = counts.total(static_cast<JobState>(i));
  nlohmann::json queues = nlohmann::json::object();
  for (const auto& [q, c] : counts.live_by_queue())
    queues[q] = {{"scheduled", c[0]}, {"queued", c[1]}, {"running", c[2]}};
  // The ended jobs still stored, per queue (the status page's rates).
  for (const auto& [q, c] : counts.all_by_queue()) {
    nlohmann::json& entry = queues[q];
    for (JobState s : {JobState::kScheduled, JobState::kQueued, JobState::kRunning})
      if (!entry.contains(JobStateName(s))) entry[std::string(JobStateName(s))] = 0;
    for (JobState s : {JobState::kSucceeded, JobState::kDead, JobState::kCancelled})
      entry[std::string(JobStateName(s))] = c[static_cast<std::size_t>(s)];
  }
  const JobCounters& c = jobs_->counters();
  const RunCounters& rc = runs_->counters();
  const LoopCounters& lc = counters_;
  const std::int64_t now = clock_->NowMs();
  proto::StatsReply reply;
  reply.req = m.req;
  reply.stats.doc = {
      {"jobs", std::move(by_state)},
      {"queues", std::move(queues)},
      {"workers", jobs_->workers().size()},
      {"live_jobs", jobs_->live_count()},
      {"timers", jobs_->timer_count()},
      {"counters",
       {{"submitted", c.submitted}, {"dispatched", c.dispatched}, {"succeeded", c.succeeded},
        {"failed", c.failed}, {"timed_out", c.timed_out}, {"lost", c.lost}, {"dead", c.dead},
        {"cancelled", c.cancelled}, {"retried", c.retried}, {"returned", c.returned},
        {"duplicate_results", c.duplicate_results}, {"recalled", c.recalled}, {"bad_messages", lc.bad_messages},
        {"commits", lc.commits}, {"pruned", retention_.pruned()}, {"runs_started", rc.runs_started},
        {"runs_failed", rc.runs_failed}, {"store_failures", lc.store_failures},
        {"refused_degraded", lc.refused_degraded}, {"forbidden", lc.forbidden},
        {"refused_handshakes", zap_ ? zap_->refused() : 0}}},
      {"state_db",
       {{"writable", !degraded_},
        {"error", degraded_ ? degraded_why_ : std::string()},
        {"held_results", held_results_.size()}}},
      {"tasks",
       {{"retention", {{"runs", retention_.runs()}, {"last_ms", retention_.last_ms()}}},
        {"wal_checkpoint",
         {{"runs", checkpointer_ ? checkpointer_->runs() : 0},
          {"failures", checkpointer_ ? checkpointer_->failures() : 0},
          {"truncations", checkpointer_ ? checkpointer_->truncations() : 0},
          {"pages_checkpointed", checkpointer_ ? checkpointer_->pages_checkpointed() : 0},
          {"wal_bytes", checkpointer_ ? checkpointer_->wal_bytes() : 0},
          {"last_ms", checkpointer_ ? checkpointer_->last_ms() : 0},
          {"writer_truncations", store_.writer_truncations()},
          {"writer_truncation_misses", store_.writer_truncation_misses()}}}}},
      {"uptime_ms", now - started_ms_},
      {"now_ms", now},
      {"next_job_id", FormatJobId(store_.next_job_seq())},
      {"version", SLUICE_VERSION},
      {"pid", static_cast<std::int64_t>(getpid())},
  };
  SendReply(rid, reply);
}

void Broker::OnExtractions(const std::string& rid, std::string_view body) {
  proto::ExtractionsRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  auto rows = hooks_.extract_runs().Recent(store_.db(), m.source,
                                           proto::EffectiveLimit(m.limit, proto::kDefaultExtractionsLimit));
  if (!rows.ok()) return ReplyError(rid, m.req, proto::err::kInternal, rows.status().message());
  proto::ExtractionsReply reply;
  reply.req = m.req;
  reply.extractions = std::move(*rows);
  SendReply(rid, reply);
}

proto::JobView Broker::LiveJobView(JobRecord& r, bool detail) {
  jobs_->OverlayLive(&r);
  return JobViewOf(r, detail, jobs_->WaitingReason(r.job));
}

// ---- workflow commands -----------------------------------------------------------

void Broker::OnRun(const std::string& rid, std::string_view body) {
  proto::RunRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  const workflows::WorkflowDef* w = runs_->registry().Find(m.workflow);
  if (w == nullptr)
    return ReplyError(rid, m.req, proto::err::kNotFound,
                      "no workflow '" + m.workflow + "'" +
                          (config_.workflows_path.empty() ? " (the broker has no --workflows registry)"
                                                          : " in " + config_.workflows_path));
  const std::int64_t now = clock_->NowMs();
  Effects fx;
  auto seq = runs_->StartRun(*w, "manual", UtcDay(now), std::nullopt, m.params, now, &fx);
  if (!seq.ok() && seq.status().code() == Code::kInvalidArgument)
    return ReplyError(rid, m.req, proto::err::kBadRequest, seq.status().message());
  if (!Apply(seq.status(), fx)) return;
  auto run = runs_->FindRun(*seq);
  if (!run.ok()) return ReplyError(rid, m.req, proto::err::kInternal, run.status().message());
  LogFieldsf(LogLevel::kInfo, {{"run", FormatRunId(*seq)}, {"workflow", m.workflow}}, "run %s of %s started by request",
             FormatRunId(*seq).c_str(), m.workflow.c_str());
  SendReply(rid, proto::RunReply{m.req, runs_->RunViewOf(**run, false)});
}

void Broker::OnRuns(const std::string& rid, std::string_view body) {
  proto::RunsRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  auto runs = runs_->ListRuns(m.workflow, m.state, proto::EffectiveLimit(m.limit, proto::kDefaultRunsLimit));
  if (!runs.ok()) return ReplyError(rid, m.req, proto::err::kInternal, runs.status().message());
  SendReply(rid, proto::RunsReply{m.req, std::move(*runs)});
}

void Broker::OnRunStatus(const std::string& rid, std::uint64_t req, std::int64_t run_seq) {
  auto run = runs_->FindRun(run_seq);
  if (!run.ok())
    return ReplyError(rid, req, run.status().code() == Code::kNotFound ? proto::err::kNotFound : proto::err::kInternal,
                      run.status().message());
  proto::RunReply reply{req, runs_->RunViewOf(**run, true)};
  runs_->ForgetRunIfDone(run_seq);
  SendReply(rid, reply);
}

void Broker::OnRunCancel(const std::string& rid, std::uint64_t req, std::int64_t run_seq) {
  const std::int64_t now = clock_->NowMs();
  Effects fx;
  Status s = runs_->CancelRun(run_seq, now, &fx);
  if (IsRefusal(s)) return ReplyError(rid, req, ErrCode(s), s.message());
  if (!Apply(s, fx)) return;
  Logf("run %s cancelled by request", FormatRunId(run_seq).c_str());
  OnRunStatus(rid, req, run_seq);
}

void Broker::OnSchedules(const std::string& rid, std::string_view body) {
  proto::SchedulesRequest m;
  if (!ReadRequest(rid, body, &m, true)) return;
  proto::SchedulesReply reply;
  reply.req = m.req;
  for (const auto& w : runs_->registry().workflows) reply.schedules.push_back(runs_->ScheduleViewOf(w));
  SendReply(rid, reply);
}

void Broker::OnPauseResume(const std::string& rid, std::string_view body, bool pause) {
  std::uint64_t req = 0;
  std::string name;
  if (pause) {
    proto::PauseRequest m;
    if (!ReadRequest(rid, body, &m)) return;
    req = m.req;
    name = std::move(m.workflow);
  } else {
    proto::ResumeRequest m;
    if (!ReadRequest(rid, body, &m)) return;
    req = m.req;
    name = std::move(m.workflow);
  }
  Status s = runs_->SetPaused(name, pause, clock_->NowMs());
  if (s.code() == Code::kNotFound) return ReplyError(rid, req, proto::err::kNotFound, s.message());
  if (!Db(s)) return ReplyError(rid, req, proto::err::kInternal, s.message());
  SendReply(rid, proto::ScheduleReply{req, runs_->ScheduleViewOf(*runs_->registry().Find(name))});
}

void Broker::OnReload(const std::string& rid, std::string_view body) {
  proto::ReloadRequest m;
  if (!ReadRequest(rid, body, &m)) return;
  std::string message;
  Status s = runs_->Reload(clock_->NowMs(), &message);
  if (!s.ok()) return ReplyError(rid, m.req, proto::err::kBadRequest, message);
  // The authorized keys too, as SIGHUP does.
  if (!ReloadAuthorized(clock_->NowMs(), &message)) return ReplyError(rid, m.req, proto::err::kBadRequest, message);
  SendReply(rid, proto::ReloadReply{m.req, runs_->registry().workflows.size(), config_.workflows_path});
}

}  // namespace sluice::broker
