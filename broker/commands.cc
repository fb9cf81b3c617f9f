// The command handlers: decode the body, call the lifecycle (job_lifecycle.h)
// or the runs (run_manager.h), apply their effects, answer. No rule lives
// here. The workflow commands' bodies (RUN, RUNS, PAUSE, RESUME, RELOAD) are
// small and rare, so they are read as JSON.
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "broker/broker.h"
#include "broker/extract_runs.h"
#include "broker/job_view.h"
#include "broker/log.h"
#include "broker/utc_text.h"
#include "schemas/job_id.h"
#include "schemas/msgpack_json.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"
#include "schemas/request_decode.h"
#include "schemas/utf8.h"

namespace sluice::broker {
namespace {

// Decodes a client request with an `id` field naming a job.
Status ReadJobIdRequest(std::string_view body, const char* what, std::uint64_t* req,
                        std::int64_t* seq) {
  msgpack::object_handle h;
  Status s = proto::UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument(std::string(what) + ": " + s.message());
  proto::MapReader r(h.get(), what);
  std::string id;
  r.Uint("req", req, true);
  r.Str("id", &id, proto::kMaxIdBytes, true);
  if (!r.ok()) return r.status();
  auto parsed = ParseJobId(id);
  if (!parsed) return Status::NotFound("no job '" + id + "' (job ids look like j123)");
  *seq = *parsed;
  return Status::Ok();
}

// The run a request's `id` names, when it is a run id (r12).
std::optional<std::int64_t> RequestRunId(std::string_view body) {
  msgpack::object_handle h;
  if (!proto::UnpackBody(body, &h).ok()) return std::nullopt;
  proto::MapReader r(h.get(), "request");
  std::string id;
  r.Str("id", &id, proto::kMaxIdBytes, true);
  if (!r.ok() || id.empty() || id[0] != 'r') return std::nullopt;
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

// The body as JSON, or a message saying why not. The decoding limits
// (nesting, size: protocol.h) hold as for every other body.
bool ReadBody(std::string_view body, const char* what, nlohmann::json* out, std::string* error) {
  auto j = proto::MsgpackToJson(body);
  if (!j.ok()) {
    *error = std::string(what) + ": " + j.status().message();
    return false;
  }
  *out = std::move(j).value();
  if (!out->is_object()) {
    *error = std::string(what) + ": body must be a map";
    return false;
  }
  return true;
}

std::string Str(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

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

void Broker::ReplyJson(const std::string& rid, std::uint64_t req, nlohmann::json body) {
  body["req"] = req;
  body["ok"] = true;
  std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(body);
  Defer(rid, proto::Command::kReply, std::string(bytes.begin(), bytes.end()), req);
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
  w->queues = m.queues;
  w->kinds_list = m.kinds;
  w->kinds.insert(m.kinds.begin(), m.kinds.end());
  w->slots = m.slots;
  w->prefetch = m.prefetch;
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
}

void Broker::OnStatus(const std::string& rid, std::string_view body) {
  if (auto run = RequestRunId(body)) return OnRunStatus(rid, proto::PeekReq(body), *run);
  std::uint64_t req = 0;
  std::int64_t seq = 0;
  Status s = ReadJobIdRequest(body, "STATUS", &req, &seq);
  if (!s.ok()) return ReplyError(rid, req ? req : proto::PeekReq(body), ErrCode(s), s.message());
  auto r = store_.Load(seq, true);
  if (!r.ok()) return ReplyError(rid, req, proto::err::kInternal, r.status().message());
  if (!r->has_value()) return ReplyError(rid, req, proto::err::kNotFound, "no job " + FormatJobId(seq));
  ReplyJson(rid, req, {{"job", LiveJobJson(**r, true)}});
}

void Broker::OnList(const std::string& rid, std::string_view body) {
  msgpack::object_handle h;
  std::uint64_t req = proto::PeekReq(body);
  Status s = proto::UnpackBody(body, &h);
  if (!s.ok()) return ReplyError(rid, req, proto::err::kBadRequest, "LIST: " + s.message());
  proto::MapReader r(h.get(), "LIST");
  ListFilter f;
  std::string state;
  std::uint64_t limit = 100;
  r.Uint("req", &req, true);
  r.Str("state", &state, 32, false);
  r.Name("queue", &f.queue, false);
  r.Name("kind", &f.kind, false);
  r.Uint("limit", &limit, false, 10000);
  if (r.ok() && !state.empty()) {
    f.state = ParseJobState(state);
    if (!f.state) r.Fail("field 'state' is not a job state: '" + state + "'");
  }
  if (!r.ok()) return ReplyError(rid, req, proto::err::kBadRequest, r.status().message());
  f.limit = static_cast<std::int64_t>(limit == 0 ? 100 : limit);
  nlohmann::json jobs = nlohmann::json::array();
  if (f.state == JobState::kRunning) {
    // Running attempts live in memory only.
    std::vector<std::int64_t> seqs = jobs_->RunningSeqs(f.queue, f.kind);
    if (static_cast<std::int64_t>(seqs.size()) > f.limit) seqs.resize(f.limit);
    for (std::int64_t seq : seqs) {
      auto rec = store_.Load(seq, false);
      if (!rec.ok() || !rec->has_value()) continue;
      jobs.push_back(LiveJobJson(**rec, false));
    }
    return ReplyJson(rid, req, {{"jobs", std::move(jobs)}});
  }
  // Running jobs are stored as queued: fetch enough to drop them and still fill the page.
  const std::int64_t running = f.state == JobState::kQueued ? static_cast<std::int64_t>(jobs_->running_count()) : 0;
  const std::int64_t want = f.limit;
  f.limit += running;
  auto rows = store_.List(f);
  if (!rows.ok()) return ReplyError(rid, req, proto::err::kInternal, rows.status().message());
  for (auto& rec : *rows) {
    jobs_->OverlayLive(&rec);
    if (f.state && rec.job.state != *f.state) continue;
    if (static_cast<std::int64_t>(jobs.size()) == want) break;
    jobs.push_back(JobJson(rec, false, jobs_->WaitingReason(rec.job)));
  }
  ReplyJson(rid, req, {{"jobs", std::move(jobs)}});
}

void Broker::OnRetry(const std::string& rid, std::string_view body) {
  std::uint64_t req = 0;
  std::int64_t seq = 0;
  Status s = ReadJobIdRequest(body, "RETRY", &req, &seq);
  const std::int64_t now = clock_->NowMs();
  Effects fx;
  if (s.ok()) s = jobs_->Retry(seq, now, &fx);
  if (s.ok()) s = runs_->OnJobRetried(seq, now, &fx);  // a stage of a run: the run continues
  if (!s.ok() && IsRefusal(s)) return ReplyError(rid, req ? req : proto::PeekReq(body), ErrCode(s), s.message());
  if (!Apply(s, fx)) return;
  auto r = store_.Load(seq, false);
  if (!r.ok() || !r->has_value()) return ReplyError(rid, req, proto::err::kInternal, "job vanished");
  ReplyJson(rid, req, {{"job", LiveJobJson(**r, false)}});
}

void Broker::OnCancelJob(const std::string& rid, std::string_view body) {
  if (auto run = RequestRunId(body)) return OnRunCancel(rid, proto::PeekReq(body), *run);
  std::uint64_t req = 0;
  std::int64_t seq = 0;
  Status s = ReadJobIdRequest(body, "CANCEL_JOB", &req, &seq);
  Effects fx;
  if (s.ok()) s = jobs_->Cancel(seq, clock_->NowMs(), &fx);
  if (!s.ok() && IsRefusal(s)) return ReplyError(rid, req ? req : proto::PeekReq(body), ErrCode(s), s.message());
  if (!Apply(s, fx)) return;
  auto r = store_.Load(seq, false);
  if (!r.ok() || !r->has_value()) return ReplyError(rid, req, proto::err::kInternal, "job vanished");
  ReplyJson(rid, req, {{"job", LiveJobJson(**r, false)}});
}

bool Broker::ReadReqOnly(const std::string& rid, std::uint8_t command, std::string_view body,
                         std::uint64_t* req) {
  *req = proto::PeekReq(body);
  Status s = proto::DecodeRequest(command, body);
  if (s.ok()) return true;
  counters_.bad_messages++;
  ReplyError(rid, *req, proto::err::kBadRequest, s.message());
  return false;
}

void Broker::OnWorkers(const std::string& rid, std::string_view body) {
  std::uint64_t req = 0;
  if (!ReadReqOnly(rid, static_cast<std::uint8_t>(proto::Command::kWorkers), body, &req)) return;
  nlohmann::json list = nlohmann::json::array();
  jobs_->workers().ForEach([&](Worker& w) {
    nlohmann::json running = nlohmann::json::array();
    for (const auto& [seq, attempt] : w.leases) running.push_back({FormatJobId(seq), attempt});
    list.push_back({{"worker", w.id},
                    {"host", w.host},
                    {"pid", w.pid},
                    {"queues", w.queues},
                    {"kinds", w.kinds_list},
                    {"slots", w.slots},
                    {"prefetch", w.prefetch},
                    {"busy", w.leases.size()},
                    {"version", w.version},
                    {"connected_ms", w.connected_ms},
                    {"last_seen_ms", w.last_seen_ms},
                    {"running", std::move(running)}});
  });
  ReplyJson(rid, req, {{"workers", std::move(list)}});
}

void Broker::OnStats(const std::string& rid, std::string_view body) {
  std::uint64_t req = 0;
  if (!ReadReqOnly(rid, static_cast<std::uint8_t>(proto::Command::kStats), body, &req)) return;
  nlohmann::json by_state = nlohmann::json::object();
  const StateCounts& counts = jobs_->counts();
  for (int i = 0; i < kJobStateCount; ++i)
    by_state[std::string(JobStateName(static_cast<JobState>(i)))] = counts.total(static_cast<JobState>(i));
  nlohmann::json queues = nlohmann::json::object();
  for (const auto& [q, c] : counts.live_by_queue())
    queues[q] = {{"scheduled", c[0]}, {"queued", c[1]}, {"running", c[2]}};
  const JobCounters& c = jobs_->counters();
  const RunCounters& rc = runs_->counters();
  const LoopCounters& lc = counters_;
  const std::int64_t now = clock_->NowMs();
  nlohmann::json stats = {
      {"jobs", std::move(by_state)},
      {"queues", std::move(queues)},
      {"workers", jobs_->workers().size()},
      {"live_jobs", jobs_->live_count()},
      {"timers", jobs_->timer_count()},
      {"counters",
       {{"submitted", c.submitted}, {"dispatched", c.dispatched}, {"succeeded", c.succeeded},
        {"failed", c.failed}, {"timed_out", c.timed_out}, {"lost", c.lost}, {"dead", c.dead},
        {"cancelled", c.cancelled}, {"retried", c.retried}, {"returned", c.returned},
        {"duplicate_results", c.duplicate_results}, {"bad_messages", lc.bad_messages},
        {"commits", lc.commits}, {"pruned", retention_.pruned()}, {"runs_started", rc.runs_started},
        {"runs_failed", rc.runs_failed}, {"store_failures", lc.store_failures},
        {"refused_degraded", lc.refused_degraded}}},
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
      {"next_job_id", FormatJobId(store_.next_job_seq())},
      {"version", SLUICE_VERSION},
      {"pid", static_cast<std::int64_t>(getpid())},
  };
  ReplyJson(rid, req, {{"stats", std::move(stats)}});
}

void Broker::OnExtractions(const std::string& rid, std::string_view body) {
  msgpack::object_handle h;
  std::uint64_t req = proto::PeekReq(body);
  Status s = proto::UnpackBody(body, &h);
  if (!s.ok()) return ReplyError(rid, req, proto::err::kBadRequest, "EXTRACTIONS: " + s.message());
  proto::MapReader r(h.get(), "EXTRACTIONS");
  std::string source;
  std::uint64_t limit = 50;
  r.Uint("req", &req, true);
  r.Name("source", &source, false);
  r.Uint("limit", &limit, false, 10000);
  if (!r.ok()) return ReplyError(rid, req, proto::err::kBadRequest, r.status().message());
  auto runs = hooks_.extract_runs().Recent(store_.db(), source, static_cast<std::int64_t>(limit == 0 ? 50 : limit));
  if (!runs.ok()) return ReplyError(rid, req, proto::err::kInternal, runs.status().message());
  ReplyJson(rid, req, {{"extractions", std::move(*runs)}});
}

nlohmann::json Broker::LiveJobJson(JobRecord& r, bool detail) {
  jobs_->OverlayLive(&r);
  return JobJson(r, detail, jobs_->WaitingReason(r.job));
}

// ---- workflow commands -----------------------------------------------------------

void Broker::OnRun(const std::string& rid, std::string_view body) {
  std::uint64_t req = proto::PeekReq(body);
  nlohmann::json b;
  std::string error;
  if (!ReadBody(body, "RUN", &b, &error)) return ReplyError(rid, req, proto::err::kBadRequest, error);
  const std::string name = Str(b, "workflow");
  if (name.empty()) return ReplyError(rid, req, proto::err::kBadRequest, "RUN: field 'workflow' (str) is required");
  if (!proto::IsValidUtf8(name))
    return ReplyError(rid, req, proto::err::kBadRequest, "RUN: field 'workflow' is not valid UTF-8");
  std::map<std::string, std::string> overrides;
  if (auto p = b.find("params"); p != b.end() && !p->is_null()) {
    if (!p->is_object()) return ReplyError(rid, req, proto::err::kBadRequest, "RUN: field 'params' must be a map");
    for (auto it = p->begin(); it != p->end(); ++it) {
      if (!proto::IsValidUtf8(it.key()))
        return ReplyError(rid, req, proto::err::kBadRequest, "RUN: a params key is not valid UTF-8");
      if (!it->is_string())
        return ReplyError(rid, req, proto::err::kBadRequest, "RUN: params." + it.key() + " must be a string");
      if (!proto::IsValidUtf8(it->get_ref<const std::string&>()))
        return ReplyError(rid, req, proto::err::kBadRequest, "RUN: params." + it.key() + " is not valid UTF-8");
      overrides[it.key()] = it->get<std::string>();
    }
  }
  const workflows::WorkflowDef* w = runs_->registry().Find(name);
  if (w == nullptr)
    return ReplyError(rid, req, proto::err::kNotFound,
                      "no workflow '" + name + "'" +
                          (config_.workflows_path.empty() ? " (the broker has no --workflows registry)"
                                                          : " in " + config_.workflows_path));
  const std::int64_t now = clock_->NowMs();
  Effects fx;
  auto seq = runs_->StartRun(*w, "manual", UtcDay(now), std::nullopt, overrides, now, &fx);
  if (!seq.ok() && seq.status().code() == Code::kInvalidArgument)
    return ReplyError(rid, req, proto::err::kBadRequest, seq.status().message());
  if (!Apply(seq.status(), fx)) return;
  auto run = runs_->FindRun(*seq);
  if (!run.ok()) return ReplyError(rid, req, proto::err::kInternal, run.status().message());
  Logf("run %s of %s started by request", FormatRunId(*seq).c_str(), name.c_str());
  ReplyJson(rid, req, {{"run", runs_->RunJson(**run, false)}});
}

void Broker::OnRuns(const std::string& rid, std::string_view body) {
  std::uint64_t req = proto::PeekReq(body);
  nlohmann::json b;
  std::string error;
  if (!ReadBody(body, "RUNS", &b, &error)) return ReplyError(rid, req, proto::err::kBadRequest, error);
  std::int64_t limit = 50;
  if (auto l = b.find("limit"); l != b.end() && l->is_number_unsigned() && l->get<std::int64_t>() > 0)
    limit = std::min<std::int64_t>(l->get<std::int64_t>(), 10000);
  const std::string state = Str(b, "state");
  RunPhase phase;
  if (!state.empty() && !ParseRunPhase(state, &phase))
    return ReplyError(rid, req, proto::err::kBadRequest, "RUNS: unknown state '" + state + "'");
  auto runs = runs_->ListRuns(Str(b, "workflow"), state, limit);
  if (!runs.ok()) return ReplyError(rid, req, proto::err::kInternal, runs.status().message());
  ReplyJson(rid, req, {{"runs", std::move(*runs)}});
}

void Broker::OnRunStatus(const std::string& rid, std::uint64_t req, std::int64_t run_seq) {
  auto run = runs_->FindRun(run_seq);
  if (!run.ok())
    return ReplyError(rid, req, run.status().code() == Code::kNotFound ? proto::err::kNotFound : proto::err::kInternal,
                      run.status().message());
  nlohmann::json j = runs_->RunJson(**run, true);
  runs_->ForgetRunIfDone(run_seq);
  ReplyJson(rid, req, {{"run", std::move(j)}});
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
  std::uint64_t req = 0;
  if (!ReadReqOnly(rid, static_cast<std::uint8_t>(proto::Command::kSchedules), body, &req)) return;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& w : runs_->registry().workflows) list.push_back(runs_->ScheduleJson(w));
  ReplyJson(rid, req, {{"schedules", std::move(list)}});
}

void Broker::OnPauseResume(const std::string& rid, std::string_view body, bool pause) {
  const char* what = pause ? "PAUSE" : "RESUME";
  std::uint64_t req = proto::PeekReq(body);
  nlohmann::json b;
  std::string error;
  if (!ReadBody(body, what, &b, &error)) return ReplyError(rid, req, proto::err::kBadRequest, error);
  const std::string name = Str(b, "workflow");
  Status s = runs_->SetPaused(name, pause, clock_->NowMs());
  if (s.code() == Code::kNotFound) return ReplyError(rid, req, proto::err::kNotFound, s.message());
  if (!Db(s)) return ReplyError(rid, req, proto::err::kInternal, s.message());
  ReplyJson(rid, req, {{"schedule", runs_->ScheduleJson(*runs_->registry().Find(name))}});
}

void Broker::OnReload(const std::string& rid, std::string_view body) {
  std::uint64_t req = proto::PeekReq(body);
  std::string message;
  Status s = runs_->Reload(clock_->NowMs(), &message);
  if (!s.ok()) return ReplyError(rid, req, proto::err::kBadRequest, message);
  ReplyJson(rid, req, {{"workflows", runs_->registry().workflows.size()}, {"path", config_.workflows_path}});
}

}  // namespace sluice::broker
