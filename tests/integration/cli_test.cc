// The `sluice` CLI against a real broker and worker: submit + wait round
// trips with --json, the documented exit codes (0 ok, 1 waited job ended
// dead/cancelled/upstream_failed, 2 usage, 3 unreachable, 4 wait timeout),
// cancel of a queued job and retry of a dead one.
#include "tests/integration/integration_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

namespace sluice::testing {
namespace {

// The CLI's --json output: one JSON document, or NDJSON (the first line).
json ParseJsonOut(const std::string& out) {
  json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      return json::parse(line, nullptr, false);
  return json(json::value_t::discarded);
}

// A job object from --json output: the object itself, or the first job of
// a list (`wait` takes several ids and prints {"jobs": [job, ...]}).
json JobOf(const json& j) {
  if (j.is_array() && !j.empty()) return j[0];
  if (j.is_object() && !j.contains("id") && j.contains("jobs") && j["jobs"].is_array() &&
      !j["jobs"].empty())
    return j["jobs"][0];
  return j;
}

// A TCP port on 127.0.0.1 with nothing listening on it.
int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return 1;  // port 1 on loopback: nothing listens there either
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

class CliTest : public IntegrationTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartBroker());
    cluster_.StartWorker(2);
    ASSERT_TRUE(WaitForWorkers(1));
  }

  // `sluice --json submit ...`: the new job's id ("" + a failure if none).
  std::string CliSubmit(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "submit"});
    CommandResult r = cluster_.Cli(args);
    EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
    json j = JobOf(ParseJsonOut(r.out));
    EXPECT_TRUE(j.is_object() && j.contains("id") && j["id"].is_string()) << r.Describe();
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return {};
    return j["id"].get<std::string>();
  }
};

