// The handler interface: what one job kind does with one attempt.
//
// A handler gets the job (id, attempt, kind, params as a msgpack map,
// timeout) and the attempt's CancelToken, and fills in a RESULT. On entry
// `result` has job and attempt set and outcome `succeeded`; the handler
// sets outcome, error, retryable, exit_code, the stdout/stderr tails and
// outputs as they apply. Conventions:
//   - bad params (missing, wrong type): SetBadParams() (job_params.h), i.e.
//     failed with retryable = false and an error naming the param;
//   - stopped by its token: outcome OutcomeFor(reason) (cancel_token.h);
//   - never throw; an exception that escapes anyway becomes a failed RESULT.
//
// How a handler is run is part of its registration (handler_table.h):
// kInline handlers must return at once (microseconds, no I/O, no sleeping)
// because they run on the I/O thread; anything that may block is kSlotThread
// and runs on one of the worker's `slots` threads.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/messages.h"
#include "workers/cancel_token.h"
#include "workers/event_log.h"

namespace sluice::worker {

// Worker-wide settings that handlers read, from WorkerOptions. Fixed for
// the life of the worker; shared by all slot threads (read only).
struct HandlerSettings {
  std::string landing_dir = "data/landing";            // --landing: where extract.http writes
  std::string lakehouse_path = "data/lakehouse.sqlite";  // --lakehouse: load, transform, export
  std::string serving_path = "data/analytics.sqlite";    // --serving: export.serving's target
};

struct JobContext {
  std::string_view job;
  std::uint32_t attempt = 0;
  std::string_view kind;
  const msgpack::object& params;  // a msgpack map
  std::uint64_t timeout_ms = 0;   // 0: none. Already enforced by the token's deadline.
  const EventLog& log;
  const HandlerSettings& settings;
};

using HandlerFn = void (*)(const JobContext& job, const CancelToken& cancel,
                           proto::JobResult* result);

enum class Execution : std::uint8_t {
  kInline,      // on the I/O thread, returns at once
  kSlotThread,  // on a slot thread; may block, must honour the token
};

struct HandlerSpec {
  std::string_view kind;
  HandlerFn run;
  Execution execution;
  bool needs_allow_exec;  // refused (and not announced) unless --allow-exec
};

}  // namespace sluice::worker
