// SIGKILL of the broker in the middle of 5,000 jobs (a few test.sleep of
// 200-500 ms, the rest test.noop), restarted on the same state database and
// the same endpoint:
//   - every job ends `succeeded`: none lost;
//   - none recorded twice: exactly one succeeded attempt per job, and no
//     (job, attempt) appears twice;
//   - no id reused: ids handed out after the restart are all greater than
//     every id that existed before it.
// A SUBMIT sent just before the kill, whose reply never came, is either
// wholly in the database or not at all (a batch is all-or-nothing).
#include "tests/integration/integration_test.h"

#include <signal.h>

#include <algorithm>

namespace sluice::testing {
namespace {

class BrokerCrashTest : public IntegrationTest {};

std::vector<proto::JobSpec> MixedJobs(int n, int first) {
  std::vector<proto::JobSpec> specs;
  specs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    int k = first + i;
    if (k % 50 == 0) {
      specs.push_back(Spec("test.sleep", json{{"ms", 200 + (k * 37) % 301}}));
    } else {
      specs.push_back(Spec("test.noop"));
    }
  }
  return specs;
}

TEST_F(BrokerCrashTest, KillNineMidRunLosesNothingAndRecordsEachJobOnce) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  for (int i = 0; i < 3; ++i) cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(3));

  // 4,000 jobs acknowledged before the kill.
  constexpr int kBefore = 4000;
  auto before_ids = SubmitAll(MixedJobs(kBefore, 0), 500);
  ASSERT_EQ(before_ids.size(), static_cast<std::size_t>(kBefore));

  // Let some of them run, so that the kill lands mid-run: results are
  // arriving and sleep jobs are leased.
  std::int64_t done_at_kill = -1;
  WaitUntil(
      [&] {
        done_at_kill = client().CountInState("succeeded", Scaled(Ms(10000)));
        return done_at_kill >= 200;
      },
      Scaled(Ms(60000)), Ms(10));

  // One more batch sent without waiting for its reply, then the kill.
  constexpr int kInFlight = 200;
  client().SendSubmit(MixedJobs(kInFlight, kBefore));
  const ExitStatus killed = cluster_.StopBroker(SIGKILL);
  EXPECT_FALSE(killed.exited) << killed.ToString();

  // Where were we? (read-only; the broker is dead)
  std::int64_t succeeded_at_kill = -1;
  std::int64_t max_seq_at_kill = -1;
  {
    StateDb db(cluster_.state_path());
    ASSERT_TRUE(db.ok()) << db.error();
    succeeded_at_kill = db.Scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'");
    max_seq_at_kill = db.Scalar("SELECT max(seq) FROM jobs");
  }
  std::cerr << "[broker killed: " << succeeded_at_kill << " of " << kBefore
            << "+ jobs had succeeded; max seq " << max_seq_at_kill << "]\n";
  EXPECT_LT(succeeded_at_kill, kBefore) << "the kill came after all the work: the test proved nothing";

  // Restart on the same endpoint and state; a fresh client socket.
  client_.reset();
  auto s = cluster_.RestartBroker();
  ASSERT_TRUE(s.ok()) << s.ToString();
  client_ = std::make_unique<WireClient>(cluster_.endpoint());

  // 1,000 jobs after the restart.
  constexpr int kAfter = 1000;
  auto after_ids = SubmitAll(MixedJobs(kAfter, kBefore + kInFlight), 500);
  ASSERT_EQ(after_ids.size(), static_cast<std::size_t>(kAfter));

  // Ids: new, and greater than every id before the restart.
  long long max_before = 0;
  for (const auto& id : before_ids) max_before = std::max(max_before, JobSeq(id));
  max_before = std::max<long long>(max_before, max_seq_at_kill);
  long long min_after = -1;
  for (const auto& id : after_ids) {
    long long seq = JobSeq(id);
    ASSERT_GT(seq, 0) << "not a job id: " << id;
    if (min_after < 0 || seq < min_after) min_after = seq;
  }
  EXPECT_GT(min_after, max_before) << "an id was reused after the restart";
  std::set<std::string> all(before_ids.begin(), before_ids.end());
  for (const auto& id : after_ids) EXPECT_TRUE(all.insert(id).second) << "id handed out twice: " << id;

  // Everything in the database ends succeeded.
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  std::int64_t total = db.Scalar("SELECT count(*) FROM jobs");
  const std::int64_t in_flight_created = total - kBefore - kAfter;
  EXPECT_TRUE(in_flight_created == 0 || in_flight_created == kInFlight)
      << "the unanswered SUBMIT of " << kInFlight << " jobs left " << in_flight_created
      << " rows: a batch must be all-or-nothing";
  bool all_done = WaitUntil(
      [&] { return db.Scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") >= total; },
      Scaled(Ms(180000)), Ms(200));
  EXPECT_TRUE(all_done) << "not every job succeeded after the restart; states: "
                        << nlohmann::json(db.Query("SELECT state, count(*) AS n FROM jobs GROUP BY state")).dump();

  // Each acknowledged job is there and succeeded.
  std::int64_t missing = 0;
  for (const auto& id : before_ids)
    if (db.Scalar("SELECT count(*) FROM jobs WHERE seq = " + std::to_string(JobSeq(id)) +
                  " AND state = 'succeeded'") != 1)
      ++missing;
  EXPECT_EQ(missing, 0) << "jobs acknowledged before the kill that did not succeed";

  // Recorded once: one succeeded attempt per job, no (job, attempt) twice,
  // no attempt left open.
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs j WHERE (SELECT count(*) FROM attempts a "
                      "WHERE a.job_seq = j.seq AND a.outcome = 'succeeded') != 1"),
            0)
      << "jobs without exactly one succeeded attempt";
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM (SELECT job_seq, attempt FROM attempts "
                      "GROUP BY job_seq, attempt HAVING count(*) > 1)"),
            0);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE outcome IS NULL OR finished_ms IS NULL"), 0)
      << "attempts left open";
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts a WHERE NOT EXISTS "
                      "(SELECT 1 FROM jobs j WHERE j.seq = a.job_seq)"),
            0);
  std::cerr << "[attempt outcomes: "
            << nlohmann::json(db.Query("SELECT outcome, count(*) AS n FROM attempts GROUP BY outcome")).dump()
            << "]\n";
  EXPECT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

