#include "schemas/request_decode.h"

#include <cstdio>
#include <string>

#include "schemas/job_id.h"
#include "schemas/job_state.h"
#include "schemas/messages.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"
#include "schemas/utf8_scan.h"

namespace sluice::proto {
namespace {

// Decodes with a messages.h codec into a throwaway message.
template <typename Message>
Status Typed(std::string_view body) {
  Message m;
  return Decode(body, &m);
}

// Unpacks a request body and reads its fields with `fn(reader)`.
template <typename Fn>
Status Fields(std::string_view body, const char* what, Fn fn) {
  msgpack::object_handle h;
  Status s = UnpackBody(body, &h);
  if (!s.ok()) return Status::InvalidArgument(std::string(what) + ": " + s.message());
  MapReader r(h.get(), what);
  Status extra = fn(r);
  if (!r.ok()) return r.status();
  return extra;
}

// {req, id}: a job id, or (when `run_ids`) a run id.
Status IdRequest(std::string_view body, const char* what, bool run_ids) {
  return Fields(body, what, [&](MapReader& r) {
    std::uint64_t req = 0;
    std::string id;
    r.Uint("req", &req, true);
    r.Str("id", &id, kMaxIdBytes, true);
    if (!r.ok() || ParseJobId(id) || (run_ids && ParseRunId(id))) return Status::Ok();
    return Status::NotFound("no job '" + id + "' (job ids look like j123" +
                            (run_ids ? ", run ids r12)" : ")"));
  });
}

// `state`, when present, must be a job state.
void JobStateField(MapReader& r) {
  std::string state;
  r.Str("state", &state, 32, false);
  if (r.ok() && !state.empty() && !ParseJobState(state))
    r.Fail("field 'state' is not a job state: '" + state + "'");
}

// RUN's `params`: absent, nil or a map of string to string.
void StringMapField(MapReader& r, std::string_view key) {
  const msgpack::object* o = r.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  if (o->type != msgpack::type::MAP) return r.Fail("field '" + std::string(key) + "' must be a map");
  for (std::uint32_t i = 0; i < o->via.map.size; ++i) {
    const msgpack::object_kv& kv = o->via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR)
      return r.Fail("field '" + std::string(key) + "' must map strings to strings");
  }
}

// Commands whose body is read for `req` only: any body will do.
Status ReqOnly(std::string_view body) {
  (void)PeekReq(body);
  return Status::Ok();
}

// {req}: a map with a `req`, nothing else read.
Status ReqRequired(std::string_view body, const char* what) {
  return Fields(body, what, [&](MapReader& r) {
    std::uint64_t req = 0;
    r.Uint("req", &req, true);
    return Status::Ok();
  });
}

const char* ClientCommandName(std::uint8_t command) {
  return command >= static_cast<std::uint8_t>(Command::kSubmit) &&
                 command <= static_cast<std::uint8_t>(Command::kReload)
             ? CommandName(command)
             : nullptr;
}

}  // namespace

Status DecodeRequest(std::uint8_t command, std::string_view body) {
  using C = Command;
  // What a client submits is UTF-8 throughout, fields nobody reads included.
  if (const char* client = ClientCommandName(command)) {
    if (Status s = FindIllFormedUtf8(body, client); !s.ok()) return s;
  }
  switch (static_cast<C>(command)) {
    case C::kReady: return Typed<Ready>(body);
    case C::kHeartbeat: return Typed<Heartbeat>(body);
    case C::kResult: return Typed<JobResult>(body);
    case C::kBye: return Typed<Bye>(body);
    case C::kJob: return Typed<JobMsg>(body);
    case C::kCancel: return Typed<CancelMsg>(body);
    case C::kAck: return Typed<Ack>(body);
    case C::kSubmit: return Typed<Submit>(body);
    case C::kError: return Typed<ErrorMsg>(body);
    case C::kReply:
      return Fields(body, "REPLY", [&](MapReader& r) {
        std::uint64_t req = 0;
        bool ok = false;
        r.Uint("req", &req, true);
        r.Bool("ok", &ok, true);
        // SUBMIT's answer is the one REPLY with a codec of its own.
        if (r.ok() && r.Find("jobs") != nullptr) return Typed<SubmitReply>(body);
        return Status::Ok();
      });
    case C::kStatus: return IdRequest(body, "STATUS", true);
    case C::kRetry: return IdRequest(body, "RETRY", false);
    case C::kCancelJob: return IdRequest(body, "CANCEL_JOB", true);
    case C::kList:
      return Fields(body, "LIST", [&](MapReader& r) {
        std::uint64_t req = 0, limit = 0;
        std::string queue, kind;
        r.Uint("req", &req, true);
        JobStateField(r);
        r.Name("queue", &queue, false);
        r.Name("kind", &kind, false);
        r.Uint("limit", &limit, false, 10000);
        return Status::Ok();
      });
    case C::kExtractions:
      return Fields(body, "EXTRACTIONS", [&](MapReader& r) {
        std::uint64_t req = 0, limit = 0;
        std::string source;
        r.Uint("req", &req, true);
        r.Name("source", &source, false);
        r.Uint("limit", &limit, false, 10000);
        return Status::Ok();
      });
    case C::kRun:
      return Fields(body, "RUN", [&](MapReader& r) {
        std::uint64_t req = 0;
        std::string workflow;
        r.Uint("req", &req, false);
        r.Str("workflow", &workflow, kMaxNameBytes, true);
        if (r.ok() && workflow.empty()) r.Fail("field 'workflow' must not be empty");
        StringMapField(r, "params");
        return Status::Ok();
      });
    case C::kRuns:
      return Fields(body, "RUNS", [&](MapReader& r) {
        std::uint64_t req = 0, limit = 0;
        std::string workflow, state;
        r.Uint("req", &req, false);
        r.Str("workflow", &workflow, kMaxNameBytes, false);
        r.Str("state", &state, 32, false);
        r.Uint("limit", &limit, false);
        return Status::Ok();
      });
    case C::kPause:
    case C::kResume:
      return Fields(body, command == static_cast<std::uint8_t>(C::kPause) ? "PAUSE" : "RESUME",
                    [&](MapReader& r) {
                      std::uint64_t req = 0;
                      std::string workflow;
                      r.Uint("req", &req, false);
                      r.Str("workflow", &workflow, kMaxNameBytes, true);
                      return Status::Ok();
                    });
    case C::kWorkers: return ReqRequired(body, "WORKERS");
    case C::kStats: return ReqRequired(body, "STATS");
    case C::kSchedules: return ReqRequired(body, "SCHEDULES");
    case C::kReload:
      return ReqOnly(body);
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "%02x", command);
  return Status::InvalidArgument(std::string("unknown command 0x") + hex);
}

}  // namespace sluice::proto
