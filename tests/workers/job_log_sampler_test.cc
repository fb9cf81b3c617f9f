// JobLogSampler on a clock the test moves: up to N lines a second, the
// rest counted, the count handed back once the window is over (or forced).
#include "workers/job_log_sampler.h"

#include <gtest/gtest.h>

namespace sluice::worker {
namespace {

using std::chrono::milliseconds;

TEST(JobLogSampler, AFewLinesASecondAndACountOfTheRest) {
  JobLogSampler s(3);
  const Clock::time_point t0 = Clock::now();
  int written = 0;
  for (int i = 0; i < 10; ++i) written += s.Admit(t0 + milliseconds(i)) ? 1 : 0;
  EXPECT_EQ(written, 3);
  EXPECT_EQ(s.TakeLeftOut(t0 + milliseconds(500)), 0u) << "the window is not over";
  EXPECT_EQ(s.TakeLeftOut(t0 + milliseconds(1000)), 7u);
  EXPECT_EQ(s.TakeLeftOut(t0 + milliseconds(3000)), 0u) << "counted once";
  // A new window: three more.
  written = 0;
  for (int i = 0; i < 5; ++i) written += s.Admit(t0 + milliseconds(1100 + i)) ? 1 : 0;
  EXPECT_EQ(written, 3);
  EXPECT_EQ(s.TakeLeftOut(t0 + milliseconds(1200), /*force=*/true), 2u);
}

}  // namespace
}  // namespace sluice::worker