// Three SIGKILLs during submission, each with a SUBMIT in flight. The
// producer does what a careful client does: it re-sends an unanswered batch
// with the same idempotency keys after the restart. Every key ends up as
// exactly one job, every job succeeds once, a batch is all-or-nothing, and
// ids keep growing across restarts.
TEST_F(BrokerCrashTest, RepeatedKillsDuringSubmissionWithIdempotentResend) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  for (int i = 0; i < 2; ++i) cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(2));

  constexpr int kBatches = 30;
  constexpr int kBatch = 100;
  const std::set<int> kill_before = {6, 14, 23};  // batch indexes sent just before a kill
  auto batch_specs = [&](int b) {
    std::vector<proto::JobSpec> specs = MixedJobs(kBatch, b * kBatch);
    for (int i = 0; i < kBatch; ++i) specs[static_cast<std::size_t>(i)].key = "k" + std::to_string(b * kBatch + i);
    return specs;
  };

  long long max_id_seen = 0;  // the greatest id handed out so far
  int kills = 0;
  for (int b = 0; b < kBatches; ++b) {
    auto specs = batch_specs(b);
    if (kill_before.count(b) > 0) {
      client().SendSubmit(specs);
      const ExitStatus killed = cluster_.StopBroker(SIGKILL);
      EXPECT_FALSE(killed.exited) << killed.ToString();
      ++kills;
      client_.reset();
      auto s = cluster_.RestartBroker();
      ASSERT_TRUE(s.ok()) << "restart " << kills << ": " << s.ToString();
      client_ = std::make_unique<WireClient>(cluster_.endpoint());
      // Whatever the broker committed before the kill is at most max(seq).
      StateDb db(cluster_.state_path());
      ASSERT_TRUE(db.ok()) << db.error();
      max_id_seen = std::max<long long>(max_id_seen, db.Scalar("SELECT coalesce(max(seq), 0) FROM jobs"));
    }
    std::vector<proto::SubmittedJob> out;
    Answer a = client().Submit(specs, &out, Scaled(Ms(60000)));
    ASSERT_TRUE(a.ok()) << "batch " << b << ": " << a.Describe();
    ASSERT_EQ(out.size(), specs.size());
    const bool first_created = out[0].created;
    for (std::size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].created, first_created)
          << "batch " << b << " was partly committed before the kill (job " << i << ")";
      const long long seq = JobSeq(out[i].id);
      if (out[i].created) {
        EXPECT_GT(seq, max_id_seen) << "batch " << b << ": id " << out[i].id << " reused";
      }
    }
    if (kill_before.count(b) == 0) {
      EXPECT_TRUE(first_created) << "batch " << b << " (never sent before) was not created";
    }
    for (const auto& j : out) max_id_seen = std::max(max_id_seen, JobSeq(j.id));
  }
  ASSERT_EQ(kills, 3);

  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  constexpr int kTotal = kBatches * kBatch;
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), kTotal) << "a key was created twice, or a job lost";
  EXPECT_EQ(db.Scalar("SELECT count(DISTINCT idem_key) FROM jobs"), kTotal);
  bool all_done = WaitUntil(
      [&] { return db.Scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") >= kTotal; },
      Scaled(Ms(180000)), Ms(200));
  EXPECT_TRUE(all_done) << "states: "
                        << nlohmann::json(db.Query("SELECT state, count(*) AS n FROM jobs GROUP BY state")).dump();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs j WHERE (SELECT count(*) FROM attempts a "
                      "WHERE a.job_seq = j.seq AND a.outcome = 'succeeded') != 1"),
            0);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE outcome IS NULL OR finished_ms IS NULL"), 0);
  EXPECT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

