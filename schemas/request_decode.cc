#include "schemas/request_decode.h"

#include <cstdio>
#include <string>

#include "schemas/job_id.h"
#include "schemas/job_state.h"
#include "schemas/messages.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"
#include "schemas/requests.h"
#include "schemas/utf8_scan.h"

namespace sluice::proto {
namespace {

// Decodes with a messages.h or requests.h codec into a throwaway message.
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

// {req, id} (requests.h): a job id, or (when `run_ids`) a run id.
template <typename Request>
Status IdRequest(std::string_view body, bool run_ids) {
  Request m;
  if (Status s = Decode(body, &m); !s.ok()) return s;
  if (ParseJobId(m.id) || (run_ids && ParseRunId(m.id))) return Status::Ok();
  return Status::NotFound("no job '" + m.id + "' (job ids look like j123" +
                          (run_ids ? ", run ids r12)" : ")"));
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
    case C::kRecall: return Typed<RecallMsg>(body);
    case C::kDone: return Typed<DoneMsg>(body);
    case C::kSubmit: return Typed<Submit>(body);
    case C::kError: return Typed<ErrorMsg>(body);
    case C::kReply:
      return Fields(body, "REPLY", [&](MapReader& r) {
        std::uint64_t req = 0;
        bool ok = false;
        r.Uint(key::kReq, &req, true);
        r.Bool(key::kOk, &ok, true);
        // SUBMIT's answer is the one REPLY with a codec of its own.
        if (r.ok() && r.Find(key::kJobs) != nullptr) return Typed<SubmitReply>(body);
        return Status::Ok();
      });
    case C::kStatus: return IdRequest<StatusRequest>(body, true);
    case C::kRetry: return IdRequest<RetryRequest>(body, false);
    case C::kCancelJob: return IdRequest<CancelJobRequest>(body, true);
    case C::kList: return Typed<ListRequest>(body);
    case C::kExtractions: return Typed<ExtractionsRequest>(body);
    case C::kRun: return Typed<RunRequest>(body);
    case C::kRuns: return Typed<RunsRequest>(body);
    case C::kPause: return Typed<PauseRequest>(body);
    case C::kResume: return Typed<ResumeRequest>(body);
    case C::kWorkers: return Typed<WorkersRequest>(body);
    case C::kStats: return Typed<StatsRequest>(body);
    case C::kSchedules: return Typed<SchedulesRequest>(body);
    case C::kReload: return Typed<ReloadRequest>(body);
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "%02x", command);
  return Status::InvalidArgument(std::string("unknown command 0x") + hex);
}

}  // namespace sluice::proto
