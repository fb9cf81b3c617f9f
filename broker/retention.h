// Retention: finished jobs (with their attempts and extraction runs) and
// finished workflow runs older than the retention age are deleted, a chunk
// per loop turn so the loop never stalls, and again soon while there is
// more. WAL checkpoints are another task, on their own thread
// (checkpointer.h).
#pragma once

#include <array>
#include <cstdint>

#include "broker/job_store.h"
#include "broker/run_store.h"
#include "schemas/job_state.h"
#include "schemas/status.h"

namespace sluice::broker {

class Retention {
 public:
  explicit Retention(std::int64_t retention_ms) : retention_ms_(retention_ms) {}

  bool Due(std::int64_t now) const { return now >= next_ms_; }
  std::int64_t next_ms() const { return next_ms_; }
  void Schedule(std::int64_t at_ms) { next_ms_ = at_ms; }
  // One chunk, in the caller's open transaction. *by_queue: the finished
  // jobs deleted, per queue and state.
  Status Run(std::int64_t now, JobStore& jobs, RunStore& runs, JobStore::PrunedCounts* by_queue);

  std::int64_t runs() const { return runs_; }
  std::int64_t last_ms() const { return last_ms_; }
  std::int64_t pruned() const { return pruned_; }

 private:
  std::int64_t retention_ms_;
  std::int64_t next_ms_ = 0;
  std::int64_t cursor_ = 0;
  std::int64_t runs_ = 0, last_ms_ = 0, pruned_ = 0;
};

}  // namespace sluice::broker
