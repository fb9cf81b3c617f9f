#include "schemas/requests.h"

#include <msgpack.hpp>

#include "schemas/job_state.h"
#include "schemas/msgpack_reader.h"
#include "schemas/msgpack_writer.h"
#include "schemas/name_rule.h"
#include "schemas/protocol.h"
#include "schemas/utf8_scan.h"

namespace sluice::proto {
namespace {

// Checks the body's UTF-8 throughout, unpacks it and reads it with `fn`.
template <typename Fn>
Status DecodeRequestBody(std::string_view body, const char* what, Fn fn) {
  if (Status s = FindIllFormedUtf8(body, what); !s.ok()) return s;
  msgpack::object_handle h;
  if (Status s = UnpackBody(body, &h); !s.ok())
    return Status::InvalidArgument(std::string(what) + ": " + s.message());
  MapReader r(h.get(), what);
  fn(r);
  return r.status();
}

void ReadReq(MapReader& r, std::uint64_t* req) { r.Uint(key::kReq, req, true); }

void ReadId(MapReader& r, std::string* id) {
  r.Str(key::kId, id, kMaxIdBytes, true);
  if (r.ok() && id->empty()) r.Fail("field 'id' must not be empty");
}

void ReadLimit(MapReader& r, std::uint32_t* limit) {
  std::uint64_t v = 0;
  r.Uint(key::kLimit, &v, false, kMaxLimit);
  *limit = static_cast<std::uint32_t>(v);
}

void ReadJobState(MapReader& r, std::string* state) {
  r.Str(key::kState, state, kMaxStateBytes, false);
  if (r.ok() && !state->empty() && !ParseJobState(*state))
    r.Fail("field 'state' is not a job state: '" + *state + "'");
}

void ReadRunState(MapReader& r, std::string* state) {
  r.Str(key::kState, state, kMaxStateBytes, false);
  if (r.ok() && !state->empty() && !IsRunState(*state))
    r.Fail("field 'state' is not a run state: '" + *state + "'");
}

// RUN's `params`: absent, nil or a map of names to strings.
void ReadRunParams(MapReader& r, std::map<std::string, std::string>* out) {
  const msgpack::object* o = r.Find(key::kParams);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  if (o->type != msgpack::type::MAP) return r.Fail("field 'params' must be a map");
  if (o->via.map.size > kMaxRunParams)
    return r.Fail("field 'params' has more than " + std::to_string(kMaxRunParams) + " entries");
  out->clear();
  for (std::uint32_t i = 0; i < o->via.map.size; ++i) {
    const msgpack::object_kv& kv = o->via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR)
      return r.Fail("field 'params' must map strings to strings");
    std::string_view k(kv.key.via.str.ptr, kv.key.via.str.size);
    std::string_view v(kv.val.via.str.ptr, kv.val.via.str.size);
    if (!IsValidName(k))
      return r.Fail("field 'params' key '" + std::string(k.substr(0, kMaxNameBytes)) +
                    "' must be " + std::string(kNameRuleText));
    if (v.size() > kMaxRunParamBytes)
      return r.Fail("field 'params' value of '" + std::string(k) + "' longer than " +
                    std::to_string(kMaxRunParamBytes) + " bytes");
    (*out)[std::string(k)] = std::string(v);
  }
}

// Writers of the optional fields: left out when empty or 0.
void OptStr(MapWriter& w, std::string_view key, std::string_view v) {
  if (!v.empty()) w.Str(key, v);
}
void OptLimit(MapWriter& w, std::uint32_t limit) {
  if (limit != 0) w.Num(key::kLimit, limit);
}

// {req, id} requests.
template <typename M>
void EncodeId(const M& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  w.Str(key::kId, m.id);
}
template <typename M>
Status DecodeId(std::string_view body, const char* what, M* m) {
  return DecodeRequestBody(body, what, [&](MapReader& r) {
    ReadReq(r, &m->req);
    ReadId(r, &m->id);
  });
}

// {req, workflow} requests.
template <typename M>
void EncodeWorkflow(const M& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  w.Str(key::kWorkflow, m.workflow);
}
template <typename M>
Status DecodeWorkflow(std::string_view body, const char* what, M* m) {
  return DecodeRequestBody(body, what, [&](MapReader& r) {
    ReadReq(r, &m->req);
    r.Name(key::kWorkflow, &m->workflow, true);
  });
}

// {req} requests.
template <typename M>
void EncodeReq(const M& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
}
template <typename M>
Status DecodeReq(std::string_view body, const char* what, M* m) {
  return DecodeRequestBody(body, what, [&](MapReader& r) { ReadReq(r, &m->req); });
}

}  // namespace

