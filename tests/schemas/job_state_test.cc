#include "schemas/job_state.h"

#include <cstdint>

#include <gtest/gtest.h>

#include "pipeline/retry_policy.h"
#include "schemas/job_id.h"

namespace sluice {
namespace {

TEST(JobState, NamesRoundTrip) {
  for (int i = 0; i < kJobStateCount; ++i) {
    auto s = static_cast<JobState>(i);
    EXPECT_EQ(ParseJobState(JobStateName(s)), s);
  }
  for (int i = 0; i < 6; ++i) {
    auto o = static_cast<Outcome>(i);
    EXPECT_EQ(ParseOutcome(OutcomeName(o)), o);
  }
  EXPECT_FALSE(ParseJobState("done").has_value());
  EXPECT_FALSE(ParseOutcome("").has_value());
}

TEST(JobState, TerminalStatesOnlyLeaveByRetry) {
  for (auto s : {JobState::kDead, JobState::kCancelled}) {
    EXPECT_TRUE(IsTerminal(s));
    EXPECT_TRUE(CanTransition(s, JobState::kQueued));
    EXPECT_FALSE(CanTransition(s, JobState::kRunning));
    EXPECT_FALSE(CanTransition(s, JobState::kSucceeded));
  }
  EXPECT_TRUE(IsTerminal(JobState::kSucceeded));
  for (int i = 0; i < kJobStateCount; ++i) EXPECT_FALSE(CanTransition(JobState::kSucceeded, static_cast<JobState>(i)));
}

TEST(JobState, RunningGoesEverywhereButRunning) {
  EXPECT_TRUE(CanTransition(JobState::kRunning, JobState::kSucceeded));
  EXPECT_TRUE(CanTransition(JobState::kRunning, JobState::kScheduled));
  EXPECT_TRUE(CanTransition(JobState::kRunning, JobState::kQueued));
  EXPECT_TRUE(CanTransition(JobState::kRunning, JobState::kDead));
  EXPECT_TRUE(CanTransition(JobState::kRunning, JobState::kCancelled));
  EXPECT_FALSE(CanTransition(JobState::kRunning, JobState::kRunning));
  EXPECT_FALSE(CanTransition(JobState::kScheduled, JobState::kRunning));
  // Unused until now, and gone: a queued job is never put back to scheduled.
  EXPECT_FALSE(CanTransition(JobState::kQueued, JobState::kScheduled));
  EXPECT_FALSE(ParseJobState("upstream_failed").has_value());
}

TEST(JobState, ReturnedDoesNotCountAsFailure) {
  EXPECT_FALSE(CountsAsFailure(Outcome::kReturned));
  EXPECT_FALSE(CountsAsFailure(Outcome::kSucceeded));
  EXPECT_TRUE(CountsAsFailure(Outcome::kLost));
  EXPECT_TRUE(CountsAsFailure(Outcome::kTimedOut));
}

TEST(JobId, FormatAndParse) {
  EXPECT_EQ(FormatJobId(42), "j42");
  EXPECT_EQ(FormatRunId(7), "r7");
  EXPECT_EQ(FormatJobId(1), "j1");
  EXPECT_EQ(FormatJobId(INT64_MAX), "j9223372036854775807");
  EXPECT_EQ(FormatRunId(INT64_MIN), "r-9223372036854775808");
  EXPECT_EQ(ParseJobId(FormatJobId(INT64_MAX)), INT64_MAX);
  EXPECT_EQ(ParseJobId("j42"), 42);
  EXPECT_EQ(ParseRunId("r7"), 7);
  for (const char* bad : {"", "j", "j0", "j01", "r42", "42", "j4x", "j-1", "j99999999999999999999"})
    EXPECT_FALSE(ParseJobId(bad).has_value()) << bad;
}

TEST(RetryPolicy, DoublesUpToTheCap) {
  EXPECT_EQ(BackoffFloorMs(1, 5000, 3600000), 5000u);
  EXPECT_EQ(BackoffFloorMs(2, 5000, 3600000), 10000u);
  EXPECT_EQ(BackoffFloorMs(3, 5000, 3600000), 20000u);
  EXPECT_EQ(BackoffFloorMs(40, 5000, 3600000), 3600000u);
}

TEST(RetryPolicy, JitterOnlyAddsAndRetryAfterIsAFloor) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    auto d = BackoffDelayMs(2, 1000, 60000, 0, rng);
    EXPECT_GE(d, 2000u);
    EXPECT_LE(d, 2500u);
  }
  EXPECT_GE(BackoffDelayMs(1, 1000, 60000, 30000, rng), 30000u);
}

}  // namespace
}  // namespace sluice
