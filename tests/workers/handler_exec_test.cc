#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <thread>

#include "handler_harness.h"
#include "process_probe.h"
#include "workers/builtin_handlers.h"

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;
using testing::PidsIn;
using testing::ProcessIsGone;
using testing::RunHandler;
using testing::WaitGone;

// exec params running `script` with sh -c; `extra` is more JSON fields.
std::string Sh(const std::string& script, const std::string& extra = "") {
  nlohmann::json p = {{"command", "sh"}, {"args", {"-c", script}}};
  if (!extra.empty()) p.update(nlohmann::json::parse(extra));
  return p.dump();
}

TEST(Exec, SucceedsWithExitCodeAndBothTails) {
  auto r = RunHandler("exec", Sh("echo out; echo err >&2"));
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_EQ(*r.exit_code, 0);
  EXPECT_EQ(r.stdout_tail, "out\n");
  EXPECT_EQ(r.stderr_tail, "err\n");
}

TEST(Exec, ArgsArePassedAsIs) {
  auto r = RunHandler("exec", R"({"command": "printf", "args": ["[%s]", "a b", "", "$HOME"]})");
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(r.stdout_tail, "[a b][][$HOME]");
}

TEST(Exec, NonZeroExitFailsWithTheCode) {
  auto r = RunHandler("exec", Sh("echo partial; exit 3"));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_TRUE(r.retryable);
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_EQ(*r.exit_code, 3);
  EXPECT_EQ(r.stdout_tail, "partial\n");
  EXPECT_NE(r.error.find("exit code 3"), std::string::npos) << r.error;
}

TEST(Exec, DeathBySignalIsAFailureWithNegativeExitCode) {
  auto r = RunHandler("exec", Sh("kill -KILL $$"));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_EQ(*r.exit_code, -SIGKILL);
  EXPECT_NE(r.error.find("signal 9"), std::string::npos) << r.error;
}

TEST(Exec, KeepsOnlyTheLast4096BytesOfOutput) {
  auto r = RunHandler("exec", Sh("head -c 200000 /dev/zero | tr '\\0' a; printf END; "
                                 "head -c 100000 /dev/zero | tr '\\0' b >&2; printf ERR >&2"));
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  ASSERT_EQ(r.stdout_tail.size(), 4096u);
  EXPECT_EQ(r.stdout_tail.substr(4093), "END");
  EXPECT_EQ(r.stdout_tail.substr(0, 10), "aaaaaaaaaa");
  ASSERT_EQ(r.stderr_tail.size(), 4096u);
  EXPECT_EQ(r.stderr_tail.substr(4093), "ERR");
}

TEST(Exec, TimeoutKillsTheChildAndItsGrandchildren) {
  CancelToken token(Clock::now() + 300ms);
  auto start = Clock::now();
  // Two background sleeps (grandchildren of the worker) and the shell itself.
  auto r = RunHandler("exec", Sh("sleep 300 & echo $!; sleep 300 & echo $!; echo $$; wait"), token,
                      1, 300);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut) << r.error;
  EXPECT_NE(r.error.find("timed out after 300 ms"), std::string::npos) << r.error;
  EXPECT_LT(Clock::now() - start, 60s);
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_EQ(*r.exit_code, -SIGTERM);
  std::vector<pid_t> pids = PidsIn(r.stdout_tail);
  ASSERT_EQ(pids.size(), 3u) << r.stdout_tail;
  for (pid_t pid : pids) EXPECT_TRUE(WaitGone(pid)) << "pid " << pid << " survived the timeout";
}

TEST(Exec, AChildIgnoringSigtermGetsSigkill) {
  CancelToken token(Clock::now() + 200ms);
  auto start = Clock::now();
  auto r = RunHandler("exec", Sh("trap '' TERM; echo $$; sleep 300 & echo $!; wait"), token, 1, 200);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut) << r.error;
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200 + kExecKillGraceMs - 50));
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_EQ(*r.exit_code, -SIGKILL);
  std::vector<pid_t> pids = PidsIn(r.stdout_tail);
  ASSERT_EQ(pids.size(), 2u) << r.stdout_tail;
  for (pid_t pid : pids) EXPECT_TRUE(WaitGone(pid)) << "pid " << pid << " survived";
}

TEST(Exec, CancelKillsTheProcessGroup) {
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    token.Cancel(StopReason::kCancelled);
  });
  auto r = RunHandler("exec", Sh("sleep 300 & echo $!; wait"), token);
  canceller.join();
  EXPECT_EQ(r.outcome, Outcome::kCancelled) << r.error;
  std::vector<pid_t> pids = PidsIn(r.stdout_tail);
  ASSERT_EQ(pids.size(), 1u) << r.stdout_tail;
  EXPECT_TRUE(WaitGone(pids[0]));
}

TEST(Exec, ShutdownReturnsTheJob) {
  CancelToken token;
  token.Cancel(StopReason::kReturned);
  auto r = RunHandler("exec", Sh("sleep 300"), token);
  EXPECT_EQ(r.outcome, Outcome::kReturned) << r.error;
}

