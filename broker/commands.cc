// The command handlers: decode the body, call the lifecycle, answer. The
// rules themselves live in lifecycle.cc.
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "broker/broker.h"
#include "broker/log.h"
#include "schemas/job_id.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"
#include "schemas/request_decode.h"

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
  std::unique_ptr<Worker> replaced;
  Worker* added = workers_.Add(std::move(w), &replaced);
  if (replaced) {
    // An old connection of the same worker: its leases that the worker does
    // not list as running either have a result on its way or are gone.
    for (const auto& [seq, attempt] : replaced->leases) {
      bool listed = false;
      for (const auto& p : m.running)
        if (ParseJobId(p.job) == seq && p.attempt == attempt) listed = true;
      auto it = live_.find(seq);
      if (it == live_.end() || it->second.state != JobState::kRunning ||
          it->second.attempt != attempt) {
        // Timed out or cancelled before: the worker is told to stop it
        // (AdoptRunning) and keeps the lease until it reports; not listed,
        // it is gone, and so is its slot of a concurrency key.
        if (listed)
          added->leases.insert({seq, attempt});
        else
          ReleaseKeyIfFree(seq, attempt);
        continue;
      }
      if (!listed) Orphan(it->second, now);
    }
  }
  AdoptRunning(*added, m.running, now);
  Logf("worker %s (host %s, pid %lld) ready: %u slots, queues %zu, kinds %zu, %zu running",
       added->id.c_str(), added->host.c_str(), static_cast<long long>(added->pid), added->slots,
       added->queues.size(), added->kinds.size(), m.running.size());
  dispatch_more_ = true;
}

