#include "workers/cancel_token.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;

TEST(CancelToken, NotStoppedUntilCancelled) {
  CancelToken token;
  EXPECT_EQ(token.reason(), StopReason::kNone);
  token.Cancel(StopReason::kCancelled);
  EXPECT_EQ(token.reason(), StopReason::kCancelled);
}

TEST(CancelToken, FirstReasonWins) {
  CancelToken token;
  token.Cancel(StopReason::kReturned);
  token.Cancel(StopReason::kCancelled);
  EXPECT_EQ(token.reason(), StopReason::kReturned);
}

TEST(CancelToken, DeadlineStopsWithTimedOut) {
  CancelToken token(Clock::now() + 50ms);
  EXPECT_EQ(token.reason(), StopReason::kNone);
  auto start = Clock::now();
  EXPECT_EQ(token.WaitUntil(Clock::now() + 60s), StopReason::kTimedOut);
  EXPECT_GE(Clock::now() - start, 45ms);
  // A CANCEL after the deadline does not rewrite history.
  token.Cancel(StopReason::kCancelled);
  EXPECT_EQ(token.reason(), StopReason::kTimedOut);
}

TEST(CancelToken, WaitUntilReturnsNoneWhenItsOwnTimeComesFirst) {
  CancelToken token(Clock::now() + 60s);
  auto start = Clock::now();
  EXPECT_EQ(token.WaitUntil(Clock::now() + 30ms), StopReason::kNone);
  EXPECT_GE(Clock::now() - start, 30ms);
}

TEST(CancelToken, CancelFromAnotherThreadWakesAWaiter) {
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    token.Cancel(StopReason::kCancelled);
  });
  auto start = Clock::now();
  EXPECT_EQ(token.WaitUntil(Clock::now() + 60s), StopReason::kCancelled);
  EXPECT_LT(Clock::now() - start, 30s);
  canceller.join();
}

TEST(CancelToken, FdBecomesReadableOnCancel) {
  CancelToken token;
  ASSERT_GE(token.fd(), 0);
  pollfd p{token.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  token.Cancel(StopReason::kCancelled);
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_EQ(::poll(&p, 1, 0), 1) << "stays readable for every poller";
}

TEST(CancelToken, OutcomesOfStopReasons) {
  EXPECT_EQ(OutcomeFor(StopReason::kCancelled), Outcome::kCancelled);
  EXPECT_EQ(OutcomeFor(StopReason::kTimedOut), Outcome::kTimedOut);
  EXPECT_EQ(OutcomeFor(StopReason::kReturned), Outcome::kReturned);
}

TEST(PollTimeoutMs, RoundsUpAndClamps) {
  auto now = Clock::now();
  EXPECT_EQ(PollTimeoutMs(now, now - 1s), 0);
  EXPECT_EQ(PollTimeoutMs(now, now + 1500us), 2);
  EXPECT_EQ(PollTimeoutMs(now, Clock::time_point::max()), INT_MAX);
}

}  // namespace
}  // namespace sluice::worker
