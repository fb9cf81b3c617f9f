#include "schemas/messages.h"

#include <msgpack.hpp>

#include <algorithm>

#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"

namespace sluice::proto {
namespace {

struct StringSink {
  std::string* s;
  void write(const char* p, std::size_t n) { s->append(p, n); }
};
using Packer = msgpack::packer<StringSink>;

void Key(Packer& pk, std::string_view k) { pk.pack_str(static_cast<std::uint32_t>(k.size())); pk.pack_str_body(k.data(), static_cast<std::uint32_t>(k.size())); }
void Str(Packer& pk, std::string_view v) { Key(pk, v); }
void KStr(Packer& pk, std::string_view k, std::string_view v) { Key(pk, k); Str(pk, v); }
template <typename T>
void KNum(Packer& pk, std::string_view k, T v) { Key(pk, k); pk.pack(v); }
// A raw, already-encoded msgpack value.
void KRaw(Packer& pk, StringSink& sink, std::string_view k, const std::string& raw) {
  Key(pk, k);
  sink.write(raw.data(), raw.size());
}
void PackPairs(Packer& pk, const std::vector<JobAttempt>& v) {
  pk.pack_array(static_cast<std::uint32_t>(v.size()));
  for (const auto& p : v) {
    pk.pack_array(2);
    Str(pk, p.job);
    pk.pack(p.attempt);
  }
}
void PackNames(Packer& pk, const std::vector<std::string>& v) {
  pk.pack_array(static_cast<std::uint32_t>(v.size()));
  for (const auto& s : v) Str(pk, s);
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
  r.Uint("attempt", &v, true, UINT32_MAX);
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
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(m.prefetch ? 10 : 9);
  KStr(pk, "worker", m.worker);
  KStr(pk, "host", m.host);
  KNum(pk, "pid", m.pid);
  Key(pk, "queues");
  PackNames(pk, m.queues);
  Key(pk, "kinds");
  PackNames(pk, m.kinds);
  KNum(pk, "slots", m.slots);
  KNum(pk, "heartbeat_ms", m.heartbeat_ms);
  KStr(pk, "version", m.version);
  Key(pk, "running");
  PackPairs(pk, m.running);
  if (m.prefetch) KNum(pk, "prefetch", m.prefetch);
}

Status Decode(std::string_view body, Ready* m) {
  return DecodeWith(body, false, "READY", [&](MapReader& r) {
    r.Str("worker", &m->worker, kMaxIdBytes, true);
    if (r.ok() && !IsPrintable(m->worker, kMaxIdBytes)) r.Fail("field 'worker' must be printable");
    r.ClampedStr("host", &m->host, kMaxNameBytes * 4, false);
    r.Int("pid", &m->pid, false, 0, INT32_MAX);
    r.NameList("queues", &m->queues, kMaxListItems, false);
    r.NameList("kinds", &m->kinds, kMaxListItems, true);
    std::uint64_t v = m->slots;
    r.Uint("slots", &v, true, kMaxSlots);
    m->slots = static_cast<std::uint32_t>(v);
    v = 0;
    r.Uint("prefetch", &v, false, kMaxSlots);
    m->prefetch = static_cast<std::uint32_t>(v);
    v = m->heartbeat_ms;
    r.Uint("heartbeat_ms", &v, false, 3600000);
    if (r.ok() && v < 10) r.Fail("field 'heartbeat_ms' must be at least 10");
    m->heartbeat_ms = static_cast<std::uint32_t>(v);
    r.ClampedStr("version", &m->version, kMaxNameBytes, false);
    ReadPairs(r, "running", &m->running, kMaxRunning, false);
    if (r.ok() && m->queues.empty()) m->queues.push_back("default");
  });
}

void Encode(const Heartbeat& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(m.slots ? 1 : 0);
  if (m.slots) KNum(pk, "slots", *m.slots);
}

Status Decode(std::string_view body, Heartbeat* m) {
  return DecodeWith(body, true, "HEARTBEAT", [&](MapReader& r) {
    if (r.Find("slots") == nullptr) return;
    std::uint64_t v = 0;
    r.Uint("slots", &v, false, kMaxSlots);
    m->slots = static_cast<std::uint32_t>(v);
  });
}

void Encode(const JobResult& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  std::uint32_t n = 5 + (m.error.empty() ? 0 : 1) + (m.retry_after_ms ? 1 : 0) +
                    (m.exit_code ? 1 : 0) + (m.stdout_tail.empty() ? 0 : 1) +
                    (m.stderr_tail.empty() ? 0 : 1);
  pk.pack_map(n);
  KStr(pk, "job", m.job);
  KNum(pk, "attempt", m.attempt);
  KStr(pk, "outcome", OutcomeName(m.outcome));
  Key(pk, "retryable");
  pk.pack(m.retryable);
  KRaw(pk, sink, "outputs", m.outputs.empty() ? kEmptyMap : m.outputs);
  if (!m.error.empty()) KStr(pk, "error", m.error);
  if (m.retry_after_ms) KNum(pk, "retry_after_ms", m.retry_after_ms);
  if (m.exit_code) KNum(pk, "exit_code", *m.exit_code);
  if (!m.stdout_tail.empty()) KStr(pk, "stdout", m.stdout_tail);
  if (!m.stderr_tail.empty()) KStr(pk, "stderr", m.stderr_tail);
}

Status Decode(std::string_view body, JobResult* m) {
  return DecodeWith(body, false, "RESULT", [&](MapReader& r) {
    ReadId(r, "job", &m->job);
    ReadAttempt(r, &m->attempt);
    std::string outcome;
    r.Str("outcome", &outcome, 32, true);
    if (r.ok()) {
      auto o = ParseOutcome(outcome);
      if (!o) r.Fail("field 'outcome' is not a known outcome: '" + outcome + "'");
      else if (*o == Outcome::kLost) r.Fail("field 'outcome' may not be 'lost' (the broker decides that)");
      else m->outcome = *o;
    }
    r.ClampedStr("error", &m->error, kMaxErrorBytes, false);
    r.Bool("retryable", &m->retryable, false);
    r.Uint("retry_after_ms", &m->retry_after_ms, false, 7ull * 24 * 3600 * 1000);
    if (r.Find("exit_code") != nullptr) {
      std::int64_t code = 0;
      r.Int("exit_code", &code, false, INT32_MIN, INT32_MAX);
      m->exit_code = code;
    }
    r.ClampedStr("stdout", &m->stdout_tail, kMaxTailBytes, true);
    r.ClampedStr("stderr", &m->stderr_tail, kMaxTailBytes, true);
    r.RawMap("outputs", &m->outputs, kMaxOutputsBytes, false, Utf8Policy::kRepair);
  });
}

void Encode(const Bye& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(m.reason.empty() ? 0 : 1);
  if (!m.reason.empty()) KStr(pk, "reason", m.reason);
}

Status Decode(std::string_view body, Bye* m) {
  return DecodeWith(body, true, "BYE",
                    [&](MapReader& r) { r.ClampedStr("reason", &m->reason, kMaxErrorBytes, false); });
}

void EncodeJob(std::string_view job, std::uint32_t attempt, std::string_view kind,
               std::string_view queue, std::string_view params, std::uint64_t timeout_ms,
               std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(6);
  KStr(pk, "job", job);
  KNum(pk, "attempt", attempt);
  KStr(pk, "kind", kind);
  KStr(pk, "queue", queue);
  Key(pk, "params");
  if (params.empty()) params = kEmptyMap;
  sink.write(params.data(), params.size());
  KNum(pk, "timeout_ms", timeout_ms);
}

void Encode(const JobMsg& m, std::string* out) {
  EncodeJob(m.job, m.attempt, m.kind, m.queue, m.params, m.timeout_ms, out);
}

Status Decode(std::string_view body, JobMsg* m) {
  return DecodeWith(body, false, "JOB", [&](MapReader& r) {
    ReadId(r, "job", &m->job);
    ReadAttempt(r, &m->attempt);
    r.Name("kind", &m->kind, true);
    r.Name("queue", &m->queue, false);
    r.RawMap("params", &m->params, kMaxParamsBytes, false);
    r.Uint("timeout_ms", &m->timeout_ms, false);
  });
}

void Encode(const CancelMsg& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(2);
  KStr(pk, "job", m.job);
  KNum(pk, "attempt", m.attempt);
}

Status Decode(std::string_view body, CancelMsg* m) {
  return DecodeWith(body, false, "CANCEL", [&](MapReader& r) {
    ReadId(r, "job", &m->job);
    ReadAttempt(r, &m->attempt);
  });
}

void Encode(const Ack& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(1);
  Key(pk, "acks");
  PackPairs(pk, m.acks);
}

Status Decode(std::string_view body, Ack* m) {
  return DecodeWith(body, false, "ACK",
                    [&](MapReader& r) { ReadPairs(r, "acks", &m->acks, 1u << 20, true); });
}

void Encode(const Submit& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(2);
  KNum(pk, "req", m.req);
  Key(pk, "jobs");
  pk.pack_array(static_cast<std::uint32_t>(m.jobs.size()));
  for (const auto& j : m.jobs) {
    std::uint32_t n = 3 + (j.priority ? 1 : 0) + (j.max_attempts ? 1 : 0) + (j.backoff_ms ? 1 : 0) +
                      (j.timeout_ms ? 1 : 0) + (j.delay_ms ? 1 : 0) + (j.run_at_ms ? 1 : 0) +
                      (j.key.empty() ? 0 : 1) + (j.concurrency_key.empty() ? 0 : 1) +
                      (j.concurrency_limit ? 1 : 0);
    pk.pack_map(n);
    KStr(pk, "kind", j.kind);
    KRaw(pk, sink, "params", j.params.empty() ? kEmptyMap : j.params);
    KStr(pk, "queue", j.queue);
    if (j.priority) KNum(pk, "priority", j.priority);
    if (j.max_attempts) KNum(pk, "max_attempts", j.max_attempts);
    if (j.backoff_ms) KNum(pk, "backoff_ms", j.backoff_ms);
    if (j.timeout_ms) KNum(pk, "timeout_ms", j.timeout_ms);
    if (j.delay_ms) KNum(pk, "delay_ms", j.delay_ms);
    if (j.run_at_ms) KNum(pk, "run_at_ms", j.run_at_ms);
    if (!j.key.empty()) KStr(pk, "key", j.key);
    if (!j.concurrency_key.empty()) KStr(pk, "concurrency_key", j.concurrency_key);
    if (j.concurrency_limit) KNum(pk, "concurrency_limit", j.concurrency_limit);
  }
}

Status Decode(std::string_view body, Submit* m) {
  msgpack::object_handle h;
  Status s = UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument("SUBMIT: " + s.message());
  MapReader r(h.get(), "SUBMIT");
  r.Uint("req", &m->req, true);
  const auto* jobs = r.Find("jobs");
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
    jr.Name("kind", &j.kind, true);
    jr.RawMap("params", &j.params, kMaxParamsBytes, false);
    jr.Name("queue", &j.queue, false);
    jr.Int("priority", &j.priority, false, kMinPriority, kMaxPriority);
    std::uint64_t v = 0;
    jr.Uint("max_attempts", &v, false, kMaxAttempts);
    j.max_attempts = static_cast<std::uint32_t>(v);
    jr.Uint("backoff_ms", &j.backoff_ms, false, kMaxDurationMs);
    jr.Uint("timeout_ms", &j.timeout_ms, false, kMaxDurationMs);
    jr.Uint("delay_ms", &j.delay_ms, false, kMaxDelayMs);
    jr.Uint("run_at_ms", &j.run_at_ms, false, static_cast<std::uint64_t>(kMaxUnixMs));
    jr.Str("key", &j.key, kMaxKeyBytes, false);
    jr.Str("concurrency_key", &j.concurrency_key, kMaxKeyBytes, false);
    v = 0;
    jr.Uint("concurrency_limit", &v, false, 100000);
    if (jr.ok() && v == 0 && jr.Find("concurrency_limit") != nullptr &&
        jr.Find("concurrency_limit")->type != msgpack::type::NIL)
      jr.Fail("field 'concurrency_limit' must be 1-100000 (absent: the default)");
    j.concurrency_limit = static_cast<std::uint32_t>(v);
    if (!jr.ok()) return jr.status();
  }
  return Status::Ok();
}

void Encode(const SubmitReply& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_map(3);
  KNum(pk, "req", m.req);
  Key(pk, "ok");
  pk.pack(true);
  Key(pk, "jobs");
  pk.pack_array(static_cast<std::uint32_t>(m.jobs.size()));
  for (const auto& j : m.jobs) {
    pk.pack_map(3);
    KStr(pk, "id", j.id);
    Key(pk, "created");
    pk.pack(j.created);
    KStr(pk, "state", JobStateName(j.state));
  }
}

Status Decode(std::string_view body, SubmitReply* m) {
  msgpack::object_handle h;
  Status s = UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument("SUBMIT reply: " + s.message());
  MapReader r(h.get(), "SUBMIT reply");
  r.Uint("req", &m->req, true);
  const auto* jobs = r.Find("jobs");
  if (!r.ok()) return r.status();
  if (jobs == nullptr || jobs->type != msgpack::type::ARRAY)
    return Status::InvalidArgument("SUBMIT reply: field 'jobs' must be an array");
  m->jobs.resize(jobs->via.array.size);
  for (std::uint32_t i = 0; i < jobs->via.array.size; ++i) {
    MapReader jr(jobs->via.array.ptr[i], "SUBMIT reply jobs", static_cast<long>(i));
    jr.Str("id", &m->jobs[i].id, kMaxIdBytes, true);
    jr.Bool("created", &m->jobs[i].created, false);
    std::string st;
    jr.Str("state", &st, 32, false);
    if (!jr.ok()) return jr.status();
    if (auto ps = ParseJobState(st)) m->jobs[i].state = *ps;
  }
  return Status::Ok();
}

void Encode(const ErrorMsg& m, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  const bool names_attempt = !m.job.empty() && m.attempt > 0;
  pk.pack_map(names_attempt ? 6 : 4);
  KNum(pk, "req", m.req);
  Key(pk, "ok");
  pk.pack(false);
  KStr(pk, "code", m.code);
  KStr(pk, "message", m.message);
  if (names_attempt) {
    KStr(pk, "job", m.job);
    KNum(pk, "attempt", m.attempt);
  }
}

Status Decode(std::string_view body, ErrorMsg* m) {
  return DecodeWith(body, false, "ERROR", [&](MapReader& r) {
    r.Uint("req", &m->req, false);
    r.Str("code", &m->code, 64, true);
    r.ClampedStr("message", &m->message, kMaxErrorBytes, false);
    if (r.Find("job") != nullptr) {
      r.Str("job", &m->job, kMaxIdBytes, false);
      std::uint64_t attempt = 0;
      r.Uint("attempt", &attempt, false, UINT32_MAX);
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
    else if (key_ == "job" && n <= kMaxIdBytes) job.assign(p, n);
    return true;
  }
  bool visit_positive_integer(std::uint64_t v) {
    if (depth_ != 1 || in_key_) return true;
    if (key_ == "attempt") attempt = v;
    else if (key_ == "req") req = v;
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
