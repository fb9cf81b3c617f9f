// A result that finished while the broker was down is recorded, and the job
// does not run again (PROTOCOL.md §5): `exec` jobs append one line each to a
// file; the broker is SIGKILLed (or stopped with SIGTERM) while they run,
// they finish while it is down, and it comes back once the worker holds
// their results. The file
// must hold exactly one line per job, and each job one succeeded attempt.
#include "tests/integration/integration_test.h"

#include <signal.h>

#include <fstream>
#include <map>

namespace sluice::testing {
namespace {

class RestartResultsTest : public IntegrationTest {
 protected:
  std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  void RunAcrossBrokerStop(int sig) {
    ASSERT_NO_FATAL_FAILURE(StartBroker());
    cluster_.StartWorker(4, {"--allow-exec"});
    ASSERT_TRUE(WaitForWorkers(1));
    const std::string file = dir_.File("side-effects.txt");
    const std::string go = dir_.File("go");
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
      // Waits for the go file (created once the broker is down), then appends.
      const std::string script = "while [ ! -e '" + go + "' ]; do sleep 0.05; done; echo \"job" +
                                 std::to_string(i) + "\" >> '" + file + "'";
      proto::JobSpec spec = Spec("exec", json{{"command", "/bin/sh"}, {"args", json::array({"-c", script})}}, 3);
      ids.push_back(SubmitOne(spec));
      ASSERT_FALSE(ids.back().empty());
    }
    for (const auto& id : ids) ASSERT_EQ(WaitForState(id, {"running"}).value("state", ""), "running") << id;

    const ExitStatus stopped = cluster_.StopBroker(sig);
    ASSERT_FALSE(cluster_.broker()->Running()) << stopped.ToString();
    { std::ofstream(go) << "go\n"; }
    ASSERT_TRUE(WaitUntil([&] { return Lines(file).size() >= 4; }, Scaled(Ms(30000))))
        << "the jobs did not finish while the broker was down";
    // The worker logs "job ended" as it takes each result to send: then it
    // holds four results the broker has not acknowledged.
    Process& worker = *cluster_.workers().front();
    ASSERT_TRUE(WaitUntil([&] {
      const std::string log = worker.Stderr();
      int ended = 0;
      for (std::size_t at = log.find("job ended"); at != std::string::npos; at = log.find("job ended", at + 1)) ++ended;
      return ended >= 4;
    }, Scaled(Ms(30000)))) << "the worker did not take the four results";
    auto s = cluster_.RestartBroker();
    ASSERT_TRUE(s.ok()) << s.ToString();
    client_ = std::make_unique<WireClient>(cluster_.endpoint());

    for (const auto& id : ids) {
      json job = WaitForState(id, {"succeeded", "dead"}, Scaled(Ms(60000)));
      EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
      ASSERT_TRUE(job["attempts"].is_array()) << job.dump();
      EXPECT_EQ(job["attempts"].size(), 1u) << job.dump();
    }
    // Every job is terminal, so no run can start any more: count the lines.
    std::map<std::string, int> count;
    for (const auto& line : Lines(file)) count[line]++;
    EXPECT_EQ(count.size(), 4u);
    for (const auto& [line, n] : count) EXPECT_EQ(n, 1) << line << " ran " << n << " times";
  }
};

TEST_F(RestartResultsTest, SigkillOfTheBrokerMidJobRunsEachJobOnce) { RunAcrossBrokerStop(SIGKILL); }

TEST_F(RestartResultsTest, SigtermOfTheBrokerMidJobRunsEachJobOnce) { RunAcrossBrokerStop(SIGTERM); }

}  // namespace
}  // namespace sluice::testing
