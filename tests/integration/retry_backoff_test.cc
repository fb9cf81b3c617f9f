// test.fail with succeed_on=3 and a 1 s backoff base succeeds on attempt 3,
// and the attempts' timestamps show the backoff: attempt 2 starts at least
// 1000 ms after attempt 1 finished, attempt 3 at least 2000 ms after
// attempt 2 (base * 2^(n-1); the jitter only ever adds). Lower bounds only.
#include "tests/integration/integration_test.h"

namespace sluice::testing {
namespace {

class RetryBackoffTest : public IntegrationTest {};

TEST_F(RetryBackoffTest, SucceedsOnThirdAttemptAfterExponentialBackoff) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(2);

  proto::JobSpec spec = Spec("test.fail", json{{"succeed_on", 3}}, 5);
  spec.backoff_ms = 1000;
  const std::string id = SubmitOne(spec);
  ASSERT_FALSE(id.empty());

  json job = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 3) << job.dump();
  EXPECT_EQ(job.value("failures", 0), 2) << job.dump();

  // The wire view of the attempts.
  ASSERT_TRUE(job.contains("attempts") && job["attempts"].is_array()) << job.dump();
  const json& attempts = job["attempts"];
  ASSERT_EQ(attempts.size(), 3u) << job.dump();
  EXPECT_EQ(attempts[0].value("outcome", ""), "failed");
  EXPECT_EQ(attempts[1].value("outcome", ""), "failed");
  EXPECT_EQ(attempts[2].value("outcome", ""), "succeeded");

  // The recorded view, straight from the state database.
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  auto rows = db.Query("SELECT attempt, started_ms, finished_ms, outcome FROM attempts WHERE job_id = '" +
                       id + "' ORDER BY attempt");
  ASSERT_EQ(rows.size(), 3u) << db.error();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i]["attempt"], i + 1);
    ASSERT_TRUE(rows[i]["started_ms"].is_number_integer());
    ASSERT_TRUE(rows[i]["finished_ms"].is_number_integer()) << "attempt " << i + 1 << " unfinished";
  }
  EXPECT_EQ(rows[0]["outcome"], "failed");
  EXPECT_EQ(rows[1]["outcome"], "failed");
  EXPECT_EQ(rows[2]["outcome"], "succeeded");
  const auto gap1 = rows[1]["started_ms"].get<std::int64_t>() - rows[0]["finished_ms"].get<std::int64_t>();
  const auto gap2 = rows[2]["started_ms"].get<std::int64_t>() - rows[1]["finished_ms"].get<std::int64_t>();
  EXPECT_GE(gap1, 1000) << "attempt 2 started too soon after attempt 1 (backoff base 1000 ms)";
  EXPECT_GE(gap2, 2000) << "attempt 3 started too soon after attempt 2 (backoff 1000 ms * 2)";
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE id = '" + id + "' AND state = 'succeeded'"), 1);
}

}  // namespace
}  // namespace sluice::testing
