#include "schemas/replies.h"

#include <msgpack.hpp>

#include "schemas/msgpack_json.h"
#include "schemas/msgpack_reader.h"
#include "schemas/msgpack_writer.h"
#include "schemas/protocol.h"
#include "schemas/utf8.h"

namespace sluice::proto {
namespace {

using json = nlohmann::json;

// ---- decoding helpers --------------------------------------------------

// "what[index]" or "what".
std::string Where(std::string_view what, long index) {
  std::string w(what);
  if (index >= 0) w += "[" + std::to_string(index) + "]";
  return w;
}

// `s` from a nested value, as seen from the reader at `what[index]`.
Status Nested(std::string_view what, long index, const Status& s) {
  return Status::InvalidArgument(Where(what, index) + ": " + s.message());
}

bool Present(const MapReader& r, std::string_view key) {
  const msgpack::object* o = r.Find(key);
  return o != nullptr && o->type != msgpack::type::NIL;
}

// Free text: clamped, repaired, never refused for its content (nil: "").
void Text(MapReader& r, std::string_view key, std::string* out) {
  r.ClampedStr(key, out, kMaxReplyTextBytes, false);
}
void OptText(MapReader& r, std::string_view key, std::optional<std::string>* out) {
  if (!Present(r, key)) return;
  std::string v;
  Text(r, key, &v);
  *out = std::move(v);
}
void Int(MapReader& r, std::string_view key, std::int64_t* out) {
  r.Int(key, out, false, INT64_MIN, INT64_MAX);
}
void OptInt(MapReader& r, std::string_view key, std::optional<std::int64_t>* out) {
  if (!Present(r, key)) return;
  std::int64_t v = 0;
  Int(r, key, &v);
  *out = v;
}
void U32(MapReader& r, std::string_view key, std::uint32_t* out) {
  std::uint64_t v = *out;
  r.Uint(key, &v, false, UINT32_MAX);
  *out = static_cast<std::uint32_t>(v);
}
// An id or a state: a UTF-8 str of bounded length, required.
void Ident(MapReader& r, std::string_view key, std::string* out, std::size_t max) {
  r.Str(key, out, max, true);
}
// An array of strs (names, dependencies), each clamped.
void Strs(MapReader& r, std::string_view key, std::vector<std::string>* out) {
  const msgpack::object* o = r.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  if (o->type != msgpack::type::ARRAY)
    return r.Fail("field '" + std::string(key) + "' must be an array of strings");
  if (o->via.array.size > kMaxReplyItems)
    return r.Fail("field '" + std::string(key) + "' has more than " +
                  std::to_string(kMaxReplyItems) + " items");
  out->clear();
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    const msgpack::object& e = o->via.array.ptr[i];
    if (e.type != msgpack::type::STR)
      return r.Fail("field '" + std::string(key) + "' must be an array of strings");
    out->push_back(RepairAndClampUtf8(std::string_view(e.via.str.ptr, e.via.str.size),
                                      kMaxReplyTextBytes, false));
  }
}
// Any one value, re-encoded as it came ("" for nil). The body's nesting is
// bounded (UnpackBody), so is packing it.
void RawValue(MapReader& r, std::string_view key, std::string* out) {
  const msgpack::object* o = r.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  out->clear();
  StringSink sink{out};
  Packer pk(sink);
  pk.pack(*o);
}

// Reads one object of type V from `o` at `what[index]`.
template <typename V>
using ReadFn = Status (*)(const msgpack::object& o, std::string_view what, long index, V* out);

// An array of objects at `key`: absent or nil is empty unless required.
template <typename V>
Status List(MapReader& r, std::string_view key, bool required, std::vector<V>* out, ReadFn<V> read) {
  const msgpack::object* o = r.Find(key);
  if (!r.ok()) return r.status();
  if (o == nullptr || o->type == msgpack::type::NIL) {
    if (required) r.Fail("missing field '" + std::string(key) + "'");
    return r.status();
  }
  if (o->type != msgpack::type::ARRAY) {
    r.Fail("field '" + std::string(key) + "' must be an array");
    return r.status();
  }
  if (o->via.array.size > kMaxReplyItems) {
    r.Fail("field '" + std::string(key) + "' has more than " + std::to_string(kMaxReplyItems) +
           " items");
    return r.status();
  }
  out->clear();
  out->resize(o->via.array.size);
  for (std::uint32_t i = 0; i < o->via.array.size; ++i)
    if (Status s = read(o->via.array.ptr[i], key, static_cast<long>(i), &(*out)[i]); !s.ok())
      return s;
  return Status::Ok();
}

// One object at `key`, required.
template <typename V>
Status Object(MapReader& r, std::string_view key, V* out, ReadFn<V> read) {
  const msgpack::object* o = r.Find(key);
  if (!r.ok()) return r.status();
  if (o == nullptr || o->type == msgpack::type::NIL) {
    r.Fail("missing field '" + std::string(key) + "'");
    return r.status();
  }
  return read(*o, key, -1, out);
}

// A reply body: {req, ok, ...}; `fn(reader)` reads the rest and returns
// the first problem of a nested value (already named from the body's top).
template <typename Fn>
Status DecodeReply(std::string_view body, const char* what, std::uint64_t* req, Fn fn) {
  msgpack::object_handle h;
  if (Status s = UnpackBody(body, &h); !s.ok())
    return Status::InvalidArgument(std::string(what) + ": " + s.message());
  MapReader r(h.get(), what);
  r.Uint(key::kReq, req, true);
  bool ok = true;
  r.Bool(key::kOk, &ok, false);
  if (r.ok() && !ok) r.Fail("field 'ok' is false (an ERROR, not a REPLY)");
  if (!r.ok()) return r.status();
  Status s = fn(r);
  if (!r.ok()) return r.status();
  if (!s.ok()) return Nested(what, -1, s);
  return Status::Ok();
}

// ---- the views ---------------------------------------------------------

Status ReadAttempt(const msgpack::object& o, std::string_view what, long index, AttemptView* a) {
  MapReader r(o, what, index);
  U32(r, key::kAttempt, &a->attempt);
  Text(r, key::kWorker, &a->worker);
  Text(r, key::kHost, &a->host);
  Int(r, key::kStartedMs, &a->started_ms);
  OptInt(r, key::kFinishedMs, &a->finished_ms);
  Text(r, key::kOutcome, &a->outcome);
  Text(r, key::kError, &a->error);
  OptInt(r, key::kExitCode, &a->exit_code);
  Text(r, key::kStdout, &a->stdout_tail);
  Text(r, key::kStderr, &a->stderr_tail);
  return r.status();
}

Status ReadJob(const msgpack::object& o, std::string_view what, long index, JobView* j) {
  MapReader r(o, what, index);
  Ident(r, key::kId, &j->id, kMaxIdBytes);
  Ident(r, key::kState, &j->state, kMaxStateBytes);
  Text(r, key::kKind, &j->kind);
  Text(r, key::kQueue, &j->queue);
  Int(r, key::kPriority, &j->priority);
  U32(r, key::kAttempt, &j->attempt);
  U32(r, key::kFailures, &j->failures);
  U32(r, key::kMaxAttempts, &j->max_attempts);
  r.Uint(key::kBackoffMs, &j->backoff_ms, false);
  r.Uint(key::kTimeoutMs, &j->timeout_ms, false);
  Int(r, key::kRunAtMs, &j->run_at_ms);
  Int(r, key::kCreatedMs, &j->created_ms);
  Int(r, key::kUpdatedMs, &j->updated_ms);
  OptInt(r, key::kFinishedMs, &j->finished_ms);
  Text(r, key::kKey, &j->key);
  Text(r, key::kError, &j->error);
  Text(r, key::kConcurrencyKey, &j->concurrency_key);
  U32(r, key::kConcurrencyLimit, &j->concurrency_limit);
  Text(r, key::kWaiting, &j->waiting);
  j->detail = r.Find(key::kAttempts) != nullptr || r.Find(key::kParams) != nullptr ||
              r.Find(key::kOutputs) != nullptr;
  RawValue(r, key::kParams, &j->params);
  RawValue(r, key::kOutputs, &j->outputs);
  if (Status s = List<AttemptView>(r, key::kAttempts, false, &j->attempts, ReadAttempt); !s.ok())
    return r.ok() ? Nested(what, index, s) : s;
  return r.status();
}

Status ReadStage(const msgpack::object& o, std::string_view what, long index, StageView* st) {
  MapReader r(o, what, index);
  Text(r, key::kName, &st->name);
  Text(r, key::kKind, &st->kind);
  Text(r, key::kState, &st->state);
  Text(r, key::kJob, &st->job);
  U32(r, key::kAttempt, &st->attempt);
  OptInt(r, key::kStartedMs, &st->started_ms);
  OptInt(r, key::kFinishedMs, &st->finished_ms);
  Text(r, key::kError, &st->error);
  Strs(r, key::kDependsOn, &st->depends_on);
  Text(r, key::kQueue, &st->queue);
  r.Bool(key::kKindServed, &st->kind_served, false);
  return r.status();
}

Status ReadRun(const msgpack::object& o, std::string_view what, long index, RunView* run) {
  MapReader r(o, what, index);
  Ident(r, key::kId, &run->id, kMaxIdBytes);
  Ident(r, key::kState, &run->state, kMaxStateBytes);
  Text(r, key::kWorkflow, &run->workflow);
  Text(r, key::kTrigger, &run->trigger);
  Text(r, key::kLogicalDate, &run->logical_date);
  Text(r, key::kSlot, &run->slot);
  if (const msgpack::object* p = r.Find(key::kParams); p != nullptr && p->type != msgpack::type::NIL) {
    if (p->type != msgpack::type::MAP) {
      r.Fail("field 'params' must be a map of strings");
    } else if (p->via.map.size > kMaxReplyItems) {
      r.Fail("field 'params' has more than " + std::to_string(kMaxReplyItems) + " entries");
    } else {
      run->params.clear();
      for (std::uint32_t i = 0; i < p->via.map.size && r.ok(); ++i) {
        const msgpack::object_kv& kv = p->via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR) {
          r.Fail("field 'params' must be a map of strings");
          break;
        }
        run->params[RepairAndClampUtf8({kv.key.via.str.ptr, kv.key.via.str.size}, kMaxReplyTextBytes,
                                       false)] =
            RepairAndClampUtf8({kv.val.via.str.ptr, kv.val.via.str.size}, kMaxReplyTextBytes, false);
      }
    }
  }
  Int(r, key::kCreatedMs, &run->created_ms);
  OptInt(r, key::kStartedMs, &run->started_ms);
  OptInt(r, key::kFinishedMs, &run->finished_ms);
  if (Status s = List<StageView>(r, key::kStages, false, &run->stages, ReadStage); !s.ok())
    return r.ok() ? Nested(what, index, s) : s;
  return r.status();
}