TEST(Exec, WhatTheProgramLeavesBehindIsKilledWhenItExits) {
  auto start = Clock::now();
  auto r = RunHandler("exec", Sh("sleep 300 & echo $!"));
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_LT(Clock::now() - start, 60s);
  std::vector<pid_t> pids = PidsIn(r.stdout_tail);
  ASSERT_EQ(pids.size(), 1u) << r.stdout_tail;
  EXPECT_TRUE(WaitGone(pids[0]));
}

TEST(Exec, JobRunsInItsOwnProcessGroupLedByItsSupervisor) {
  // /proc/self/stat of `cat`: field 5 is its process group, which must be
  // that of the shell's parent (the supervisor leads the job's group), not
  // the test's group.
  auto r = RunHandler("exec", Sh("echo $PPID; cat /proc/self/stat"));
  ASSERT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  std::istringstream in(r.stdout_tail);
  std::string supervisor_pid, stat;
  std::getline(in, supervisor_pid);
  std::getline(in, stat);
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state, ppid, pgrp;
  fields >> state >> ppid >> pgrp;
  EXPECT_EQ(pgrp, supervisor_pid);
  EXPECT_NE(pgrp, std::to_string(::getpgrp()));
}

TEST(Exec, EnvIsAddedAndCwdIsUsed) {
  char tmpl[] = "/tmp/sluice-exec-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::filesystem::canonical(tmpl).string();
  ::setenv("SLUICE_EXEC_TEST_INHERITED", "from-worker", 1);
  auto r = RunHandler(
      "exec", Sh("printf '%s|%s|%s\\n' \"$SLUICE_T\" \"$HOME\" \"$SLUICE_EXEC_TEST_INHERITED\"; pwd -P",
                 R"({"env": {"SLUICE_T": "hello world", "HOME": "/custom/home"}, "cwd": ")" + dir + R"("})"));
  ::unsetenv("SLUICE_EXEC_TEST_INHERITED");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(r.stdout_tail, "hello world|/custom/home|from-worker\n" + dir + "\n");
}

TEST(Exec, TheChildKnowsItsJobAndAttempt) {
  // A program tags its side effects with them; the params' env cannot
  // override them.
  auto r = RunHandler("exec", Sh("printf '%s %s\\n' \"$SLUICE_JOB_ID\" \"$SLUICE_ATTEMPT\"",
                                 R"({"env": {"SLUICE_ATTEMPT": "99", "SLUICE_JOB_ID": "forged"}})"),
                      /*attempt=*/3);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(r.stdout_tail, "j1 3\n");
}

TEST(Exec, PathFromEnvParamIsSearched) {
  char tmpl[] = "/tmp/sluice-exec-path-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    std::ofstream script(dir + "/sluice-test-tool");
    script << "#!/bin/sh\necho tool ran\n";
  }
  ::chmod((dir + "/sluice-test-tool").c_str(), 0755);
  auto r = RunHandler("exec", R"({"command": "sluice-test-tool", "env": {"PATH": ")" + dir +
                                  R"(:/usr/bin:/bin"}})");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(r.stdout_tail, "tool ran\n");
}

TEST(Exec, UnknownCommandFailsAndSaysSo) {
  auto r = RunHandler("exec", R"({"command": "sluice-no-such-command"})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("'sluice-no-such-command' not found"), std::string::npos) << r.error;
  auto r2 = RunHandler("exec", R"({"command": "/nonexistent/prog"})");
  EXPECT_EQ(r2.outcome, Outcome::kFailed);
  EXPECT_NE(r2.error.find("cannot execute '/nonexistent/prog'"), std::string::npos) << r2.error;
}

TEST(Exec, MissingCwdFailsAndNamesIt) {
  auto r = RunHandler("exec", R"({"command": "true", "cwd": "/nonexistent/dir"})");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("'/nonexistent/dir'"), std::string::npos) << r.error;
}

TEST(Exec, BadParamsAreNotRetryableAndNameTheParam) {
  struct Case {
    const char* params;
    const char* names;
  } cases[] = {
      {"{}", "'command'"},
      {R"({"command": 5})", "'command'"},
      {R"({"command": ""})", "'command'"},
      {R"({"command": "true", "args": "x"})", "'args'"},
      {R"({"command": "true", "args": ["ok", 1]})", "'args' item 1"},
      {R"({"command": "true", "env": ["A=1"]})", "'env'"},
      {R"({"command": "true", "env": {"A": 1}})", "'env' entry 'A'"},
      {R"({"command": "true", "env": {"A=B": "1"}})", "'env' entry 'A=B'"},
      {R"({"command": "true", "cwd": 7})", "'cwd'"},
  };
  for (const Case& c : cases) {
    auto r = RunHandler("exec", c.params);
    EXPECT_EQ(r.outcome, Outcome::kFailed) << c.params;
    EXPECT_FALSE(r.retryable) << c.params;
    EXPECT_NE(r.error.find(c.names), std::string::npos) << c.params << " -> " << r.error;
    EXPECT_FALSE(r.exit_code.has_value()) << c.params;
  }
}

}  // namespace
}  // namespace sluice::worker