// Jobs running on a worker when the broker is killed are re-adopted (or, if
// the worker is slow to come back, re-run under the same attempt): they end
// succeeded with one attempt, never counted as a failure.
TEST_F(BrokerCrashTest, JobsRunningAtTheKillAreNotCountedAsFailures) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(4);
  ASSERT_TRUE(WaitForWorkers(1));
  std::vector<proto::JobSpec> specs(4, Spec("test.sleep", json{{"ms", 5000}}, 3));
  auto ids = SubmitAll(specs);
  ASSERT_EQ(ids.size(), 4u);
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const auto& id : ids)
          if (client().Job(id).value("state", "") != "running") return false;
        return true;
      },
      Scaled(Ms(60000))));

  cluster_.StopBroker(SIGKILL);
  client_.reset();
  auto s = cluster_.RestartBroker();
  ASSERT_TRUE(s.ok()) << s.ToString();
  client_ = std::make_unique<WireClient>(cluster_.endpoint());

  for (const auto& id : ids) {
    json job = WaitForState(id, {"succeeded", "dead", "cancelled"}, Scaled(Ms(90000)));
    ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
    EXPECT_EQ(job.value("attempt", 0), 1) << "a broker crash must not cost the job an attempt: " << job.dump();
    EXPECT_EQ(job.value("failures", -1), 0) << job.dump();
    ASSERT_TRUE(job["attempts"].is_array());
    EXPECT_EQ(job["attempts"].size(), 1u) << job.dump();
  }
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts"), 4);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE outcome = 'succeeded' AND attempt = 1"), 4);
}

}  // namespace
}  // namespace sluice::testing
