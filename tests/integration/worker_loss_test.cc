// Workers that go away while they run jobs:
//   - SIGKILL of a worker running test.sleep jobs: the attempt on the killed
//     worker is recorded `lost`, a later attempt on another worker succeeds;
//   - test.crash (the job aborts its worker) ends `dead` after max_attempts
//     lost attempts, with an error saying the worker was lost;
//   - SIGTERM of a busy worker with a short grace loses no job: every job
//     succeeds, on another worker.
#include "tests/integration/integration_test.h"

#include <signal.h>

#include <algorithm>
#include <cctype>

namespace sluice::testing {
namespace {

class WorkerLossTest : public IntegrationTest {
 protected:
  // Waits until every job in `ids` is running on the worker with `pid`.
  bool WaitRunningOn(const std::vector<std::string>& ids, pid_t pid) {
    return WaitUntil(
        [&] {
          json w = WorkerByPid(pid);
          if (w.is_discarded()) return false;
          std::string wid = w.value("worker", "");
          for (const auto& id : ids) {
            json j = client().Job(id, Scaled(Ms(10000)));
            if (j.is_discarded() || j.value("state", "") != "running") return false;
            if (!j.contains("attempts") || !j["attempts"].is_array() || j["attempts"].empty()) return false;
            if (j["attempts"].back().value("worker", "") != wid) return false;
          }
          return true;
        },
        Scaled(Ms(60000)), Ms(50));
  }

  static std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  }
};

TEST_F(WorkerLossTest, KilledWorkersJobsRerunElsewhere) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Process& doomed = cluster_.StartWorker(2);
  ASSERT_TRUE(WaitForWorkers(1));
  // Long on the doomed worker (still running when it is killed), short when run again.
  std::vector<proto::JobSpec> specs(2, Spec("test.sleep", json{{"ms", 600000}, {"retry_ms", 200}}, 3));
  auto ids = SubmitAll(specs);
  ASSERT_EQ(ids.size(), 2u);
  ASSERT_TRUE(WaitRunningOn(ids, doomed.pid())) << "the jobs never ran on the first worker";
  const std::string doomed_id = WorkerByPid(doomed.pid()).value("worker", "");

  Process& rescuer = cluster_.StartWorker(2);
  ASSERT_TRUE(WaitForWorkers(2));
  const std::string rescuer_id = WorkerByPid(rescuer.pid()).value("worker", "");
  ASSERT_FALSE(rescuer_id.empty());
  doomed.Signal(SIGKILL);
  ASSERT_TRUE(doomed.Wait(Scaled(Ms(10000))).has_value());

  for (const auto& id : ids) {
    json job = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
    ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
    const json& attempts = job["attempts"];
    ASSERT_GE(attempts.size(), 2u) << job.dump();
    EXPECT_EQ(attempts.front().value("worker", ""), doomed_id) << job.dump();
    EXPECT_EQ(attempts.front().value("outcome", ""), "lost") << job.dump();
    EXPECT_EQ(attempts.back().value("worker", ""), rescuer_id) << job.dump();
    EXPECT_EQ(attempts.back().value("outcome", ""), "succeeded") << job.dump();
  }
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE outcome = 'lost' AND worker = '" + doomed_id + "'"), 2);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE outcome = 'succeeded'"), 2);
}

TEST_F(WorkerLossTest, CrashingJobEndsDeadWithWorkerLostError) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  // Each attempt takes its worker down; keep one alive for every attempt.
  constexpr int kMaxAttempts = 2;
  for (int i = 0; i < kMaxAttempts; ++i) cluster_.StartWorker(1);
  ASSERT_TRUE(WaitForWorkers(kMaxAttempts));
  const std::string id = SubmitOne(Spec("test.crash", json::object(), kMaxAttempts));
  ASSERT_FALSE(id.empty());

  json job = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(120000)));
  ASSERT_EQ(job.value("state", ""), "dead") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), kMaxAttempts) << job.dump();
  std::string error = job.value("error", json()).is_string() ? job["error"].get<std::string>() : "";
  EXPECT_NE(Lower(error).find("lost"), std::string::npos)
      << "the job's error should say the worker was lost: '" << error << "'";
  ASSERT_TRUE(job["attempts"].is_array());
  ASSERT_EQ(job["attempts"].size(), static_cast<std::size_t>(kMaxAttempts)) << job.dump();
  for (const auto& a : job["attempts"]) EXPECT_EQ(a.value("outcome", ""), "lost") << job.dump();

  // Both workers died of the crash (abort), not of anything we did.
  for (auto& w : cluster_.workers()) {
    auto st = w->Wait(Scaled(Ms(10000)));
    ASSERT_TRUE(st.has_value()) << w->Describe();
    EXPECT_FALSE(st->exited && st->code == 0) << w->Describe();
  }
  EXPECT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

TEST_F(WorkerLossTest, SigtermOfBusyWorkerLosesNoJob) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Process& leaving = cluster_.StartWorker(3, {"--grace", "1"});
  ASSERT_TRUE(WaitForWorkers(1));
  std::vector<proto::JobSpec> specs(3, Spec("test.sleep", json{{"ms", 600000}, {"retry_ms", 200}}, 3));
  auto ids = SubmitAll(specs);
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_TRUE(WaitRunningOn(ids, leaving.pid())) << "the jobs never ran on the first worker";

  Process& staying = cluster_.StartWorker(3);
  ASSERT_TRUE(WaitForWorkers(2));
  const std::string staying_id = WorkerByPid(staying.pid()).value("worker", "");
  leaving.Signal(SIGTERM);
  auto st = leaving.Wait(Scaled(Ms(30000)));
  ASSERT_TRUE(st.has_value()) << "the worker did not exit after SIGTERM with --grace 1: "
                              << leaving.Describe();
  EXPECT_TRUE(st->exited && st->code == 0) << leaving.Describe();

  for (const auto& id : ids) {
    json job = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
    ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
    EXPECT_EQ(job["attempts"].back().value("worker", ""), staying_id) << job.dump();
  }
}

}  // namespace
}  // namespace sluice::testing
