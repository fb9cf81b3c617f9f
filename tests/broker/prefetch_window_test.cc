#include "broker/prefetch_window.h"

#include <gtest/gtest.h>

namespace sluice::broker {
namespace {

TEST(PrefetchWindowTest, NoPrefetchBeforeTheFirstResult) {
  PrefetchWindow w;
  EXPECT_EQ(w.Allowance(0, 1024), 0u);
  w.OnSend(0, 0);
  EXPECT_EQ(w.Allowance(100, 1024), 0u);
}

TEST(PrefetchWindowTest, ShortJobsOpenTheWindowUpToTheDeclaredPrefetch) {
  PrefetchWindow w(5000);
  std::int64_t t = 1000;
  w.OnSend(t, 0);
  for (int i = 0; i < 100; ++i) {  // a result every 10 us while busy
    t += 10;
    w.OnResult(t, 3);
  }
  EXPECT_NEAR(w.period_us(), 10.0, 1.0);
  EXPECT_EQ(w.Allowance(t, 1024), 500u);  // 5000 us of work at 10 us a job
  EXPECT_EQ(w.Allowance(t, 64), 64u);     // never beyond what READY declared
  EXPECT_EQ(w.Allowance(t, 0), 0u);
}

TEST(PrefetchWindowTest, LongJobsGetNoPrefetch) {
  PrefetchWindow w(5000);
  w.OnSend(0, 0);
  w.OnResult(2000000, 3);  // 2 s
  EXPECT_EQ(w.Allowance(2000000, 1024), 0u);
}

TEST(PrefetchWindowTest, SilenceWhileBusyClosesTheWindow) {
  PrefetchWindow w(5000);
  std::int64_t t = 0;
  w.OnSend(t, 0);
  for (int i = 0; i < 50; ++i) w.OnResult(t += 10, 4);
  EXPECT_GT(w.Allowance(t, 1024), 100u);
  // Busy, and nothing reported for 6 ms: as slow as the silence says.
  EXPECT_EQ(w.Allowance(t + 6000, 1024), 0u);
  EXPECT_EQ(w.Allowance(t + 1000, 1024), 5u);
}

TEST(PrefetchWindowTest, IdleTimeIsNotCountedAsThePace) {
  PrefetchWindow w(5000);
  std::int64_t t = 0;
  w.OnSend(t, 0);
  for (int i = 0; i < 50; ++i) w.OnResult(t += 10, i == 49 ? 0 : 4);
  const double before = w.period_us();
  // An hour idle, then a new job: the gap is not a sample, and the window
  // is open again at once.
  t += 3600LL * 1000 * 1000;
  EXPECT_GT(w.Allowance(t, 1024), 100u);
  w.OnSend(t, 0);
  w.OnResult(t + 10, 0);
  EXPECT_NEAR(w.period_us(), before, 1.0);
}

}  // namespace
}  // namespace sluice::broker
