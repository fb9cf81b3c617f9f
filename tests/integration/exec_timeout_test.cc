// An `exec` job past its timeout: the worker kills the child *and the
// child's children* (a shell that backgrounded a sleep), and the attempt is
// recorded `timed_out`. Fault tests (issue 9): a handler that does not
// return by itself, and an `exec` child that is SIGSTOPped, are stopped at
// their timeout and free their slot: the next job on a 1-slot worker runs.
#include "tests/integration/integration_test.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>

namespace sluice::testing {
namespace {

class ExecTimeoutTest : public IntegrationTest {
 protected:
  void TearDown() override {
    // Never leave the sleeps behind, whatever happened: the shell leads its
    // own process group (the worker's doing), which holds both sleeps.
    for (pid_t p : pids_)
      if (p > 0 && PidAlive(p)) ::kill(p, SIGKILL);
    if (shell_group_ > 0) ::kill(-shell_group_, SIGKILL);
    IntegrationTest::TearDown();
  }
  // /proc/<pid>/stat's state letter ('T': stopped), or 0 when it is gone.
  static char ProcState(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    std::size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
  }
  // `first` timed out and then `next`, queued behind it on the same single
  // slot, succeeded: the slot was freed.
  void ExpectTimedOutThenNextRan(const std::string& first, const std::string& next) {
    json job = WaitForState(first, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
    ASSERT_EQ(job.value("state", ""), "dead") << job.dump();
    ASSERT_TRUE(job["attempts"].is_array() && job["attempts"].size() == 1) << job.dump();
    EXPECT_EQ(job["attempts"][0].value("outcome", ""), "timed_out") << job.dump();
    json after = WaitForState(next, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
    EXPECT_EQ(after.value("state", ""), "succeeded") << after.dump();
    StateDb db(cluster_.state_path());
    ASSERT_TRUE(db.ok()) << db.error();
    EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE job_id = '" + first + "' AND outcome = 'timed_out'"), 1);
    EXPECT_TRUE(cluster_.workers()[0]->Running()) << cluster_.workers()[0]->Describe();
  }
  static pid_t ReadPid(const std::string& path) {
    std::ifstream in(path);
    long v = 0;
    return (in >> v) ? static_cast<pid_t>(v) : -1;
  }
  std::vector<pid_t> pids_;
  pid_t shell_group_ = -1;
};

TEST_F(ExecTimeoutTest, TimeoutKillsTheChildAndItsChildren) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(1, {"--allow-exec", "--grace", "1"});

  const std::string bg_file = dir_.File("background.pid");
  const std::string sh_file = dir_.File("shell.pid");
  const std::string script = "sleep 300 & echo $! > '" + bg_file + "'; echo $$ > '" + sh_file +
                             "'; sleep 300";
  proto::JobSpec spec = Spec("exec", json{{"command", "/bin/sh"}, {"args", json::array({"-c", script})}}, 1);
  spec.timeout_ms = 2000;
  const std::string id = SubmitOne(spec);
  ASSERT_FALSE(id.empty());

  // Both pids are written once the shell runs.
  ASSERT_TRUE(WaitUntil([&] { return ReadPid(bg_file) > 0 && ReadPid(sh_file) > 0; }, Scaled(Ms(60000))))
      << "the exec job never started its shell";
  const pid_t background = ReadPid(bg_file);
  const pid_t shell = ReadPid(sh_file);
  pids_ = {background, shell};
  if (::getpgid(shell) == shell) shell_group_ = shell;

  json job = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
  ASSERT_EQ(job.value("state", ""), "dead") << job.dump();
  ASSERT_TRUE(job["attempts"].is_array() && job["attempts"].size() == 1) << job.dump();
  EXPECT_EQ(job["attempts"][0].value("outcome", ""), "timed_out") << job.dump();

  // Killing can take a grace period; the processes must be gone soon after.
  EXPECT_TRUE(WaitUntil([&] { return !PidAlive(shell); }, Scaled(Ms(15000))))
      << "the exec'd shell (pid " << shell << ") survived its timeout";
  EXPECT_TRUE(WaitUntil([&] { return !PidAlive(background); }, Scaled(Ms(15000))))
      << "the shell's background child (pid " << background << ") survived the timeout";

  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE job_id = '" + id + "' AND outcome = 'timed_out'"), 1);
  // The worker survives killing its job.
  EXPECT_TRUE(cluster_.workers()[0]->Running()) << cluster_.workers()[0]->Describe();
}

TEST_F(ExecTimeoutTest, AStoppedExecChildIsKilledAtItsTimeoutAndFreesTheSlot) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(1, {"--allow-exec", "--grace", "1"});

  // The shell writes its pid, then stops itself: it will not act on
  // anything but SIGKILL (or SIGCONT) on its own.
  const std::string sh_file = dir_.File("stopped.pid");
  const std::string script = "echo $$ > '" + sh_file + "'; kill -STOP $$; sleep 300";
  proto::JobSpec stopped = Spec("exec", json{{"command", "/bin/sh"}, {"args", json::array({"-c", script})}}, 1);
  stopped.timeout_ms = 3000;
  const std::string id = SubmitOne(stopped);
  ASSERT_FALSE(id.empty());
  const std::string next = SubmitOne(Spec("exec", json{{"command", "/bin/true"}}, 1));
  ASSERT_FALSE(next.empty());

  ASSERT_TRUE(WaitUntil([&] { return ReadPid(sh_file) > 0; }, Scaled(Ms(60000))))
      << "the exec job never started its shell";
  const pid_t shell = ReadPid(sh_file);
  pids_ = {shell};
  if (::getpgid(shell) == shell) shell_group_ = shell;
  // It really is stopped (unless the timeout already came and went).
  EXPECT_TRUE(WaitUntil([&] { char s = ProcState(shell); return s == 'T' || s == 0 || s == 'Z'; }, Scaled(Ms(10000))))
      << "the shell did not stop itself: state " << ProcState(shell);

  ASSERT_NO_FATAL_FAILURE(ExpectTimedOutThenNextRan(id, next));
  EXPECT_TRUE(WaitUntil([&] { return !PidAlive(shell); }, Scaled(Ms(15000))))
      << "the stopped shell (pid " << shell << ") survived its timeout";
}

TEST_F(ExecTimeoutTest, AHandlerThatWouldNotReturnIsStoppedAtItsTimeoutAndFreesTheSlot) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(1, {"--grace", "1"});

  // test.sleep would sleep for an hour; it runs on the single slot thread.
  proto::JobSpec forever = Spec("test.sleep", json{{"ms", 3600000}}, 1);
  forever.timeout_ms = 1500;
  const std::string id = SubmitOne(forever);
  ASSERT_FALSE(id.empty());
  const std::string next = SubmitOne(Spec("test.sleep", json{{"ms", 1}}, 1));
  ASSERT_FALSE(next.empty());
  ASSERT_NO_FATAL_FAILURE(ExpectTimedOutThenNextRan(id, next));
}

}  // namespace
}  // namespace sluice::testing
