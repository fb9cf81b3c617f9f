// test.fail: fails every attempt numbered below `succeed_on`, then succeeds.
// Drives retry and backoff tests.
#include <string>

#include "workers/builtin_handlers.h"
#include "workers/job_params.h"
#include "workers/param_scalars.h"

namespace sluice::worker {

void RunTestFail(const JobContext& job, const CancelToken&, proto::JobResult* result) {
  proto::MapReader params(job.params, "test.fail params");
  std::int64_t succeed_on = 0;
  ReadParamInt(params, "succeed_on", &succeed_on, /*required=*/true, INT64_MIN, INT64_MAX);
  if (!params.ok()) return SetBadParams(params.status(), result);
  if (static_cast<std::int64_t>(job.attempt) >= succeed_on) return;
  result->outcome = Outcome::kFailed;
  result->error = "test.fail: attempt " + std::to_string(job.attempt) + " < succeed_on " +
                  std::to_string(succeed_on);
}

}  // namespace sluice::worker
