#include "schemas/messages.h"

#include <msgpack.hpp>

#include <algorithm>

#include "schemas/msgpack_reader.h"
#include "schemas/msgpack_writer.h"
#include "schemas/protocol.h"

namespace sluice::proto {
namespace {

void PackPairs(Packer& pk, const std::vector<JobAttempt>& v) {
  pk.pack_array(static_cast<std::uint32_t>(v.size()));
  for (const auto& p : v) {
    pk.pack_array(2);
    PackStr(pk, p.job);
    pk.pack(p.attempt);
  }
}

// Reads [[job, attempt], ...].
void ReadPairs(MapReader& r, std::string_view key, std::vector<JobAttempt>* out, std::size_t max,
               bool required) {
  const auto* o = r.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) {
    if (required) r.Fail("missing field '" + std::string(key) + "'");
    return;
  }
  auto bad = [&] { r.Fail("field '" + std::string(key) + "' must be an array of [job, attempt]"); };
  if (o->type != msgpack::type::ARRAY) return bad();
  if (o->via.array.size > max) return r.Fail("field '" + std::string(key) + "' has too many items");
  out->clear();
  out->reserve(o->via.array.size);
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    const auto& e = o->via.array.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 2) return bad();
    const auto& j = e.via.array.ptr[0];
    const auto& a = e.via.array.ptr[1];
    if (j.type != msgpack::type::STR || a.type != msgpack::type::POSITIVE_INTEGER) return bad();
    if (j.via.str.size == 0 || j.via.str.size > kMaxIdBytes || a.via.u64 > UINT32_MAX) return bad();
    out->push_back({std::string(j.via.str.ptr, j.via.str.size), static_cast<std::uint32_t>(a.via.u64)});
  }
}

void ReadId(MapReader& r, std::string_view key, std::string* out) {
  r.Str(key, out, kMaxIdBytes, true);
  if (r.ok() && out->empty()) r.Fail("field '" + std::string(key) + "' must not be empty");
}

void ReadAttempt(MapReader& r, std::uint32_t* out) {
  std::uint64_t v = 0;
  r.Uint(key::kAttempt, &v, true, UINT32_MAX);
  if (r.ok() && v == 0) r.Fail("field 'attempt' must be >= 1");
  *out = static_cast<std::uint32_t>(v);
}

template <typename Fn>
Status DecodeWith(std::string_view body, bool empty_ok, const char* what, Fn fn) {
  if (body.empty() && empty_ok) return Status::Ok();
  msgpack::object_handle h;
  Status s = UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument(std::string(what) + ": " + s.message());
  MapReader r(h.get(), what);
  fn(r);
  return r.status();
}

}  // namespace

void Encode(const Ready& m, std::string* out) {
  MapWriter w(out);
  w.Str(key::kWorker, m.worker);
  w.Str(key::kHost, m.host);
  w.Num(key::kPid, m.pid);
  w.Strs(key::kQueues, m.queues);
  w.Strs(key::kKinds, m.kinds);
  w.Num(key::kSlots, m.slots);
  w.Num(key::kHeartbeatMs, m.heartbeat_ms);
  w.Str(key::kVersion, m.version);
  PackPairs(w.Key(key::kRunning), m.running);
  if (m.prefetch) w.Num(key::kPrefetch, m.prefetch);
  if (m.adaptive) w.Bool(key::kAdaptive, true);
}