// [[job, attempt], ...]
void ReadRunning(MapReader& r, std::vector<JobAttempt>* out) {
  const msgpack::object* o = r.Find(key::kRunning);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  auto bad = [&] { r.Fail("field 'running' must be an array of [job, attempt]"); };
  if (o->type != msgpack::type::ARRAY) return bad();
  if (o->via.array.size > kMaxReplyItems)
    return r.Fail("field 'running' has more than " + std::to_string(kMaxReplyItems) + " items");
  out->clear();
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    const msgpack::object& e = o->via.array.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 2) return bad();
    const msgpack::object& j = e.via.array.ptr[0];
    const msgpack::object& a = e.via.array.ptr[1];
    if (j.type != msgpack::type::STR || j.via.str.size > kMaxIdBytes ||
        a.type != msgpack::type::POSITIVE_INTEGER || a.via.u64 > UINT32_MAX)
      return bad();
    out->push_back({RepairAndClampUtf8({j.via.str.ptr, j.via.str.size}, kMaxIdBytes, false),
                    static_cast<std::uint32_t>(a.via.u64)});
  }
}

Status ReadWorker(const msgpack::object& o, std::string_view what, long index, WorkerView* w) {
  MapReader r(o, what, index);
  r.Str(key::kWorker, &w->worker, kMaxIdBytes, true);
  Text(r, key::kHost, &w->host);
  Int(r, key::kPid, &w->pid);
  Strs(r, key::kQueues, &w->queues);
  Strs(r, key::kKinds, &w->kinds);
  U32(r, key::kSlots, &w->slots);
  U32(r, key::kPrefetch, &w->prefetch);
  r.Bool(key::kAdaptive, &w->adaptive, false);
  U32(r, key::kWindow, &w->window);
  r.Uint(key::kBusy, &w->busy, false);
  Text(r, key::kVersion, &w->version);
  Int(r, key::kConnectedMs, &w->connected_ms);
  Int(r, key::kLastSeenMs, &w->last_seen_ms);
  ReadRunning(r, &w->running);
  Text(r, key::kKey, &w->key);
  return r.status();
}

