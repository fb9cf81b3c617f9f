// Running one attempt through its handler, and the record of an attempt
// that runs on a slot thread.
#pragma once

#include <chrono>

#include "schemas/messages.h"
#include "workers/cancel_token.h"
#include "workers/event_log.h"
#include "workers/handler.h"
#include "workers/job_key.h"
#include "workers/job_params.h"

namespace sluice::worker {

// Runs `handler` for `job` and fills `result` (job, attempt and outcome are
// set here first). Decodes the params into `scratch`. Never throws: an
// exception from the handler becomes a failed RESULT.
void ExecuteJob(const HandlerSpec& handler, const proto::JobMsg& job, const CancelToken& cancel,
                ParamsView* scratch, const EventLog& log, const HandlerSettings& settings,
                proto::JobResult* result);

// The deadline of an attempt that starts at `now` with `timeout_ms`
// (0: none). Clamped, so a huge timeout cannot overflow the clock.
Clock::time_point AttemptDeadline(Clock::time_point now, std::uint64_t timeout_ms);

// An attempt handed to a slot thread. Owned by the I/O thread's table of
// running attempts from start until it comes back finished; meanwhile the
// slot thread owns `result`, and the I/O thread touches only `cancel`.
struct RunningJob {
  RunningJob(proto::JobMsg msg, const HandlerSpec* handler, Clock::time_point deadline)
      : msg(std::move(msg)), handler(handler), cancel(deadline) {}

  JobKeyView key() const { return {msg.job, msg.attempt}; }

  proto::JobMsg msg;
  const HandlerSpec* handler;
  CancelToken cancel;
  proto::JobResult result;
  Clock::time_point started{};  // when the I/O thread handed it to a slot
};

}  // namespace sluice::worker
