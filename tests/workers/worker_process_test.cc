// The real sluice-worker binary, started with fork/exec against a fake
// broker: flags and exit codes, SIGTERM handing jobs back, test.crash, and
// exec children dying with the worker. Every started process is killed and
// reaped when its test ends, pass or fail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "fake_broker.h"
#include "handler_harness.h"
#include "process_probe.h"
#include "schemas/curve_cert.h"

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;
using proto::Command;
using testing::DecodeResult;
using testing::FakeBroker;
using testing::Params;
using testing::WaitGone;

constexpr auto kWait = 20s;

// A started sluice-worker; SIGKILLed and reaped on destruction if still there.
class WorkerProcess {
 public:
  // `stderr_path`: where its stderr goes ("" = inherit).
  explicit WorkerProcess(const std::vector<std::string>& args, const std::string& stderr_path = "") {
    std::vector<std::string> argv = {SLUICE_WORKER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!stderr_path.empty()) {
        int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) ::dup2(fd, 2);
      }
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
  }
  ~WorkerProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait(kWait);
    }
  }
  pid_t pid() const { return pid_; }
  void Signal(int sig) { ::kill(pid_, sig); }
  // The wait status, or nullopt if it did not end within `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return status;
      }
      if (r < 0 || std::chrono::steady_clock::now() >= end) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/sluice-worker-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