Status Decode(std::string_view body, Ready* m) {
  return DecodeWith(body, false, "READY", [&](MapReader& r) {
    r.Str(key::kWorker, &m->worker, kMaxIdBytes, true);
    if (r.ok() && !IsPrintable(m->worker, kMaxIdBytes)) r.Fail("field 'worker' must be printable");
    r.ClampedStr(key::kHost, &m->host, kMaxNameBytes * 4, false);
    r.Int(key::kPid, &m->pid, false, 0, INT32_MAX);
    r.NameList(key::kQueues, &m->queues, kMaxListItems, false);
    r.NameList(key::kKinds, &m->kinds, kMaxListItems, true);
    std::uint64_t v = m->slots;
    r.Uint(key::kSlots, &v, true, kMaxSlots);
    m->slots = static_cast<std::uint32_t>(v);
    v = 0;
    r.Uint(key::kPrefetch, &v, false, kMaxSlots);
    m->prefetch = static_cast<std::uint32_t>(v);
    r.Bool(key::kAdaptive, &m->adaptive, false);
    v = m->heartbeat_ms;
    r.Uint(key::kHeartbeatMs, &v, false, 3600000);
    if (r.ok() && v < 10) r.Fail("field 'heartbeat_ms' must be at least 10");
    m->heartbeat_ms = static_cast<std::uint32_t>(v);
    r.ClampedStr(key::kVersion, &m->version, kMaxNameBytes, false);
    ReadPairs(r, key::kRunning, &m->running, kMaxRunning, false);
    if (r.ok() && m->queues.empty()) m->queues.push_back("default");
  });
}

void Encode(const Heartbeat& m, std::string* out) {
  MapWriter w(out);
  if (m.slots) w.Num(key::kSlots, *m.slots);
}

Status Decode(std::string_view body, Heartbeat* m) {
  return DecodeWith(body, true, "HEARTBEAT", [&](MapReader& r) {
    if (r.Find(key::kSlots) == nullptr) return;
    std::uint64_t v = 0;
    r.Uint(key::kSlots, &v, false, kMaxSlots);
    m->slots = static_cast<std::uint32_t>(v);
  });
}

void Encode(const JobResult& m, std::string* out) {
  MapWriter w(out);
  w.Str(key::kJob, m.job);
  w.Num(key::kAttempt, m.attempt);
  w.Str(key::kOutcome, OutcomeName(m.outcome));
  w.Bool(key::kRetryable, m.retryable);
  w.Raw(key::kOutputs, m.outputs, kEmptyMap);
  if (!m.error.empty()) w.Str(key::kError, m.error);
  if (m.retry_after_ms) w.Num(key::kRetryAfterMs, m.retry_after_ms);
  if (m.exit_code) w.Num(key::kExitCode, *m.exit_code);
  if (!m.stdout_tail.empty()) w.Str(key::kStdout, m.stdout_tail);
  if (!m.stderr_tail.empty()) w.Str(key::kStderr, m.stderr_tail);
}

Status Decode(std::string_view body, JobResult* m) {
  return DecodeWith(body, false, "RESULT", [&](MapReader& r) {
    ReadId(r, key::kJob, &m->job);
    ReadAttempt(r, &m->attempt);
    std::string outcome;
    r.Str(key::kOutcome, &outcome, 32, true);
    if (r.ok()) {
      auto o = ParseOutcome(outcome);
      if (!o) r.Fail("field 'outcome' is not a known outcome: '" + outcome + "'");
      else if (*o == Outcome::kLost) r.Fail("field 'outcome' may not be 'lost' (the broker decides that)");
      else m->outcome = *o;
    }
    r.ClampedStr(key::kError, &m->error, kMaxErrorBytes, false);
    r.Bool(key::kRetryable, &m->retryable, false);
    r.Uint(key::kRetryAfterMs, &m->retry_after_ms, false, 7ull * 24 * 3600 * 1000);
    if (r.Find(key::kExitCode) != nullptr) {
      std::int64_t code = 0;
      r.Int(key::kExitCode, &code, false, INT32_MIN, INT32_MAX);
      m->exit_code = code;
    }
    r.ClampedStr(key::kStdout, &m->stdout_tail, kMaxTailBytes, true);
    r.ClampedStr(key::kStderr, &m->stderr_tail, kMaxTailBytes, true);
    r.RawMap(key::kOutputs, &m->outputs, kMaxOutputsBytes, false, Utf8Policy::kRepair);
  });
}

void Encode(const Bye& m, std::string* out) {
  MapWriter w(out);
  if (!m.reason.empty()) w.Str(key::kReason, m.reason);
}

Status Decode(std::string_view body, Bye* m) {
  return DecodeWith(body, true, "BYE",
                    [&](MapReader& r) { r.ClampedStr(key::kReason, &m->reason, kMaxErrorBytes, false); });
}

