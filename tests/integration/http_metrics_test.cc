// The broker's HTTP endpoint as a user meets it: a real broker process with
// --http, real workers, a scrape of /metrics over TCP after a known
// workload, read by a strict parser; the token; the start-up rules (a busy
// default port costs a warning, a busy given one stops the start, beyond
// loopback a token or --insecure).
#include <httplib.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/integration_test.h"
#include "tests/integration/http_scrape.h"

namespace sluice::testing {
namespace {

class HttpMetricsTest : public IntegrationTest {
 protected:
  int LoggedHttpPort() { return testing::LoggedHttpPort(*cluster_.broker()); }
  httplib::Result Get(int port, const std::string& path, const std::string& token = "") {
    return HttpGet(port, path, token);
  }
};

TEST_F(HttpMetricsTest, MetricsAfterAKnownWorkload) {
  const std::string registry = dir_.File("workflows.toml");
  std::ofstream(registry) << R"(
[workflow.breaks]
[[workflow.breaks.stage]]
name = "only"
kind = "test.fail"
params = { succeed_on = 99 }
max_attempts = 1
)";
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--http", "127.0.0.1:0", "--workflows", registry}));
  const int port = LoggedHttpPort();
  ASSERT_GT(port, 0) << cluster_.broker()->Stderr();
  cluster_.StartWorker(4);
  cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(2));

  std::vector<proto::JobSpec> specs(100, Spec("test.noop"));
  for (int i = 0; i < 3; ++i) specs.push_back(Spec("test.fail", {{"succeed_on", 99}}, /*max_attempts=*/1));
  ASSERT_EQ(SubmitAll(specs).size(), 103u);
  ASSERT_EQ(WaitForCount("succeeded", 100), 100);
  ASSERT_EQ(WaitForCount("dead", 3), 3);
  Answer run = client().Request(proto::Command::kRun, {{"workflow", "breaks"}}, Scaled(Ms(30000)));
  ASSERT_TRUE(run.ok()) << run.Describe();
  ASSERT_EQ(WaitForCount("dead", 4), 4);  // the run's stage

  // Published about once a second: scrape until the snapshot has caught up.
  std::string body;
  PromText m = ScrapeUntil(
      port,
      [](const PromText& t) {
        return t.Value("sluice_jobs", {{"state", "succeeded"}, {"queue", "default"}}) == 100 &&
               t.Value("sluice_jobs", {{"state", "dead"}, {"queue", "default"}}) == 4 &&
               t.Value("sluice_runs_total", {{"workflow", "breaks"}, {"state", "failed"}}) == 1;
      },
      Scaled(Ms(30000)), &body);
  const bool caught_up = m.Value("sluice_runs_total", {{"workflow", "breaks"}, {"state", "failed"}}) == 1;
  ASSERT_EQ(m.error, "") << body;
  ASSERT_TRUE(caught_up) << body;
  for (const char* state : {"scheduled", "queued", "running", "cancelled"})
    EXPECT_EQ(m.Value("sluice_jobs", {{"state", state}, {"queue", "default"}}), 0) << state;
  EXPECT_EQ(m.Value("sluice_workers"), 2);
  EXPECT_EQ(m.Value("sluice_worker_slots", {{"state", "free"}}) + m.Value("sluice_worker_slots", {{"state", "busy"}}),
            8);
  EXPECT_EQ(m.Value("sluice_job_events_total", {{"event", "submitted"}}), 104);
  EXPECT_EQ(m.Value("sluice_job_events_total", {{"event", "succeeded"}}), 100);
  EXPECT_EQ(m.Value("sluice_job_events_total", {{"event", "dead"}}), 4);
  EXPECT_EQ(m.Value("sluice_job_results_total", {{"kind", "test.noop"}, {"outcome", "succeeded"}}), 100);
  EXPECT_EQ(m.Value("sluice_job_results_total", {{"kind", "test.fail"}, {"outcome", "failed"}}), 4);
  EXPECT_EQ(m.Value("sluice_jobs_dead_total", {{"kind", "test.fail"}}), 4);
  EXPECT_EQ(m.Value("sluice_attempt_duration_seconds_count", {{"kind", "test.noop"}}), 100);
  EXPECT_EQ(m.Value("sluice_attempt_duration_seconds_bucket", {{"kind", "test.noop"}, {"le", "+Inf"}}), 100);
  EXPECT_EQ(m.Value("sluice_runs_total", {{"workflow", "breaks"}, {"state", "started"}}), 1);
  EXPECT_EQ(m.Value("sluice_runs_total", {{"workflow", "breaks"}, {"state", "failed"}}), 1);
  EXPECT_GT(m.Value("sluice_commits_total"), 0);
  EXPECT_EQ(m.Value("sluice_commit_duration_seconds_count"), m.Value("sluice_commits_total"));
  EXPECT_GT(m.Value("sluice_state_db_bytes", {{"file", "db"}}), 0);
  EXPECT_EQ(m.Value("sluice_queue_oldest_job_age_seconds", {{"queue", "default"}}), 0);  // none waits
  for (const auto& [name, fam] : m.families) EXPECT_EQ(name.rfind("sluice_", 0), 0u) << name;
  EXPECT_EQ(Get(port, "/no-such-page")->status, 404);
}

