// test.crash: kills the whole worker process with std::abort(), so that
// tests can prove the broker recovers the job (a `lost` attempt) and that
// children started by exec die with the worker.
#include <cstdlib>
#include <string>

#include "workers/builtin_handlers.h"

namespace sluice::worker {

void RunTestCrash(const JobContext& job, const CancelToken&, proto::JobResult*) {
  const std::string job_id(job.job);
  job.log.Info("test.crash: job %s attempt %u asks the worker to abort; aborting",
               job_id.c_str(), job.attempt);
  std::abort();
}

}  // namespace sluice::worker