Status ReadUnserved(const msgpack::object& o, std::string_view what, long index, UnservedStage* u) {
  MapReader r(o, what, index);
  Text(r, key::kStage, &u->stage);
  Text(r, key::kKind, &u->kind);
  Text(r, key::kQueue, &u->queue);
  return r.status();
}

Status ReadSchedule(const msgpack::object& o, std::string_view what, long index, ScheduleView* e) {
  MapReader r(o, what, index);
  r.Str(key::kWorkflow, &e->workflow, kMaxNameBytes, true);
  Text(r, key::kSchedule, &e->schedule);
  r.Bool(key::kPaused, &e->paused, false);
  Text(r, key::kCatchUp, &e->catch_up);
  U32(r, key::kMaxActiveRuns, &e->max_active_runs);
  Text(r, key::kNextFire, &e->next_fire);
  Text(r, key::kLastFire, &e->last_fire);
  U32(r, key::kActiveRuns, &e->active_runs);
  if (Status s = List<UnservedStage>(r, key::kUnservedStages, false, &e->unserved_stages, ReadUnserved);
      !s.ok())
    return r.ok() ? Nested(what, index, s) : s;
  return r.status();
}

Status ReadExtraction(const msgpack::object& o, std::string_view what, long index, ExtractionRow* x) {
  MapReader r(o, what, index);
  r.Int(key::kRunId, &x->run_id, true, INT64_MIN, INT64_MAX);
  OptText(r, key::kExtractor, &x->extractor);
  OptText(r, key::kStartedAt, &x->started_at);
  OptText(r, key::kFinishedAt, &x->finished_at);
  OptText(r, key::kStatus, &x->status);
  Int(r, key::kFilesWritten, &x->files_written);
  Int(r, key::kFilesSkipped, &x->files_skipped);
  Int(r, key::kBytesWritten, &x->bytes_written);
  OptText(r, key::kCursorValue, &x->cursor_value);
  OptText(r, key::kErrorMessage, &x->error_message);
  OptText(r, key::kJobId, &x->job_id);
  Int(r, key::kAttempt, &x->attempt);
  OptText(r, key::kSource, &x->source);
  OptText(r, key::kUrl, &x->url);
  return r.status();
}