void EncodeJob(std::string_view job, std::uint32_t attempt, std::string_view kind,
               std::string_view queue, std::string_view params, std::uint64_t timeout_ms,
               std::string* out) {
  MapWriter w(out);
  w.Str(key::kJob, job);
  w.Num(key::kAttempt, attempt);
  w.Str(key::kKind, kind);
  w.Str(key::kQueue, queue);
  w.Raw(key::kParams, params, kEmptyMap);
  w.Num(key::kTimeoutMs, timeout_ms);
}

void Encode(const JobMsg& m, std::string* out) {
  EncodeJob(m.job, m.attempt, m.kind, m.queue, m.params, m.timeout_ms, out);
}

Status Decode(std::string_view body, JobMsg* m) {
  return DecodeWith(body, false, "JOB", [&](MapReader& r) {
    ReadId(r, key::kJob, &m->job);
    ReadAttempt(r, &m->attempt);
    r.Name(key::kKind, &m->kind, true);
    r.Name(key::kQueue, &m->queue, false);
    r.RawMap(key::kParams, &m->params, kMaxParamsBytes, false);
    r.Uint(key::kTimeoutMs, &m->timeout_ms, false);
  });
}

void Encode(const CancelMsg& m, std::string* out) {
  MapWriter w(out);
  w.Str(key::kJob, m.job);
  w.Num(key::kAttempt, m.attempt);
}

Status Decode(std::string_view body, CancelMsg* m) {
  return DecodeWith(body, false, "CANCEL", [&](MapReader& r) {
    ReadId(r, key::kJob, &m->job);
    ReadAttempt(r, &m->attempt);
  });
}

void Encode(const RecallMsg& m, std::string* out) {
  MapWriter w(out);
  PackPairs(w.Key(key::kJobs), m.jobs);
}

Status Decode(std::string_view body, RecallMsg* m) {
  return DecodeWith(body, false, "RECALL",
                    [&](MapReader& r) { ReadPairs(r, key::kJobs, &m->jobs, 2 * kMaxSlots, true); });
}

void Encode(const DoneMsg& m, std::string* out) {
  MapWriter w(out);
  w.Str(key::kJob, m.job);
  w.Str(key::kState, JobStateName(m.state));
}

Status Decode(std::string_view body, DoneMsg* m) {
  return DecodeWith(body, false, "DONE", [&](MapReader& r) {
    ReadId(r, key::kJob, &m->job);
    std::string state;
    r.Name(key::kState, &state, true);
    if (!r.ok()) return;
    auto parsed = ParseJobState(state);
    if (!parsed) return r.Fail("DONE: unknown state '" + state + "'");
    m->state = *parsed;
  });
}

void Encode(const Ack& m, std::string* out) {
  MapWriter w(out);
  PackPairs(w.Key(key::kAcks), m.acks);
}

Status Decode(std::string_view body, Ack* m) {
  return DecodeWith(body, false, "ACK",
                    [&](MapReader& r) { ReadPairs(r, key::kAcks, &m->acks, 1u << 20, true); });
}

void Encode(const Submit& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  if (m.notify) w.Bool(key::kNotify, true);
  w.Key(key::kJobs).pack_array(static_cast<std::uint32_t>(m.jobs.size()));
  for (const auto& j : m.jobs) {
    MapWriter jw(out);
    jw.Str(key::kKind, j.kind);
    jw.Raw(key::kParams, j.params, kEmptyMap);
    jw.Str(key::kQueue, j.queue);
    if (j.priority) jw.Num(key::kPriority, j.priority);
    if (j.max_attempts) jw.Num(key::kMaxAttempts, j.max_attempts);
    if (j.backoff_ms) jw.Num(key::kBackoffMs, j.backoff_ms);
    if (j.timeout_ms) jw.Num(key::kTimeoutMs, j.timeout_ms);
    if (j.delay_ms) jw.Num(key::kDelayMs, j.delay_ms);
    if (j.run_at_ms) jw.Num(key::kRunAtMs, j.run_at_ms);
    if (!j.key.empty()) jw.Str(key::kKey, j.key);
    if (!j.concurrency_key.empty()) jw.Str(key::kConcurrencyKey, j.concurrency_key);
    if (j.concurrency_limit) jw.Num(key::kConcurrencyLimit, j.concurrency_limit);
  }
}

