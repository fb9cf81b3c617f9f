#include "workers/running_job.h"

#include <exception>
#include <string>

namespace sluice::worker {

void ExecuteJob(const HandlerSpec& handler, const proto::JobMsg& job, const CancelToken& cancel,
                ParamsView* scratch, const EventLog& log, const HandlerSettings& settings,
                proto::JobResult* result) {
  *result = proto::JobResult{};
  result->job = job.job;
  result->attempt = job.attempt;
  Status parsed = scratch->Parse(job.params);
  if (!parsed.ok()) return SetBadParams(parsed, result);
  JobContext context{job.job, job.attempt, job.kind, scratch->map(), job.timeout_ms, log, settings};
  try {
    handler.run(context, cancel, result);
  } catch (const std::exception& e) {
    result->outcome = Outcome::kFailed;
    result->error = std::string(handler.kind) + ": internal error: " + e.what();
  } catch (...) {
    result->outcome = Outcome::kFailed;
    result->error = std::string(handler.kind) + ": internal error";
  }
}

Clock::time_point AttemptDeadline(Clock::time_point now, std::uint64_t timeout_ms) {
  constexpr std::uint64_t kMaxTimeoutMs = 10ull * 366 * 24 * 3600 * 1000;  // ten years
  if (timeout_ms == 0 || timeout_ms > kMaxTimeoutMs) return Clock::time_point::max();
  return now + std::chrono::milliseconds(timeout_ms);
}

}  // namespace sluice::worker