// Converts a msgpack object to JSON through its bytes (bounded as any
// decoding is: msgpack_json.h).
Status ReadStats(const msgpack::object& o, std::string_view what, long index, StatsView* v) {
  if (o.type != msgpack::type::MAP) return Status::InvalidArgument(Where(what, index) + ": must be a map");
  std::string bytes;
  StringSink sink{&bytes};
  Packer pk(sink);
  pk.pack(o);
  auto j = MsgpackToJson(bytes);
  if (!j.ok()) return Status::InvalidArgument(Where(what, index) + ": " + j.status().message());
  v->doc = std::move(j).value();
  return Status::Ok();
}

// ---- encoding ----------------------------------------------------------
// Keys in byte order, as the broker's JSON objects (std::map) have them.

void Put(MapWriter& w, const AttemptView& a);
void Put(MapWriter& w, const JobView& j);
void Put(MapWriter& w, const StageView& s);
void Put(MapWriter& w, const RunView& r);
void Put(MapWriter& w, const WorkerView& v);
void Put(MapWriter& w, const UnservedStage& u);
void Put(MapWriter& w, const ScheduleView& e);
void Put(MapWriter& w, const ExtractionRow& x);

void Put(MapWriter& w, const AttemptView& a) {
  w.Num(key::kAttempt, a.attempt);
  w.StrOrNil(key::kError, a.error);
  w.NumOrNil(key::kExitCode, a.exit_code);
  w.NumOrNil(key::kFinishedMs, a.finished_ms);
  w.StrOrNil(key::kHost, a.host);
  w.StrOrNil(key::kOutcome, a.outcome);
  w.Num(key::kStartedMs, a.started_ms);
  w.StrOrNil(key::kStderr, a.stderr_tail);
  w.StrOrNil(key::kStdout, a.stdout_tail);
  w.StrOrNil(key::kWorker, a.worker);
}