Status Decode(std::string_view body, Submit* m) {
  msgpack::object_handle h;
  Status s = UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument("SUBMIT: " + s.message());
  MapReader r(h.get(), "SUBMIT");
  r.Uint(key::kReq, &m->req, true);
  r.Bool(key::kNotify, &m->notify, false);
  const auto* jobs = r.Find(key::kJobs);
  if (!r.ok()) return r.status();
  if (jobs == nullptr || jobs->type != msgpack::type::ARRAY)
    return Status::InvalidArgument("SUBMIT: field 'jobs' must be an array");
  if (jobs->via.array.size == 0) return Status::InvalidArgument("SUBMIT: field 'jobs' is empty");
  if (jobs->via.array.size > kMaxJobsPerSubmit)
    return Status::InvalidArgument("SUBMIT: more than " + std::to_string(kMaxJobsPerSubmit) +
                                   " jobs in one message");
  m->jobs.clear();
  m->jobs.resize(jobs->via.array.size);
  for (std::uint32_t i = 0; i < jobs->via.array.size; ++i) {
    JobSpec& j = m->jobs[i];
    MapReader jr(jobs->via.array.ptr[i], "SUBMIT jobs", static_cast<long>(i));
    jr.Name(key::kKind, &j.kind, true);
    jr.RawMap(key::kParams, &j.params, kMaxParamsBytes, false);
    jr.Name(key::kQueue, &j.queue, false);
    jr.Int(key::kPriority, &j.priority, false, kMinPriority, kMaxPriority);
    std::uint64_t v = 0;
    jr.Uint(key::kMaxAttempts, &v, false, kMaxAttempts);
    j.max_attempts = static_cast<std::uint32_t>(v);
    jr.Uint(key::kBackoffMs, &j.backoff_ms, false, kMaxDurationMs);
    jr.Uint(key::kTimeoutMs, &j.timeout_ms, false, kMaxDurationMs);
    jr.Uint(key::kDelayMs, &j.delay_ms, false, kMaxDelayMs);
    jr.Uint(key::kRunAtMs, &j.run_at_ms, false, static_cast<std::uint64_t>(kMaxUnixMs));
    jr.Str(key::kKey, &j.key, kMaxKeyBytes, false);
    jr.Str(key::kConcurrencyKey, &j.concurrency_key, kMaxKeyBytes, false);
    v = 0;
    jr.Uint(key::kConcurrencyLimit, &v, false, kMaxConcurrencyLimit);
    if (jr.ok() && v == 0 && jr.Find(key::kConcurrencyLimit) != nullptr &&
        jr.Find(key::kConcurrencyLimit)->type != msgpack::type::NIL)
      jr.Fail("field 'concurrency_limit' must be 1-" + std::to_string(kMaxConcurrencyLimit) + " (absent: the default)");
    j.concurrency_limit = static_cast<std::uint32_t>(v);
    if (!jr.ok()) return jr.status();
  }
  return Status::Ok();
}

void Encode(const SubmitReply& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  w.Bool(key::kOk, true);
  w.Key(key::kJobs).pack_array(static_cast<std::uint32_t>(m.jobs.size()));
  for (const auto& j : m.jobs) {
    MapWriter jw(out);
    jw.Str(key::kId, j.id);
    jw.Bool(key::kCreated, j.created);
    jw.Str(key::kState, JobStateName(j.state));
  }
}