bool IsRunState(std::string_view state) {
  for (std::string_view s : kRunStates)
    if (s == state) return true;
  return false;
}

void Encode(const StatusRequest& m, std::string* out) { EncodeId(m, out); }
void Encode(const RetryRequest& m, std::string* out) { EncodeId(m, out); }
void Encode(const CancelJobRequest& m, std::string* out) { EncodeId(m, out); }
Status Decode(std::string_view body, StatusRequest* m) { return DecodeId(body, "STATUS", m); }
Status Decode(std::string_view body, RetryRequest* m) { return DecodeId(body, "RETRY", m); }
Status Decode(std::string_view body, CancelJobRequest* m) { return DecodeId(body, "CANCEL_JOB", m); }

void Encode(const ListRequest& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  OptStr(w, key::kState, m.state);
  OptStr(w, key::kQueue, m.queue);
  OptStr(w, key::kKind, m.kind);
  OptLimit(w, m.limit);
}

Status Decode(std::string_view body, ListRequest* m) {
  return DecodeRequestBody(body, "LIST", [&](MapReader& r) {
    ReadReq(r, &m->req);
    ReadJobState(r, &m->state);
    r.Name(key::kQueue, &m->queue, false);
    r.Name(key::kKind, &m->kind, false);
    ReadLimit(r, &m->limit);
  });
}

void Encode(const ExtractionsRequest& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  OptStr(w, key::kSource, m.source);
  OptLimit(w, m.limit);
}

Status Decode(std::string_view body, ExtractionsRequest* m) {
  return DecodeRequestBody(body, "EXTRACTIONS", [&](MapReader& r) {
    ReadReq(r, &m->req);
    r.Name(key::kSource, &m->source, false);
    ReadLimit(r, &m->limit);
  });
}

void Encode(const RunRequest& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  w.Str(key::kWorkflow, m.workflow);
  if (!m.params.empty()) {
    Packer& pk = w.Key(key::kParams);
    pk.pack_map(static_cast<std::uint32_t>(m.params.size()));
    for (const auto& [k, v] : m.params) {
      PackStr(pk, k);
      PackStr(pk, v);
    }
  }
}

Status Decode(std::string_view body, RunRequest* m) {
  return DecodeRequestBody(body, "RUN", [&](MapReader& r) {
    ReadReq(r, &m->req);
    r.Name(key::kWorkflow, &m->workflow, true);
    ReadRunParams(r, &m->params);
  });
}

void Encode(const RunsRequest& m, std::string* out) {
  MapWriter w(out);
  w.Num(key::kReq, m.req);
  OptStr(w, key::kWorkflow, m.workflow);
  OptStr(w, key::kState, m.state);
  OptLimit(w, m.limit);
}

Status Decode(std::string_view body, RunsRequest* m) {
  return DecodeRequestBody(body, "RUNS", [&](MapReader& r) {
    ReadReq(r, &m->req);
    r.Name(key::kWorkflow, &m->workflow, false);
    ReadRunState(r, &m->state);
    ReadLimit(r, &m->limit);
  });
}

void Encode(const PauseRequest& m, std::string* out) { EncodeWorkflow(m, out); }
void Encode(const ResumeRequest& m, std::string* out) { EncodeWorkflow(m, out); }
Status Decode(std::string_view body, PauseRequest* m) { return DecodeWorkflow(body, "PAUSE", m); }
Status Decode(std::string_view body, ResumeRequest* m) { return DecodeWorkflow(body, "RESUME", m); }

void Encode(const SchedulesRequest& m, std::string* out) { EncodeReq(m, out); }
void Encode(const ReloadRequest& m, std::string* out) { EncodeReq(m, out); }
void Encode(const WorkersRequest& m, std::string* out) { EncodeReq(m, out); }
void Encode(const StatsRequest& m, std::string* out) { EncodeReq(m, out); }
Status Decode(std::string_view body, SchedulesRequest* m) { return DecodeReq(body, "SCHEDULES", m); }
Status Decode(std::string_view body, ReloadRequest* m) { return DecodeReq(body, "RELOAD", m); }
Status Decode(std::string_view body, WorkersRequest* m) { return DecodeReq(body, "WORKERS", m); }
Status Decode(std::string_view body, StatsRequest* m) { return DecodeReq(body, "STATS", m); }

}  // namespace sluice::proto