template <typename V>
void PutList(MapWriter& w, std::string_view k, const std::vector<V>& list) {
  w.Key(k).pack_array(static_cast<std::uint32_t>(list.size()));
  for (const V& v : list) {
    MapWriter item(w.out());
    Put(item, v);
  }
}

template <typename V>
void PutObject(MapWriter& w, std::string_view k, const V& v) {
  w.Key(k);
  MapWriter item(w.out());
  Put(item, v);
}

void Put(MapWriter& w, const JobView& j) {
  w.Num(key::kAttempt, j.attempt);
  if (j.detail) PutList(w, key::kAttempts, j.attempts);
  w.Num(key::kBackoffMs, j.backoff_ms);
  if (!j.concurrency_key.empty()) {
    w.Str(key::kConcurrencyKey, j.concurrency_key);
    w.Num(key::kConcurrencyLimit, j.concurrency_limit);
  }
  w.Num(key::kCreatedMs, j.created_ms);
  w.StrOrNil(key::kError, j.error);
  w.Num(key::kFailures, j.failures);
  w.NumOrNil(key::kFinishedMs, j.finished_ms);
  w.Str(key::kId, j.id);
  w.StrOrNil(key::kKey, j.key);
  w.Str(key::kKind, j.kind);
  w.Num(key::kMaxAttempts, j.max_attempts);
  if (j.detail) w.Raw(key::kOutputs, j.outputs);
  if (j.detail) w.Raw(key::kParams, j.params);
  w.Num(key::kPriority, j.priority);
  w.Str(key::kQueue, j.queue);
  w.Num(key::kRunAtMs, j.run_at_ms);
  w.Str(key::kState, j.state);
  w.Num(key::kTimeoutMs, j.timeout_ms);
  w.Num(key::kUpdatedMs, j.updated_ms);
  if (!j.waiting.empty()) w.Str(key::kWaiting, j.waiting);
}

void Put(MapWriter& w, const StageView& s) {
  w.Num(key::kAttempt, s.attempt);
  w.Strs(key::kDependsOn, s.depends_on);
  w.StrOrNil(key::kError, s.error);
  w.NumOrNil(key::kFinishedMs, s.finished_ms);
  w.StrOrNil(key::kJob, s.job);
  w.Str(key::kKind, s.kind);
  w.Bool(key::kKindServed, s.kind_served);
  w.Str(key::kName, s.name);
  w.Str(key::kQueue, s.queue);
  w.NumOrNil(key::kStartedMs, s.started_ms);
  w.Str(key::kState, s.state);
}

void Put(MapWriter& w, const RunView& r) {
  w.Num(key::kCreatedMs, r.created_ms);
  w.NumOrNil(key::kFinishedMs, r.finished_ms);
  w.Str(key::kId, r.id);
  w.Str(key::kLogicalDate, r.logical_date);
  {
    Packer& pk = w.Key(key::kParams);
    pk.pack_map(static_cast<std::uint32_t>(r.params.size()));
    for (const auto& [k, v] : r.params) {
      PackStr(pk, k);
      PackStr(pk, v);
    }
  }
  w.StrOrNil(key::kSlot, r.slot);
  PutList(w, key::kStages, r.stages);
  w.NumOrNil(key::kStartedMs, r.started_ms);
  w.Str(key::kState, r.state);
  w.Str(key::kTrigger, r.trigger);
  w.Str(key::kWorkflow, r.workflow);
}

