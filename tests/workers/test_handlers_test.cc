// The test.* handlers and the handler table.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "handler_harness.h"

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;
using testing::RunHandler;

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(HandlerTable, ExecIsAnnouncedOnlyWithAllowExec) {
  EXPECT_FALSE(Has(AnnouncedKinds(false), "exec"));
  EXPECT_TRUE(Has(AnnouncedKinds(true), "exec"));
  for (const char* kind : {"test.noop", "test.sleep", "test.fail", "test.crash"}) {
    EXPECT_TRUE(Has(AnnouncedKinds(false), kind)) << kind;
  }
}

TEST(HandlerTable, BlockingKindsRunOnSlotThreadsCheapOnesInline) {
  ASSERT_NE(FindHandler("exec"), nullptr);
  EXPECT_EQ(FindHandler("exec")->execution, Execution::kSlotThread);
  EXPECT_TRUE(FindHandler("exec")->needs_allow_exec);
  EXPECT_EQ(FindHandler("test.sleep")->execution, Execution::kSlotThread);
  EXPECT_EQ(FindHandler("test.noop")->execution, Execution::kInline);
  EXPECT_EQ(FindHandler("test.fail")->execution, Execution::kInline);
  EXPECT_EQ(FindHandler("test.crash")->execution, Execution::kInline);
  EXPECT_EQ(FindHandler("no.such.kind"), nullptr);
}

TEST(TestNoop, Succeeds) {
  auto r = RunHandler("test.noop", "{}");
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.job, "j1");
  EXPECT_EQ(r.attempt, 1u);
  EXPECT_TRUE(r.error.empty());
}

TEST(TestFail, FailsBelowSucceedOnThenSucceeds) {
  for (std::uint32_t attempt : {1u, 2u}) {
    auto r = RunHandler("test.fail", R"({"succeed_on": 3})", attempt);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << "attempt " << attempt;
    EXPECT_TRUE(r.retryable);
    EXPECT_EQ(r.error, "test.fail: attempt " + std::to_string(attempt) + " < succeed_on 3");
  }
  EXPECT_EQ(RunHandler("test.fail", R"({"succeed_on": 3})", 3).outcome, Outcome::kSucceeded);
  EXPECT_EQ(RunHandler("test.fail", R"({"succeed_on": 3})", 4).outcome, Outcome::kSucceeded);
  EXPECT_EQ(RunHandler("test.fail", R"({"succeed_on": 0})", 1).outcome, Outcome::kSucceeded);
  EXPECT_EQ(RunHandler("test.fail", R"({"succeed_on": -5})", 1).outcome, Outcome::kSucceeded);
}

// `sluice submit test.fail --param succeed_on=3` sends the string "3".
TEST(TestFail, SucceedOnAsText) {
  EXPECT_EQ(RunHandler("test.fail", R"({"succeed_on": "3"})", 2).outcome, Outcome::kFailed);
  EXPECT_EQ(RunHandler("test.fail", R"({"succeed_on": "3"})", 3).outcome, Outcome::kSucceeded);
}

TEST(TestFail, BadParamsAreNotRetryableAndNameTheParam) {
  for (const char* params : {"{}", R"({"succeed_on": "3x"})", R"({"succeed_on": " 3"})", R"({"succeed_on": 1.5})"}) {
    auto r = RunHandler("test.fail", params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << params;
    EXPECT_FALSE(r.retryable) << params;
    EXPECT_NE(r.error.find("'succeed_on'"), std::string::npos) << r.error;
  }
}

TEST(TestSleep, SleepsAtLeastMs) {
  auto start = Clock::now();
  auto r = RunHandler("test.sleep", R"({"ms": 100})");
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_GE(Clock::now() - start, 100ms);
}

TEST(TestSleep, StopsAtItsTimeout) {
  CancelToken token(Clock::now() + 100ms);
  auto start = Clock::now();
  auto r = RunHandler("test.sleep", R"({"ms": 600000})", token, 1, 100);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_GE(Clock::now() - start, 95ms);
  EXPECT_LT(Clock::now() - start, 60s);
}

// retry_ms: the first attempt sleeps `ms`, every later one `retry_ms`.
TEST(TestSleep, RetryMsOnLaterAttempts) {
  const char* params = R"({"ms": 600000, "retry_ms": 10})";
  CancelToken first(Clock::now() + 100ms);
  EXPECT_EQ(RunHandler("test.sleep", params, first, 1, 100).outcome, Outcome::kTimedOut) << "attempt 1 sleeps ms";
  CancelToken later(Clock::now() + 60s);  // a guard: never reached unless retry_ms is ignored
  auto r = RunHandler("test.sleep", params, later, 2, 60000);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  auto bad = RunHandler("test.sleep", R"({"ms": 10, "retry_ms": "soon"})");
  EXPECT_EQ(bad.outcome, Outcome::kFailed);
  EXPECT_NE(bad.error.find("'retry_ms'"), std::string::npos) << bad.error;
}

TEST(TestSleep, IsCancellable) {
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    token.Cancel(StopReason::kCancelled);
  });
  auto r = RunHandler("test.sleep", R"({"ms": 600000})", token);
  canceller.join();
  EXPECT_EQ(r.outcome, Outcome::kCancelled);
}

TEST(TestSleep, ShutdownReturnsIt) {
  CancelToken token;
  token.Cancel(StopReason::kReturned);
  EXPECT_EQ(RunHandler("test.sleep", R"({"ms": 600000})", token).outcome, Outcome::kReturned);
}

// `sluice submit test.sleep --param ms=100` sends the string "100".
TEST(TestSleep, MsAsText) {
  const auto start = Clock::now();
  auto r = RunHandler("test.sleep", R"({"ms": "100"})");
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_GE(Clock::now() - start, 100ms);
}

TEST(TestSleep, BadParamsAreNotRetryableAndNameTheParam) {
  for (const char* params : {"{}", R"({"ms": "100ms"})", R"({"ms": "-1"})", R"({"ms": -1})"}) {
    auto r = RunHandler("test.sleep", params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << params;
    EXPECT_FALSE(r.retryable) << params;
    EXPECT_NE(r.error.find("'ms'"), std::string::npos) << r.error;
  }
}

TEST(TestCrashDeathTest, AbortsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunHandler("test.crash", "{}"), ::testing::KilledBySignal(SIGABRT), "test.crash");
}

}  // namespace
}  // namespace sluice::worker