TEST_F(CliTest, SubmitAndWaitRoundTripWithJson) {
  const std::string id = CliSubmit({"test.noop"});
  ASSERT_FALSE(id.empty());
  EXPECT_GT(JobSeq(id), 0) << id;

  CommandResult r = cluster_.Cli({"--json", "wait", id, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  json j = JobOf(ParseJsonOut(r.out));
  ASSERT_TRUE(j.is_object()) << r.Describe();
  EXPECT_EQ(j.value("id", ""), id) << r.out;
  EXPECT_EQ(j.value("state", ""), "succeeded") << r.out;

  // status --json agrees, and global options also work after the subcommand.
  r = cluster_.Cli({"status", id, "--json", "--broker", cluster_.endpoint()}, Scaled(Ms(60000)),
                   /*with_broker_flag=*/false);
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  j = JobOf(ParseJsonOut(r.out));
  ASSERT_TRUE(j.is_object()) << r.Describe();
  EXPECT_EQ(j.value("id", ""), id) << r.out;
  EXPECT_EQ(j.value("state", ""), "succeeded") << r.out;

  // Parameters reach the worker: a test.sleep with --param-json ms=...
  const std::string sleeper = CliSubmit({"test.sleep", "--param-json", "ms=300", "--priority", "5"});
  ASSERT_FALSE(sleeper.empty());
  r = cluster_.Cli({"--json", "wait", sleeper, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  json job = client().Job(sleeper);
  ASSERT_TRUE(job.is_object());
  EXPECT_EQ(job.value("priority", 0), 5) << job.dump();
  EXPECT_EQ(job["params"].value("ms", json()), 300) << job.dump();
}

// `--param ms=300` sends the string "300": a built-in kind takes an integer
// param as text holding one (issue 10), so the job runs instead of dying.
TEST_F(CliTest, AnIntegerParamGivenAsText) {
  const std::string id = CliSubmit({"test.sleep", "--param", "ms=300", "--max-attempts", "1"});
  ASSERT_FALSE(id.empty());
  CommandResult r = cluster_.Cli({"--json", "wait", id, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  json job = client().Job(id);
  EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job["params"].value("ms", json()), "300") << job.dump();
  // Loose text is still refused, naming the param.
  const std::string loose = CliSubmit({"test.sleep", "--param", "ms=15ab", "--max-attempts", "1"});
  ASSERT_FALSE(loose.empty());
  r = cluster_.Cli({"wait", loose, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
  job = client().Job(loose);
  EXPECT_EQ(job.value("state", ""), "dead") << job.dump();
  EXPECT_NE(job.dump().find("'ms'"), std::string::npos) << job.dump();
}

TEST_F(CliTest, WaitExitsOneForADeadJob) {
  const std::string id = CliSubmit({"test.fail", "--param-json", "succeed_on=99", "--max-attempts", "1"});
  ASSERT_FALSE(id.empty());
  CommandResult r = cluster_.Cli({"--json", "wait", id, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
  json j = JobOf(ParseJsonOut(r.out));
  EXPECT_EQ(j.value("state", ""), "dead") << r.Describe();
}

TEST_F(CliTest, WaitExitsFourOnTimeout) {
  // Nobody serves this queue: the job stays queued.
  const std::string id = CliSubmit({"test.noop", "--queue", "nobody-serves-this"});
  ASSERT_FALSE(id.empty());
  CommandResult r = cluster_.Cli({"wait", id, "--timeout", "1"}, Scaled(Ms(60000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 4) << r.Describe();
  EXPECT_EQ(client().Job(id).value("state", ""), "queued");
}

TEST_F(CliTest, ExitsThreeWithNoBroker) {
  const std::string nowhere = "tcp://127.0.0.1:" + std::to_string(UnusedPort());
  // A short --rpc-timeout: the exit code, not the default wait, is the point.
  CommandResult r =
      cluster_.Cli({"--broker", nowhere, "--rpc-timeout", "0.5", "status", "j1"}, Scaled(Ms(120000)), false);
  EXPECT_TRUE(r.status.exited && r.status.code == 3) << r.Describe();
  r = cluster_.Cli({"--broker", nowhere, "--rpc-timeout", "0.5", "submit", "test.noop"}, Scaled(Ms(120000)), false);
  EXPECT_TRUE(r.status.exited && r.status.code == 3) << r.Describe();
}

TEST_F(CliTest, ExitsTwoOnUsageErrors) {
  CommandResult r = cluster_.Cli({"no-such-subcommand"});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.Describe();
  r = cluster_.Cli({"submit"});  // no kind
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.Describe();
}

TEST_F(CliTest, CancelOfAQueuedJob) {
  const std::string id = CliSubmit({"test.noop", "--queue", "nobody-serves-this"});
  ASSERT_FALSE(id.empty());
  CommandResult r = cluster_.Cli({"cancel", id});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  r = cluster_.Cli({"--json", "status", id});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  EXPECT_EQ(JobOf(ParseJsonOut(r.out)).value("state", ""), "cancelled") << r.Describe();
  // wait on a cancelled job: exit 1.
  r = cluster_.Cli({"wait", id, "--timeout", "30"});
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
  // Cancelling again is an error (terminal job), not a crash.
  r = cluster_.Cli({"cancel", id});
  EXPECT_TRUE(r.status.exited && r.status.code != 0 && r.status.code != 3) << r.Describe();
}

TEST_F(CliTest, RetryOfADeadJobRunsItAgain) {
  // Fails on attempt 1 (its only allowed attempt), succeeds on attempt 2.
  const std::string id = CliSubmit({"test.fail", "--param-json", "succeed_on=2", "--max-attempts", "1"});
  ASSERT_FALSE(id.empty());
  CommandResult r = cluster_.Cli({"wait", id, "--timeout", "60"}, Scaled(Ms(120000)));
  ASSERT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
  EXPECT_EQ(client().Job(id).value("state", ""), "dead");

  r = cluster_.Cli({"retry", id});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  r = cluster_.Cli({"--json", "wait", id, "--timeout", "60"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
  json job = client().Job(id);
  EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 2) << job.dump();
}

}  // namespace
}  // namespace sluice::testing