void Put(MapWriter& w, const WorkerView& v) {
  w.Bool(key::kAdaptive, v.adaptive);
  w.Num(key::kBusy, v.busy);
  w.Num(key::kConnectedMs, v.connected_ms);
  w.Str(key::kHost, v.host);
  w.StrOrNil(key::kKey, v.key);
  w.Strs(key::kKinds, v.kinds);
  w.Num(key::kLastSeenMs, v.last_seen_ms);
  w.Num(key::kPid, v.pid);
  w.Num(key::kPrefetch, v.prefetch);
  w.Strs(key::kQueues, v.queues);
  {
    Packer& pk = w.Key(key::kRunning);
    pk.pack_array(static_cast<std::uint32_t>(v.running.size()));
    for (const JobAttempt& p : v.running) {
      pk.pack_array(2);
      PackStr(pk, p.job);
      pk.pack(p.attempt);
    }
  }
  w.Num(key::kSlots, v.slots);
  w.Str(key::kVersion, v.version);
  w.Num(key::kWindow, v.window);
  w.Str(key::kWorker, v.worker);
}

void Put(MapWriter& w, const UnservedStage& u) {
  w.Str(key::kKind, u.kind);
  w.Str(key::kQueue, u.queue);
  w.Str(key::kStage, u.stage);
}

void Put(MapWriter& w, const ScheduleView& e) {
  w.Num(key::kActiveRuns, e.active_runs);
  w.Str(key::kCatchUp, e.catch_up);
  w.StrOrNil(key::kLastFire, e.last_fire);
  w.Num(key::kMaxActiveRuns, e.max_active_runs);
  w.StrOrNil(key::kNextFire, e.next_fire);
  w.Bool(key::kPaused, e.paused);
  w.StrOrNil(key::kSchedule, e.schedule);
  PutList(w, key::kUnservedStages, e.unserved_stages);
  w.Str(key::kWorkflow, e.workflow);
}

void Put(MapWriter& w, const ExtractionRow& x) {
  w.Num(key::kAttempt, x.attempt);
  w.Num(key::kBytesWritten, x.bytes_written);
  w.OptStrOrNil(key::kCursorValue, x.cursor_value);
  w.OptStrOrNil(key::kErrorMessage, x.error_message);
  w.OptStrOrNil(key::kExtractor, x.extractor);
  w.Num(key::kFilesSkipped, x.files_skipped);
  w.Num(key::kFilesWritten, x.files_written);
  w.OptStrOrNil(key::kFinishedAt, x.finished_at);
  w.OptStrOrNil(key::kJobId, x.job_id);
  w.Num(key::kRunId, x.run_id);
  w.OptStrOrNil(key::kSource, x.source);
  w.OptStrOrNil(key::kStartedAt, x.started_at);
  w.OptStrOrNil(key::kStatus, x.status);
  w.OptStrOrNil(key::kUrl, x.url);
}

// {<before>..., ok: true, <between>..., req, <after>...}: the reply's own
// keys in byte order around `ok` and `req`.
void Ok(MapWriter& w) { w.Bool(key::kOk, true); }
void Req(MapWriter& w, std::uint64_t req) { w.Num(key::kReq, req); }

// ---- JSON --------------------------------------------------------------

json StrOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json OrNull(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }
json OrNull(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

// A raw value as JSON: null for none, the reason as a string when it does
// not convert (as the broker shows stored params over a limit).
json RawJson(const std::string& raw, const char* what) {
  if (raw.empty()) return nullptr;
  auto j = MsgpackToJson(raw);
  if (!j.ok()) return std::string("(") + what + " not shown: " + j.status().message() + ")";
  return std::move(j).value();
}

}  // namespace

// ---- public ------------------------------------------------------------

void Encode(const JobReply& m, std::string* out) {
  MapWriter w(out);
  PutObject(w, key::kJob, m.job);
  Ok(w);
  Req(w, m.req);
}

void Encode(const ListReply& m, std::string* out) {
  MapWriter w(out);
  PutList(w, key::kJobs, m.jobs);
  Ok(w);
  Req(w, m.req);
}

void Encode(const RunReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  Req(w, m.req);
  PutObject(w, key::kRun, m.run);
}

void Encode(const RunsReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  Req(w, m.req);
  PutList(w, key::kRuns, m.runs);
}

void Encode(const WorkersReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  Req(w, m.req);
  PutList(w, key::kWorkers, m.workers);
}