TEST(WorkerProcess, HelpExitsZero) {
  TempDir dir;
  WorkerProcess p({"--help"});
  auto status = p.Wait(kWait);
  ASSERT_TRUE(status);
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(WorkerProcess, BadFlagsExitTwoWithOneLine) {
  TempDir dir;
  const std::vector<std::vector<std::string>> bad = {
      {"--slots", "0"},          {"--slots", "many"},     {"--no-such-flag"},
      {"--queues", "ok,not ok"}, {"--heartbeat-ms", "5"}, {"--grace", "-1"},
      {"--broker", "nonsense"},
      {"--secret-env", "NOT-A-NAME"}, {"--secret-env", "A,1B"}, {"--models-root", ""},
      {"--extract-max-bytes", "-1"},
      {"--curve-key", "/nonexistent/w.key"}, {"--broker-key", "/nonexistent/b.pub"},
      {"--curve-key", "/nonexistent/w.key", "--broker-key", "/nonexistent/b.pub"},
  };
  for (const auto& args : bad) {
    const std::string err = dir.path + "/stderr";
    WorkerProcess p(args, err);
    auto status = p.Wait(kWait);
    ASSERT_TRUE(status) << args[0];
    ASSERT_TRUE(WIFEXITED(*status)) << args[0];
    EXPECT_EQ(WEXITSTATUS(*status), 2) << args[0];
    std::string text = ReadFile(err);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << args[0] << ": " << text;
  }
}

// The confinement flags and their environment variables reach the
// handlers: a flag wins over its variable, the variables split on ':' and ','.
TEST(WorkerProcess, ModelsRootsAndSecretNamesFromFlagsAndEnvironment) {
  TempDir dir;
  const std::string a = dir.path + "/a", b = dir.path + "/b";
  std::filesystem::create_directories(a);
  std::filesystem::create_directories(b);
  const std::string a_real = std::filesystem::canonical(a).string();
  const std::string b_real = std::filesystem::canonical(b).string();
  struct Case {
    std::vector<std::string> flags;
    std::map<std::string, std::string> env;
    std::string roots_shown;    // in a refused load's error
    std::string secrets_shown;  // in a refused extract's error
  };
  const Case cases[] = {
      {{}, {{"SLUICE_MODELS_ROOT", a + ":" + b}, {"SLUICE_SECRET_ENV", "API_KEY,VENDOR_*"}},
       "(" + a_real + ", " + b_real + ")", "--secret-env: API_KEY, VENDOR_*"},
      {{"--models-root", b, "--secret-env", "ONE", "--secret-env", "TWO_*,THREE"},
       {{"SLUICE_MODELS_ROOT", a}, {"SLUICE_SECRET_ENV", "API_KEY"}},
       "(" + b_real + ")", "--secret-env: ONE, TWO_*, THREE"},
      {{}, {}, "(" + std::filesystem::current_path().string() + ")", "--secret-env: SLUICE_SECRET_*"},
  };
  for (const Case& c : cases) {
    FakeBroker broker;
    for (const auto& [k, v] : c.env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<std::string> args = {"--broker", broker.endpoint(), "--worker-id", "wp-confine",
                                     "--heartbeat-ms", "200", "--landing", dir.path + "/landing"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    WorkerProcess p(args);
    for (const auto& [k, v] : c.env) ::unsetenv(k.c_str());
    auto ready = broker.ReceiveCommand(Command::kReady, kWait);
    ASSERT_TRUE(ready);
    std::map<std::string, proto::JobResult> results;
    broker.seen = [&](const testing::Received& m) {
      if (m.command == Command::kResult) {
        proto::JobResult r = DecodeResult(m);
        results[r.job] = r;
      }
    };
    broker.SendJob(ready->peer, "load", 1, "load", Params(R"({"sources": "/etc/passwd"})"));
    broker.SendJob(ready->peer, "extract", 1, "extract.http",
                   Params(R"({"url": "http://127.0.0.1:1/x", "source": "s", "headers": {"X": "${env:HOME}"}})"));
    ASSERT_TRUE(broker.PumpUntil([&] { return results.size() == 2; }, kWait));
    broker.seen = nullptr;
    EXPECT_EQ(results["load"].outcome, Outcome::kFailed);
    EXPECT_FALSE(results["load"].retryable);
    EXPECT_NE(results["load"].error.find(c.roots_shown), std::string::npos) << results["load"].error;
    EXPECT_EQ(results["extract"].outcome, Outcome::kFailed);
    EXPECT_FALSE(results["extract"].retryable);
    EXPECT_NE(results["extract"].error.find(c.secrets_shown), std::string::npos) << results["extract"].error;
    p.Signal(SIGKILL);
  }
}

// SLUICE_QUEUES, split on ','; --queues wins over it.
TEST(WorkerProcess, QueuesFromTheEnvironment) {
  for (bool flag : {false, true}) {
    FakeBroker broker;
    ::setenv("SLUICE_QUEUES", "lakehouse,default", 1);
    std::vector<std::string> args = {"--broker", broker.endpoint(), "--heartbeat-ms", "200"};
    if (flag) args.insert(args.end(), {"--queues", "extract"});
    WorkerProcess p(args);
    ::unsetenv("SLUICE_QUEUES");
    auto ready = broker.ReceiveCommand(Command::kReady, kWait);
    ASSERT_TRUE(ready);
    const std::vector<std::string> expected =
        flag ? std::vector<std::string>{"extract"} : std::vector<std::string>{"lakehouse", "default"};
    EXPECT_EQ(testing::DecodeReady(*ready).queues, expected);
    p.Signal(SIGKILL);
  }
}

// CURVE keys: from the flags or SLUICE_CURVE_KEY / SLUICE_BROKER_KEY; a
// key file that cannot be used stops the worker at once (exit 2), naming it.
TEST(WorkerProcess, CurveKeyFiles) {
  TempDir dir;
  std::string broker_key, broker_pub, worker_key, worker_pub;
  ASSERT_TRUE(curve::WriteNewCert(dir.path, "broker", &broker_key, &broker_pub).ok());
  ASSERT_TRUE(curve::WriteNewCert(dir.path, "worker", &worker_key, &worker_pub).ok());
  const std::string loose = dir.path + "/loose.key";
  std::filesystem::copy_file(worker_key, loose);
  std::filesystem::permissions(loose, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  const std::string missing = dir.path + "/missing.pub";
  const std::string err = dir.path + "/stderr";
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--curve-key", worker_key, "--broker-key", missing}, missing},
      {{"--curve-key", worker_pub, "--broker-key", broker_pub}, worker_pub},  // no secret key
      {{"--curve-key", loose, "--broker-key", broker_pub}, loose},            // readable by others
      {{"--curve-key", worker_key, "--broker-key", dir.path}, dir.path},      // a folder
      {{"--curve-key", worker_key}, "--broker-key"},
  };
  for (const auto& [args, named] : bad) {
    WorkerProcess p(args, err);
    auto status = p.Wait(kWait);
    ASSERT_TRUE(status) << args[1];
    ASSERT_TRUE(WIFEXITED(*status)) << args[1];
    EXPECT_EQ(WEXITSTATUS(*status), 2) << args[1];
    std::string text = ReadFile(err);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_NE(text.find(named), std::string::npos) << text;
  }
  if (!zmq_has("curve")) GTEST_SKIP() << "libzmq without CURVE";
  const curve::KeyPair server = curve::ReadSecretCert(broker_key).value();
  FakeBroker broker(0, 100ms, &server);
  ::setenv("SLUICE_CURVE_KEY", worker_key.c_str(), 1);
  ::setenv("SLUICE_BROKER_KEY", broker_pub.c_str(), 1);
  WorkerProcess p({"--broker", broker.endpoint(), "--heartbeat-ms", "200"}, err);
  ::unsetenv("SLUICE_CURVE_KEY");
  ::unsetenv("SLUICE_BROKER_KEY");
  ASSERT_TRUE(broker.ReceiveCommand(Command::kReady, kWait)) << ReadFile(err);
  p.Signal(SIGKILL);
  ASSERT_TRUE(p.Wait(kWait));
  EXPECT_NE(ReadFile(err).find("CURVE with public key " + curve::ReadPublicKey(worker_pub).value()),
            std::string::npos)
      << ReadFile(err);
}

// ERROR forbidden: one log line per refused connection, however many
// messages the broker refuses on it; a line when the key is accepted again.
TEST(WorkerProcess, ForbiddenIsLoggedOncePerConnection) {
  TempDir dir;
  const std::string err = dir.path + "/stderr";
  FakeBroker broker;
  broker.set_silent(true);
  WorkerProcess p({"--broker", broker.endpoint(), "--worker-id", "wp-refused", "--heartbeat-ms", "50"}, err);
  std::vector<std::string> peers;  // one per connection, in order
  while (peers.size() < 4) {
    auto m = broker.ReceiveCommand(Command::kReady, kWait);
    ASSERT_TRUE(m) << peers.size() << " connections: " << ReadFile(err);
    peers.push_back(m->peer);
    if (peers.size() == 4) break;
    // READY and whatever else it sent: each refused.
    for (int i = 0; i < 3; ++i) broker.SendError(m->peer, proto::err::kForbidden, "not a worker key");
  }
  // The 4th connection is accepted: a JOB runs.
  broker.SendJob(peers.back(), "j1", 1, "test.noop", Params("{}"));
  auto r = broker.ReceiveCommand(Command::kResult, kWait);
  ASSERT_TRUE(r);
  EXPECT_EQ(DecodeResult(*r).outcome, Outcome::kSucceeded);
  p.Signal(SIGKILL);
  ASSERT_TRUE(p.Wait(kWait));
  const std::string log = ReadFile(err);
  std::size_t refusals = 0;
  for (std::size_t at = 0; (at = log.find("the broker refused this worker's key (forbidden): not a worker key", at)) !=
                           std::string::npos;
       ++at)
    ++refusals;
  EXPECT_EQ(refusals, 3u) << log;
  EXPECT_NE(log.find("the broker accepts this worker's key again"), std::string::npos) << log;
}

TEST(WorkerProcess, SigtermReturnsUnfinishedJobsAndExitsZero) {
  FakeBroker broker;
  std::map<std::string, proto::JobResult> results;
  bool saw_drain = false;
  broker.seen = [&](const testing::Received& m) {
    proto::Heartbeat beat;
    if (m.command == Command::kHeartbeat && proto::Decode(m.body, &beat).ok() && beat.slots == 0u)
      saw_drain = true;
    if (m.command == Command::kResult) {
      proto::JobResult r = DecodeResult(m);
      results[r.job] = r;
    }
  };
  WorkerProcess p({"--broker", broker.endpoint(), "--worker-id", "wp1", "--slots", "3",
                   "--grace", "1", "--heartbeat-ms", "200"});
  auto ready = broker.ReceiveCommand(Command::kReady, kWait);
  ASSERT_TRUE(ready);
  const std::string peer = ready->peer;
  broker.SendJob(peer, "quick", 1, "test.sleep", Params(R"({"ms": 100})"));
  broker.SendJob(peer, "slow1", 1, "test.sleep", Params(R"({"ms": 600000})"));
  broker.SendJob(peer, "slow2", 4, "test.sleep", Params(R"({"ms": 600000})"));
  ASSERT_TRUE(broker.PumpUntil([&] { return results.count("quick") == 1; }, kWait));
  p.Signal(SIGTERM);
  ASSERT_TRUE(broker.PumpUntil([&] { return saw_drain; }, kWait)) << "no HEARTBEAT {slots: 0} after SIGTERM";
  broker.SendJob(peer, "during", 1, "test.noop", Params("{}"));
  ASSERT_TRUE(broker.PumpUntil([&] { return results.size() == 4; }, kWait)) << results.size() << " results";
  for (const auto& [job, r] : results) broker.SendAck(peer, {{job, r.attempt}});
  broker.seen = nullptr;

  EXPECT_EQ(results["quick"].outcome, Outcome::kSucceeded);
  EXPECT_EQ(results["slow1"].outcome, Outcome::kReturned);
  EXPECT_EQ(results["slow2"].outcome, Outcome::kReturned);
  EXPECT_EQ(results["slow2"].attempt, 4u);
  EXPECT_EQ(results["during"].outcome, Outcome::kReturned);
  ASSERT_TRUE(broker.ReceiveCommand(Command::kBye, kWait));
  auto status = p.Wait(kWait);
  ASSERT_TRUE(status);
  ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(WorkerProcess, ASecondSigtermReturnsJobsWithoutWaitingForGrace) {
  FakeBroker broker;
  WorkerProcess p({"--broker", broker.endpoint(), "--worker-id", "wp2", "--grace", "3600",
                   "--heartbeat-ms", "200"});
  auto ready = broker.ReceiveCommand(Command::kReady, kWait);
  ASSERT_TRUE(ready);
  broker.SendJob(ready->peer, "slow", 1, "test.sleep", Params(R"({"ms": 600000})"));
  broker.Pump(300ms);
  p.Signal(SIGTERM);
  broker.Pump(300ms);
  p.Signal(SIGTERM);
  auto m = broker.ReceiveCommand(Command::kResult, kWait);
  ASSERT_TRUE(m);
  EXPECT_EQ(DecodeResult(*m).outcome, Outcome::kReturned);
  broker.SendAck(ready->peer, {{"slow", 1}});
  auto status = p.Wait(kWait);
  ASSERT_TRUE(status);
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(WorkerProcess, SigtermKillsRunningExecChildren) {
  FakeBroker broker;
  TempDir dir;
  WorkerProcess p({"--broker", broker.endpoint(), "--worker-id", "wp3", "--grace", "0.2",
                   "--heartbeat-ms", "200", "--allow-exec"});
  auto ready = broker.ReceiveCommand(Command::kReady, kWait);
  ASSERT_TRUE(ready);
  const std::string pidfile = dir.path + "/pid";
  broker.SendJob(ready->peer, "sleeper", 1, "exec",
                 Params(R"({"command": "sh", "args": ["-c", "echo $$ > )" + pidfile + R"(; exec sleep 300"]})"));
  pid_t child = 0;
  for (auto end = std::chrono::steady_clock::now() + kWait; child == 0 && std::chrono::steady_clock::now() < end;) {
    broker.Pump(50ms);
    auto pids = testing::PidsIn(ReadFile(pidfile));
    if (!pids.empty()) child = pids[0];
  }
  ASSERT_NE(child, 0) << "the exec job did not start";
  p.Signal(SIGTERM);
  auto m = broker.ReceiveCommand(Command::kResult, kWait);
  ASSERT_TRUE(m);
  EXPECT_EQ(DecodeResult(*m).outcome, Outcome::kReturned);
  broker.SendAck(ready->peer, {{"sleeper", 1}});
  auto status = p.Wait(kWait);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WaitGone(child)) << "exec child " << child << " outlived the worker";
}

TEST(WorkerProcess, TestCrashAbortsTheWorkerAndItsExecChildrenDieWithIt) {
  FakeBroker broker;
  TempDir dir;
  WorkerProcess p({"--broker", broker.endpoint(), "--worker-id", "wp4", "--heartbeat-ms", "200",
                   "--allow-exec"});
  auto ready = broker.ReceiveCommand(Command::kReady, kWait);
  ASSERT_TRUE(ready);
  const std::string pidfile = dir.path + "/pid";
  broker.SendJob(ready->peer, "sleeper", 1, "exec",
                 Params(R"({"command": "sh", "args": ["-c", "echo $$ > )" + pidfile + R"(; exec sleep 300"]})"));
  pid_t child = 0;
  for (auto end = std::chrono::steady_clock::now() + kWait; child == 0 && std::chrono::steady_clock::now() < end;) {
    broker.Pump(50ms);
    auto pids = testing::PidsIn(ReadFile(pidfile));
    if (!pids.empty()) child = pids[0];
  }
  ASSERT_NE(child, 0) << "the exec job did not start";
  broker.SendJob(ready->peer, "boom", 1, "test.crash", Params("{}"));
  auto status = p.Wait(kWait);
  ASSERT_TRUE(status) << "the worker did not die";
  ASSERT_TRUE(WIFSIGNALED(*status)) << "status " << *status;
  EXPECT_EQ(WTERMSIG(*status), SIGABRT);
  EXPECT_TRUE(WaitGone(child)) << "exec child " << child << " outlived the crashed worker";
}

// Regression: a SIGKILLed worker used to take only the exec'd program with
// it (PR_SET_PDEATHSIG); what the program had started lived on.
TEST(WorkerProcess, SigkillOfTheWorkerKillsTheJobsGrandchildrenToo) {
  FakeBroker broker;
  TempDir dir;
  WorkerProcess p({"--broker", broker.endpoint(), "--worker-id", "wp5", "--heartbeat-ms", "200",
                   "--allow-exec"});
  auto ready = broker.ReceiveCommand(Command::kReady, kWait);
  ASSERT_TRUE(ready);
  const std::string pidfile = dir.path + "/pids";
  // The shell starts a background sleep (a grandchild of the worker's job)
  // and waits; both pids go to the file.
  broker.SendJob(ready->peer, "family", 1, "exec",
                 Params(R"({"command": "sh", "args": ["-c", "sleep 300 & printf '%s\\n%s\\n' $$ $! > )" + pidfile +
                        R"(; wait"]})"));
  std::vector<pid_t> pids;
  for (auto end = std::chrono::steady_clock::now() + kWait; pids.size() < 2 && std::chrono::steady_clock::now() < end;) {
    broker.Pump(50ms);
    pids = testing::PidsIn(ReadFile(pidfile));
  }
  ASSERT_EQ(pids.size(), 2u) << "the exec job did not start";
  p.Signal(SIGKILL);
  ASSERT_TRUE(p.Wait(kWait));
  for (pid_t pid : pids) EXPECT_TRUE(WaitGone(pid)) << "pid " << pid << " outlived the SIGKILLed worker";
}

}  // namespace
}  // namespace sluice::worker
