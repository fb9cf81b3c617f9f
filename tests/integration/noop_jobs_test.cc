// 1,000 test.noop jobs over 3 workers: every one ends `succeeded` and is
// recorded exactly once (one attempts row, attempt 1, outcome succeeded).
#include "tests/integration/integration_test.h"

namespace sluice::testing {
namespace {

class NoopJobsTest : public IntegrationTest {};

TEST_F(NoopJobsTest, ThousandJobsOverThreeWorkersEachRecordedOnce) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  for (int i = 0; i < 3; ++i) cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(3)) << "3 workers never showed up in WORKERS";

  constexpr int kJobs = 1000;
  std::vector<proto::JobSpec> specs(kJobs, Spec("test.noop"));
  auto ids = SubmitAll(specs, 250);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "SUBMIT returned a duplicate id";

  EXPECT_GE(WaitForCount("succeeded", kJobs), kJobs) << "not all jobs succeeded in time";

  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), kJobs);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), kJobs);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts"), kJobs) << "some job has more than one attempt row";
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE outcome = 'succeeded' AND attempt = 1 "
                      "AND finished_ms IS NOT NULL"),
            kJobs);
  // Exactly one succeeded attempt per job (no job without, none with two).
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs j WHERE (SELECT count(*) FROM attempts a "
                      "WHERE a.job_seq = j.seq AND a.outcome = 'succeeded') != 1"),
            0);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE attempt != 1 OR failures != 0"), 0);
  // The ids we were given are the ids in the table.
  for (const auto& id : {ids.front(), ids[kJobs / 2], ids.back()})
    EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE id = '" + id + "' AND state = 'succeeded'"), 1)
        << id;

  // Work was spread: more than one worker recorded attempts (3 workers with
  // 4 slots each and 1,000 jobs).
  EXPECT_GE(db.Scalar("SELECT count(DISTINCT worker) FROM attempts"), 2);
  EXPECT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

}  // namespace
}  // namespace sluice::testing