void Encode(const SchedulesReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  Req(w, m.req);
  PutList(w, key::kSchedules, m.schedules);
}

void Encode(const ScheduleReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  Req(w, m.req);
  PutObject(w, key::kSchedule, m.schedule);
}

void Encode(const ReloadReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  w.Str(key::kPath, m.path);
  Req(w, m.req);
  w.Num(key::kWorkflows, m.workflows);
}

void Encode(const ExtractionsReply& m, std::string* out) {
  MapWriter w(out);
  PutList(w, key::kExtractions, m.extractions);
  Ok(w);
  Req(w, m.req);
}

void Encode(const StatsReply& m, std::string* out) {
  MapWriter w(out);
  Ok(w);
  Req(w, m.req);
  w.Key(key::kStats);
  nlohmann::json::to_msgpack(m.stats.doc, *out);
}

Status Decode(std::string_view body, JobReply* m) {
  return DecodeReply(body, "job reply", &m->req,
                     [&](MapReader& r) { return Object<JobView>(r, key::kJob, &m->job, ReadJob); });
}

Status Decode(std::string_view body, ListReply* m) {
  return DecodeReply(body, "LIST reply", &m->req,
                     [&](MapReader& r) { return List<JobView>(r, key::kJobs, true, &m->jobs, ReadJob); });
}

Status Decode(std::string_view body, RunReply* m) {
  return DecodeReply(body, "run reply", &m->req,
                     [&](MapReader& r) { return Object<RunView>(r, key::kRun, &m->run, ReadRun); });
}

Status Decode(std::string_view body, RunsReply* m) {
  return DecodeReply(body, "RUNS reply", &m->req,
                     [&](MapReader& r) { return List<RunView>(r, key::kRuns, true, &m->runs, ReadRun); });
}

Status Decode(std::string_view body, WorkersReply* m) {
  return DecodeReply(body, "WORKERS reply", &m->req, [&](MapReader& r) {
    return List<WorkerView>(r, key::kWorkers, true, &m->workers, ReadWorker);
  });
}

Status Decode(std::string_view body, SchedulesReply* m) {
  return DecodeReply(body, "SCHEDULES reply", &m->req, [&](MapReader& r) {
    return List<ScheduleView>(r, key::kSchedules, true, &m->schedules, ReadSchedule);
  });
}

Status Decode(std::string_view body, ScheduleReply* m) {
  return DecodeReply(body, "schedule reply", &m->req, [&](MapReader& r) {
    return Object<ScheduleView>(r, key::kSchedule, &m->schedule, ReadSchedule);
  });
}

Status Decode(std::string_view body, ReloadReply* m) {
  return DecodeReply(body, "RELOAD reply", &m->req, [&](MapReader& r) {
    r.Uint(key::kWorkflows, &m->workflows, true);
    Text(r, key::kPath, &m->path);
    return Status::Ok();
  });
}

Status Decode(std::string_view body, ExtractionsReply* m) {
  return DecodeReply(body, "EXTRACTIONS reply", &m->req, [&](MapReader& r) {
    return List<ExtractionRow>(r, key::kExtractions, true, &m->extractions, ReadExtraction);
  });
}

Status Decode(std::string_view body, StatsReply* m) {
  return DecodeReply(body, "STATS reply", &m->req,
                     [&](MapReader& r) { return Object<StatsView>(r, key::kStats, &m->stats, ReadStats); });
}

json ToJson(const JobView& j) {
  json out = {{"id", j.id},
              {"state", j.state},
              {"kind", j.kind},
              {"queue", j.queue},
              {"priority", j.priority},
              {"attempt", j.attempt},
              {"failures", j.failures},
              {"max_attempts", j.max_attempts},
              {"backoff_ms", j.backoff_ms},
              {"timeout_ms", j.timeout_ms},
              {"run_at_ms", j.run_at_ms},
              {"created_ms", j.created_ms},
              {"updated_ms", j.updated_ms},
              {"finished_ms", OrNull(j.finished_ms)},
              {"key", StrOrNull(j.key)},
              {"error", StrOrNull(j.error)}};
  if (!j.concurrency_key.empty()) {
    out["concurrency_key"] = j.concurrency_key;
    out["concurrency_limit"] = j.concurrency_limit;
  }
  if (!j.waiting.empty()) out["waiting"] = j.waiting;
  if (!j.detail) return out;
  out["params"] = RawJson(j.params, "params");
  out["outputs"] = RawJson(j.outputs, "outputs");
  out["attempts"] = ToJson(j.attempts);
  return out;
}

