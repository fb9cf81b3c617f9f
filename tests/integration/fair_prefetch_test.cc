// Adaptive prefetch is fair to long jobs, with real processes: two
// sluice-worker processes with 4 slots each and no tuning flags (adaptive
// prefetch, the default), their windows opened wide by a flood of no-op jobs
// first. Then 8 test.sleep jobs submitted together:
//   - with both workers connected, all 8 run at once, 4 on each: no job waits
//     behind a busy slot while another worker has one free;
//   - with one worker, it holds all 8 (4 running, 4 prefetched); a second
//     worker that connects then gets the 4 waiting ones (RECALL), so again
//     all 8 run at once.
// "At once" is asserted from the attempts' own records (every attempt
// started before any ended), never from a stopwatch.
#include "tests/integration/integration_test.h"

#include <algorithm>
#include <map>

namespace sluice::testing {
namespace {

class FairPrefetchTest : public IntegrationTest {
 protected:
  // The windows open with the pace of short jobs.
  void Flood(int n) {
    std::vector<proto::JobSpec> specs(static_cast<std::size_t>(n), Spec("test.noop"));
    const std::int64_t before = client().CountInState("succeeded", Scaled(Ms(10000)));
    ASSERT_EQ(SubmitAll(specs).size(), specs.size());
    ASSERT_GE(WaitForCount("succeeded", before + n), before + n) << "the flood did not finish";
  }

  // The succeeding attempt of each job: worker, started_ms, finished_ms.
  struct Ran {
    std::string worker;
    std::int64_t started = 0, finished = 0;
  };
  std::vector<Ran> WaitAllSucceeded(const std::vector<std::string>& ids) {
    std::vector<Ran> out;
    for (const std::string& id : ids) {
      json j = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(120000)));
      EXPECT_EQ(j.value("state", ""), "succeeded") << j.dump();
      if (!j.contains("attempts") || j["attempts"].empty()) continue;
      const json& a = j["attempts"].back();
      EXPECT_EQ(a.value("outcome", ""), "succeeded") << j.dump();
      out.push_back({a.value("worker", ""), a.value("started_ms", std::int64_t{0}),
                     a.value("finished_ms", std::int64_t{0})});
    }
    return out;
  }

  static void ExpectAllAtOnce(const std::vector<Ran>& ran, std::size_t per_worker) {
    ASSERT_FALSE(ran.empty());
    std::int64_t last_start = 0, first_end = INT64_MAX;
    std::map<std::string, std::size_t> by_worker;
    for (const Ran& r : ran) {
      last_start = std::max(last_start, r.started);
      first_end = std::min(first_end, r.finished);
      by_worker[r.worker]++;
    }
    EXPECT_LT(last_start, first_end) << "a job waited for another to finish";
    EXPECT_EQ(by_worker.size(), 2u);
    for (const auto& [worker, n] : by_worker) EXPECT_EQ(n, per_worker) << worker;
  }

  json Workers() {
    Answer a = client().Workers(Scaled(Ms(10000)));
    return a.ok() ? a.body["workers"] : json::array();
  }
};

TEST_F(FairPrefetchTest, LongJobsSpreadOverEveryFreeSlot) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(4);
  cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(2));
  for (const json& w : Workers()) EXPECT_TRUE(w.value("adaptive", false)) << w.dump();
  ASSERT_NO_FATAL_FAILURE(Flood(3000));
  std::vector<proto::JobSpec> specs(8, Spec("test.sleep", json{{"ms", 2000}}));
  auto ids = SubmitAll(specs);
  ASSERT_EQ(ids.size(), 8u);
  ExpectAllAtOnce(WaitAllSucceeded(ids), 4);
}

TEST_F(FairPrefetchTest, PrefetchedJobsMoveToAWorkerThatJoins) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(1));
  ASSERT_NO_FATAL_FAILURE(Flood(3000));
  std::vector<proto::JobSpec> specs(8, Spec("test.sleep", json{{"ms", 6000}}));
  auto ids = SubmitAll(specs);
  ASSERT_EQ(ids.size(), 8u);
  // The one worker holds all 8: 4 run, 4 wait in its prefetch.
  ASSERT_TRUE(WaitUntil(
      [&] {
        json ws = Workers();
        return ws.size() == 1 && ws[0].value("busy", 0) == 8;
      },
      Scaled(Ms(30000)), Ms(20)))
      << Workers().dump();
  cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(2));
  ExpectAllAtOnce(WaitAllSucceeded(ids), 4);
  Answer stats = client().Stats(Scaled(Ms(10000)));
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats.body["stats"]["counters"].value("recalled", 0), 4) << stats.body.dump();
}

}  // namespace
}  // namespace sluice::testing
