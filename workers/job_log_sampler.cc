#include "workers/job_log_sampler.h"

namespace sluice::worker {

void JobLogSampler::Roll(Clock::time_point now) {
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    written_ = 0;
  }
}

bool JobLogSampler::Admit(Clock::time_point now) {
  Roll(now);
  if (written_ < per_second_) {
    ++written_;
    return true;
  }
  ++left_out_;
  return false;
}

std::uint64_t JobLogSampler::TakeLeftOut(Clock::time_point now, bool force) {
  if (left_out_ == 0 || (!force && now - window_start_ < std::chrono::seconds(1))) return 0;
  const std::uint64_t n = left_out_;
  left_out_ = 0;
  return n;
}

}  // namespace sluice::worker