json ToJson(const RunView& r) {
  return {{"id", r.id},
          {"state", r.state},
          {"workflow", r.workflow},
          {"trigger", r.trigger},
          {"logical_date", r.logical_date},
          {"slot", StrOrNull(r.slot)},
          {"params", r.params},
          {"created_ms", r.created_ms},
          {"started_ms", OrNull(r.started_ms)},
          {"finished_ms", OrNull(r.finished_ms)},
          {"stages", ToJson(r.stages)}};
}

json ToJson(const WorkerView& w) {
  json running = json::array();
  for (const JobAttempt& p : w.running) running.push_back({p.job, p.attempt});
  return {{"worker", w.worker},
          {"host", w.host},
          {"pid", w.pid},
          {"queues", w.queues},
          {"kinds", w.kinds},
          {"slots", w.slots},
          {"prefetch", w.prefetch},
          {"adaptive", w.adaptive},
          {"window", w.window},
          {"busy", w.busy},
          {"version", w.version},
          {"connected_ms", w.connected_ms},
          {"last_seen_ms", w.last_seen_ms},
          {"running", std::move(running)},
          {"key", StrOrNull(w.key)}};
}

json ToJson(const ScheduleView& e) {
  return {{"workflow", e.workflow},
          {"schedule", StrOrNull(e.schedule)},
          {"paused", e.paused},
          {"catch_up", e.catch_up},
          {"max_active_runs", e.max_active_runs},
          {"next_fire", StrOrNull(e.next_fire)},
          {"last_fire", StrOrNull(e.last_fire)},
          {"active_runs", e.active_runs},
          {"unserved_stages", ToJson(e.unserved_stages)}};
}

json ToJson(const ExtractionRow& x) {
  return {{"run_id", x.run_id},
          {"extractor", OrNull(x.extractor)},
          {"started_at", OrNull(x.started_at)},
          {"finished_at", OrNull(x.finished_at)},
          {"status", OrNull(x.status)},
          {"files_written", x.files_written},
          {"files_skipped", x.files_skipped},
          {"bytes_written", x.bytes_written},
          {"cursor_value", OrNull(x.cursor_value)},
          {"error_message", OrNull(x.error_message)},
          {"job_id", OrNull(x.job_id)},
          {"attempt", x.attempt},
          {"source", OrNull(x.source)},
          {"url", OrNull(x.url)}};
}

json ToJson(const AttemptView& a) {
  return {{"attempt", a.attempt},           {"worker", StrOrNull(a.worker)},
          {"host", StrOrNull(a.host)},      {"started_ms", a.started_ms},
          {"finished_ms", OrNull(a.finished_ms)}, {"outcome", StrOrNull(a.outcome)},
          {"error", StrOrNull(a.error)},    {"exit_code", OrNull(a.exit_code)},
          {"stdout", StrOrNull(a.stdout_tail)}, {"stderr", StrOrNull(a.stderr_tail)}};
}

json ToJson(const StageView& s) {
  return {{"name", s.name},
          {"kind", s.kind},
          {"state", s.state},
          {"job", StrOrNull(s.job)},
          {"attempt", s.attempt},
          {"started_ms", OrNull(s.started_ms)},
          {"finished_ms", OrNull(s.finished_ms)},
          {"error", StrOrNull(s.error)},
          {"depends_on", s.depends_on},
          {"queue", s.queue},
          {"kind_served", s.kind_served}};
}

json ToJson(const UnservedStage& u) { return {{"stage", u.stage}, {"kind", u.kind}, {"queue", u.queue}}; }

json ToJson(const StatsView& v) { return v.doc; }

json ToJson(const ReloadReply& v) { return {{"workflows", v.workflows}, {"path", v.path}}; }

}  // namespace sluice::proto
