// test.sleep: sleeps `ms` milliseconds (`retry_ms` instead, if given, on
// every attempt after the first: a job that is surely still running when a
// test takes its worker away, and quick once it runs again); stops early on
// CANCEL, timeout or shutdown, reporting which.
#include <string>

#include "workers/builtin_handlers.h"
#include "workers/job_params.h"
#include "workers/param_scalars.h"

namespace sluice::worker {

void RunTestSleep(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "test.sleep params");
  std::uint64_t ms = 0;
  constexpr std::uint64_t kMaxMs = 366ull * 24 * 3600 * 1000;  // keeps now + ms far from overflow
  ReadParamUint(params, "ms", &ms, /*required=*/true, kMaxMs);  // 1500 or "1500"
  std::uint64_t retry_ms = ms;
  ReadParamUint(params, "retry_ms", &retry_ms, /*required=*/false, kMaxMs);
  if (!params.ok()) return SetBadParams(params.status(), result);
  if (job.attempt > 1) ms = retry_ms;

  const Clock::time_point start = Clock::now();
  const StopReason why = cancel.WaitUntil(start + std::chrono::milliseconds(ms));
  if (why == StopReason::kNone) return;
  const auto slept =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  result->outcome = OutcomeFor(why);
  result->error = "test.sleep: " + std::string(Describe(why)) + " after " + std::to_string(slept) +
                  " of " + std::to_string(ms) + " ms";
}

}  // namespace sluice::worker