// A job on a queue no worker serves waits: its queue's oldest age grows
// past zero (a lower bound; the snapshot is taken about once a second).
TEST_F(HttpMetricsTest, TheOldestQueuedJobsAge) {
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--http", "127.0.0.1:0"}));
  const int port = LoggedHttpPort();
  ASSERT_GT(port, 0);
  proto::JobSpec parked = Spec("test.noop");
  parked.queue = "nobody";
  ASSERT_EQ(SubmitAll({parked}).size(), 1u);
  std::string body;
  PromText m = ScrapeUntil(
      port,
      [](const PromText& t) {
        return t.Value("sluice_jobs", {{"state", "queued"}, {"queue", "nobody"}}) == 1 &&
               t.Value("sluice_queue_oldest_job_age_seconds", {{"queue", "nobody"}}) > 0;
      },
      Scaled(Ms(30000)), &body);
  EXPECT_GT(m.Value("sluice_queue_oldest_job_age_seconds", {{"queue", "nobody"}}), 0) << body;
}

// Counters survive restarts, a SIGKILL too (they are committed with what
// they count), and STATS shows the same figures.
TEST_F(HttpMetricsTest, CountersSurviveRestarts) {
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--http", "127.0.0.1:0"}));
  cluster_.StartWorker(4);
  ASSERT_EQ(SubmitAll(std::vector<proto::JobSpec>(20, Spec("test.noop"))).size(), 20u);
  ASSERT_EQ(WaitForCount("succeeded", 20), 20);
  for (int sig : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(sig == SIGTERM ? "after SIGTERM" : "after SIGKILL");
    (void)cluster_.StopBroker(sig);
    ASSERT_TRUE(cluster_.RestartBroker().ok()) << cluster_.Describe();
    client_ = std::make_unique<WireClient>(cluster_.endpoint());
    const int port = LoggedHttpPort();
    ASSERT_GT(port, 0);
    auto r = Get(port, "/metrics");
    ASSERT_TRUE(r && r->status == 200);
    PromText m = ParsePrometheusText(r->body);
    ASSERT_EQ(m.error, "") << r->body;
    EXPECT_EQ(m.Value("sluice_job_events_total", {{"event", "submitted"}}), 20);
    EXPECT_EQ(m.Value("sluice_job_events_total", {{"event", "succeeded"}}), 20);
    EXPECT_EQ(m.Value("sluice_job_results_total", {{"kind", "test.noop"}, {"outcome", "succeeded"}}), 20);
    Answer stats = client().Stats(Scaled(Ms(10000)));
    ASSERT_TRUE(stats.ok()) << stats.Describe();
    EXPECT_EQ(stats.body["stats"]["counters"].value("succeeded", -1), 20) << stats.body.dump();
  }
}