Status Decode(std::string_view body, SubmitReply* m) {
  msgpack::object_handle h;
  Status s = UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument("SUBMIT reply: " + s.message());
  MapReader r(h.get(), "SUBMIT reply");
  r.Uint(key::kReq, &m->req, true);
  const auto* jobs = r.Find(key::kJobs);
  if (!r.ok()) return r.status();
  if (jobs == nullptr || jobs->type != msgpack::type::ARRAY)
    return Status::InvalidArgument("SUBMIT reply: field 'jobs' must be an array");
  m->jobs.resize(jobs->via.array.size);
  for (std::uint32_t i = 0; i < jobs->via.array.size; ++i) {
    MapReader jr(jobs->via.array.ptr[i], "SUBMIT reply jobs", static_cast<long>(i));
    jr.Str(key::kId, &m->jobs[i].id, kMaxIdBytes, true);
    jr.Bool(key::kCreated, &m->jobs[i].created, false);
    std::string st;
    jr.Str(key::kState, &st, 32, false);
    if (!jr.ok()) return jr.status();
    if (auto ps = ParseJobState(st)) m->jobs[i].state = *ps;
  }
  return Status::Ok();
}

void Encode(const ErrorMsg& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  w.Bool(key::kOk, false);
  w.Str(key::kCode, m.code);
  w.Str(key::kMessage, m.message);
  if (!m.job.empty() && m.attempt > 0) {
    w.Str(key::kJob, m.job);
    w.Num(key::kAttempt, m.attempt);
  }
}

Status Decode(std::string_view body, ErrorMsg* m) {
  return DecodeWith(body, false, "ERROR", [&](MapReader& r) {
    r.Uint(key::kReq, &m->req, false);
    r.Str(key::kCode, &m->code, 64, true);
    r.ClampedStr(key::kMessage, &m->message, kMaxErrorBytes, false);
    if (r.Find(key::kJob) != nullptr) {
      r.Str(key::kJob, &m->job, kMaxIdBytes, false);
      std::uint64_t attempt = 0;
      r.Uint(key::kAttempt, &attempt, false, UINT32_MAX);
      m->attempt = static_cast<std::uint32_t>(attempt);
    }
  });
}

namespace {

// Reads the top-level `req`, `job` and `attempt` of a body and nothing
// else. It builds nothing and gives up at the first value nested deeper
// than kMaxDepth or the first malformed byte, by which time the fields
// written before it have been read: EncodeJob writes `job` and `attempt`
// before `params`, clients write `req` first.
class TopLevelPeek : public msgpack::null_visitor {
 public:
  bool visit_str(const char* p, std::uint32_t n) {
    if (depth_ != 1) return true;
    if (in_key_) key_.assign(p, std::min<std::uint32_t>(n, 16));
    else if (key_ == key::kJob && n <= kMaxIdBytes) job.assign(p, n);
    return true;
  }
  bool visit_positive_integer(std::uint64_t v) {
    if (depth_ != 1 || in_key_) return true;
    if (key_ == key::kAttempt) attempt = v;
    else if (key_ == key::kReq) req = v;
    return true;
  }
  bool start_array(std::uint32_t) { return ++depth_ <= kMaxDepth; }
  bool end_array() { --depth_; return true; }
  bool start_map(std::uint32_t) { return ++depth_ <= kMaxDepth; }
  bool end_map() { --depth_; return true; }
  bool start_map_key() {
    if (depth_ == 1) in_key_ = true, key_.clear();
    return true;
  }
  bool end_map_key() {
    if (depth_ == 1) in_key_ = false;
    return true;
  }

  // Walks `body` as far as it goes.
  void Run(std::string_view body) {
    try {
      std::size_t off = 0;
      (void)msgpack::parse(body.data(), body.size(), off, *this);
    } catch (const std::exception&) {
      // what was read before the error stands
    }
  }

  std::uint64_t req = 0;
  std::string job;
  std::uint64_t attempt = 0;

 private:
  std::size_t depth_ = 0;
  bool in_key_ = false;
  std::string key_;
};

}  // namespace

Status PeekAttempt(std::string_view body, JobAttempt* out) {
  TopLevelPeek peek;
  peek.Run(body);
  if (peek.job.empty() || peek.attempt == 0 || peek.attempt > UINT32_MAX)
    return Status::InvalidArgument("no job and attempt at the top of the body");
  out->job = std::move(peek.job);
  out->attempt = static_cast<std::uint32_t>(peek.attempt);
  return Status::Ok();
}

std::uint64_t PeekReq(std::string_view body) {
  TopLevelPeek peek;
  peek.Run(body);
  return peek.req;
}

}  // namespace sluice::proto