void Broker::OnHeartbeat(const std::string& rid, std::string_view body) {
  proto::Heartbeat m;
  Status s = proto::Decode(body, &m);
  Worker* w = workers_.ByRoutingId(rid);
  if (w == nullptr) return ReplyError(rid, 0, proto::err::kUnknownWorker, "send READY first");
  if (!s.ok()) {
    counters_.bad_messages++;
    return ReplyError(rid, 0, proto::err::kBadRequest, s.message());
  }
  if (m.slots && *m.slots != w->slots) {
    Logf("worker %s: slots %u -> %u%s", w->id.c_str(), w->slots, *m.slots,
         *m.slots == 0 ? " (draining)" : "");
    w->slots = *m.slots;
    dispatch_more_ = true;
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
  Worker* w = workers_.ByRoutingId(rid);
  if (w == nullptr) {
    // Neither recorded nor ACKed: the worker sends READY, then again its
    // results (PROTOCOL.md §5).
    return ReplyError(rid, 0, proto::err::kUnknownWorker,
                      "send READY first; RESULT " + m.job + " attempt " + std::to_string(m.attempt) +
                          " was not recorded");
  }
  RecordResult(*w, m, clock_->NowMs());
  if (!fatal_.ok()) return;  // not stored: not ACKed
  w->pending_acks.push_back({m.job, m.attempt});
  dispatch_more_ = true;
}

void Broker::OnBye(const std::string& rid, std::string_view body) {
  proto::Bye m;
  (void)proto::Decode(body, &m);
  if (workers_.ByRoutingId(rid) == nullptr) return;
  RemoveWorker(rid, "worker left" + (m.reason.empty() ? std::string() : ": " + m.reason),
               clock_->NowMs());
}

void Broker::OnSubmit(const std::string& rid, std::string_view body) {
  proto::Submit m;
  Status s = proto::Decode(body, &m);
  if (!s.ok()) {
    counters_.bad_messages++;
    return ReplyError(rid, proto::PeekReq(body), proto::err::kBadRequest, s.message());
  }
  if (!Db(store_.Begin())) return;
  const std::int64_t now = clock_->NowMs();
  proto::SubmitReply reply;
  reply.req = m.req;
  reply.jobs.reserve(m.jobs.size());
  for (const auto& spec : m.jobs) {
    reply.jobs.push_back(SubmitOne(spec, now));
    if (!fatal_.ok()) return;
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
  OverlayLive(&**r);
  ReplyJson(rid, req, {{"job", JobJson(**r, true)}});
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
    std::vector<std::int64_t> seqs;
    for (const auto& [seq, j] : live_)
      if (j.state == JobState::kRunning && (f.queue.empty() || j.queue == f.queue) &&
          (f.kind.empty() || j.kind == f.kind))
        seqs.push_back(seq);
    std::sort(seqs.rbegin(), seqs.rend());
    if (static_cast<std::int64_t>(seqs.size()) > f.limit) seqs.resize(f.limit);
    for (std::int64_t seq : seqs) {
      auto rec = store_.Load(seq, false);
      if (!rec.ok() || !rec->has_value()) continue;
      OverlayLive(&**rec);
      jobs.push_back(JobJson(**rec, false));
    }
    return ReplyJson(rid, req, {{"jobs", std::move(jobs)}});
  }
  // Running jobs are stored as queued: fetch enough to drop them and still fill the page.
  std::int64_t running = 0;
  if (f.state == JobState::kQueued)
    for (const auto& [seq, j] : live_) running += j.state == JobState::kRunning;
  const std::int64_t want = f.limit;
  f.limit += running;
  auto rows = store_.List(f);
  if (!rows.ok()) return ReplyError(rid, req, proto::err::kInternal, rows.status().message());
  for (auto& rec : *rows) {
    OverlayLive(&rec);
    if (f.state && rec.job.state != *f.state) continue;
    if (static_cast<std::int64_t>(jobs.size()) == want) break;
    jobs.push_back(JobJson(rec, false));
  }
  ReplyJson(rid, req, {{"jobs", std::move(jobs)}});
}

void Broker::OnRetry(const std::string& rid, std::string_view body) {
  std::uint64_t req = 0;
  std::int64_t seq = 0;
  Status s = ReadJobIdRequest(body, "RETRY", &req, &seq);
  if (s.ok()) s = RetryJob(seq, clock_->NowMs());
  if (!s.ok()) return ReplyError(rid, req ? req : proto::PeekReq(body), ErrCode(s), s.message());
  OnStageJobRetried(seq, clock_->NowMs());  // a stage of a run: the run continues
  auto r = store_.Load(seq, false);
  if (!r.ok() || !r->has_value()) return ReplyError(rid, req, proto::err::kInternal, "job vanished");
  OverlayLive(&**r);
  ReplyJson(rid, req, {{"job", JobJson(**r, false)}});
}

void Broker::OnCancelJob(const std::string& rid, std::string_view body) {
  if (auto run = RequestRunId(body)) return OnRunCancel(rid, proto::PeekReq(body), *run);
  std::uint64_t req = 0;
  std::int64_t seq = 0;
  Status s = ReadJobIdRequest(body, "CANCEL_JOB", &req, &seq);
  if (s.ok()) s = CancelJob(seq, clock_->NowMs());
  if (!s.ok()) return ReplyError(rid, req ? req : proto::PeekReq(body), ErrCode(s), s.message());
  auto r = store_.Load(seq, false);
  if (!r.ok() || !r->has_value()) return ReplyError(rid, req, proto::err::kInternal, "job vanished");
  OverlayLive(&**r);
  ReplyJson(rid, req, {{"job", JobJson(**r, false)}});
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
  workers_.ForEach([&](Worker& w) {
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
  for (int i = 0; i < StateCounts::kStates; ++i)
    by_state[std::string(JobStateName(static_cast<JobState>(i)))] = counts_.total(static_cast<JobState>(i));
  nlohmann::json queues = nlohmann::json::object();
  for (const auto& [q, c] : counts_.live_by_queue())
    queues[q] = {{"scheduled", c[0]}, {"queued", c[1]}, {"running", c[2]}};
  const auto& c = counters_;
  const std::int64_t now = clock_->NowMs();
  nlohmann::json stats = {
      {"jobs", std::move(by_state)},
      {"queues", std::move(queues)},
      {"workers", workers_.size()},
      {"live_jobs", live_.size()},
      {"timers", timers_.size()},
      {"counters",
       {{"submitted", c.submitted}, {"dispatched", c.dispatched}, {"succeeded", c.succeeded},
        {"failed", c.failed}, {"timed_out", c.timed_out}, {"lost", c.lost}, {"dead", c.dead},
        {"cancelled", c.cancelled}, {"retried", c.retried}, {"returned", c.returned},
        {"duplicate_results", c.duplicate_results}, {"bad_messages", c.bad_messages},
        {"commits", c.commits}, {"pruned", c.pruned}, {"runs_started", c.runs_started},
        {"runs_failed", c.runs_failed}, {"store_failures", c.store_failures},
        {"refused_degraded", c.refused_degraded}}},
      {"state_db",
       {{"writable", !degraded_},
        {"error", degraded_ ? degraded_why_ : std::string()},
        {"held_results", held_results_.size()}}},
      {"tasks",
       {{"retention", {{"runs", retention_task_.runs}, {"last_ms", retention_task_.last_ms}}},
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
  auto runs = extract_.Recent(store_.db(), source, static_cast<std::int64_t>(limit == 0 ? 50 : limit));
  if (!runs.ok()) return ReplyError(rid, req, proto::err::kInternal, runs.status().message());
  ReplyJson(rid, req, {{"extractions", std::move(*runs)}});
}

}  // namespace sluice::broker