TEST_F(HttpMetricsTest, ATokenFileMakesEveryRequestCarryTheToken) {
  const std::string token_file = dir_.path() + "/http.token";
  std::ofstream(token_file) << "s3cret-token-of-32-characters-xx\n";
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--http", "127.0.0.1:0", "--http-token-file", token_file}));
  const int port = LoggedHttpPort();
  ASSERT_GT(port, 0) << cluster_.broker()->Stderr();
  auto no = Get(port, "/metrics");
  ASSERT_TRUE(no);
  EXPECT_EQ(no->status, 401);
  auto yes = Get(port, "/metrics", "s3cret-token-of-32-characters-xx");
  ASSERT_TRUE(yes);
  EXPECT_EQ(yes->status, 200);
  EXPECT_EQ(ParsePrometheusText(yes->body).error, "");
}

// Holds a listening socket on 127.0.0.1:port (0: any); port() says which.
class Squatter {
 public:
  explicit Squatter(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 1) != 0) return;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Squatter() { ::close(fd_); }
  int port() const { return port_; }  // 0: could not bind (someone else has it)

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(HttpMetricsTest, AGivenAddressThatIsBusyStopsTheStart) {
  Squatter busy(0);
  ASSERT_GT(busy.port(), 0);
  CommandResult r = RunCommand("broker-busy",
                               {BinPath("sluice-broker"), "--endpoint", "tcp://127.0.0.1:*", "--state",
                                dir_.path() + "/busy.sqlite", "--http", "127.0.0.1:" + std::to_string(busy.port())},
                               dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 3) << r.Describe();
  EXPECT_NE(r.err.find("cannot listen for HTTP"), std::string::npos) << r.err;
}

// The default address (127.0.0.1:5556), busy: a warning, and the broker
// runs. (Taken here unless something on the host already has it: busy
// either way.)
TEST_F(HttpMetricsTest, TheDefaultAddressBusyOnlyWarns) {
  Squatter busy(5556);
  const std::string token_file = dir_.path() + "/http.token";
  std::ofstream(token_file) << "another-token-of-enough-length\n";
  // A token file but no --http: the default address.
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--http-token-file", token_file}));
  EXPECT_NE(cluster_.broker()->Stderr().find("running without HTTP"), std::string::npos)
      << cluster_.broker()->Stderr();
  EXPECT_TRUE(client().Stats(Scaled(Ms(10000))).ok());
  EXPECT_TRUE(cluster_.broker()->Running());
}

TEST_F(HttpMetricsTest, BeyondLoopbackItNeedsATokenOrInsecure) {
  CommandResult r = RunCommand("broker-open-http",
                               {BinPath("sluice-broker"), "--endpoint", "tcp://127.0.0.1:*", "--state",
                                dir_.path() + "/open.sqlite", "--http", "0.0.0.0:0"},
                               dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.Describe();
  EXPECT_NE(r.err.find("--http-token-file"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/open.sqlite"));
  // A token file that is not one token (over 4 KiB): refused unread past the bound.
  const std::string big = dir_.File("big.token");
  std::ofstream(big) << std::string(10000, 't');
  CommandResult too_big = RunCommand("broker-big-token",
                                     {BinPath("sluice-broker"), "--state", dir_.path() + "/big.sqlite", "--http",
                                      "127.0.0.1:0", "--http-token-file", big},
                                     dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(too_big.status.exited && too_big.status.code == 2) << too_big.Describe();
  EXPECT_NE(too_big.err.find("more than 4096 bytes"), std::string::npos) << too_big.err;
  CommandResult bad = RunCommand("broker-bad-http",
                                 {BinPath("sluice-broker"), "--state", dir_.path() + "/bad.sqlite", "--http", "nowhere"},
                                 dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(bad.status.exited && bad.status.code == 2) << bad.Describe();
}

}  // namespace
}  // namespace sluice::testing
