// JobLogSampler: keeps a worker's per-job log lines readable under a flood.
// Up to `per_second` lines are written in each one-second window; the rest
// are counted, and the count comes back once the window is over, for one
// summary line. At 100k jobs/s the log stays at a few lines a second.
#pragma once

#include <cstdint>

#include "workers/cancel_token.h"

namespace sluice::worker {

class JobLogSampler {
 public:
  explicit JobLogSampler(unsigned per_second) : per_second_(per_second) {}

  // True: write this line now. False: it is counted as left out.
  bool Admit(Clock::time_point now);
  // Once the window in which lines were left out is over (or `now` when
  // `force`, at the end): how many (and the count restarts); else 0.
  std::uint64_t TakeLeftOut(Clock::time_point now, bool force = false);

 private:
  void Roll(Clock::time_point now);

  unsigned per_second_;
  Clock::time_point window_start_{};
  unsigned written_ = 0;          // in this window
  std::uint64_t left_out_ = 0;    // since the last TakeLeftOut
};

}  // namespace sluice::worker
