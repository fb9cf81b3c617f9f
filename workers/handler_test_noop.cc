// test.noop: succeeds at once. The benchmark's job kind: keep it free.
#include "workers/builtin_handlers.h"

namespace sluice::worker {

void RunTestNoop(const JobContext&, const CancelToken&, proto::JobResult*) {}

}  // namespace sluice::worker
