// JobLifecycle on its own: the rules of a job's life with no socket and no
// loop. Time is whatever `now` the test passes; the store is a real JobStore
// on a temporary file (on the fault VFS where a test breaks its writes);
// workers are Worker structs the test registers and whose RESULTs it makes
// up. Each test commits where the broker would, after an entry point.
//
// What must hold (job_lifecycle.h, schemas/job_state.h):
//   - every change of the transition table happens for its documented
//     reason, and a request for anything else is refused;
//   - failures back off (at least the policy's floor, at least a RESULT's
//     retry_after_ms) until max_attempts; a lease times out at dispatch +
//     timeout + grace and not before; an attempt nobody re-announces after
//     a restart is lost without counting against the job;
//   - a concurrency key's slot stays with an attempt until its job left it
//     and no worker holds its lease;
//   - JOBs go out only after the commit; a failed write leaves nothing
//     half-done in the store.
#include "broker/job_lifecycle.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "schemas/fault_vfs.h"
#include "schemas/job_id.h"

namespace sluice::broker {
namespace {

// 2027-01-15T08:00:00Z: any fixed point does; jobs are dated from it.
constexpr std::int64_t kT0 = 1'800'000'000'000;

class JobLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-lifecycle-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "state.sqlite").string();
    config_.retry.max_attempts = 5;
    config_.retry.base_ms = 1000;
    config_.retry.cap_ms = 3600 * 1000;
    config_.default_timeout_ms = 0;  // no lease timer unless a test asks for one
    config_.heartbeat_ms = 1000;
    config_.liveness = 3;
    config_.seed = 42;
  }
  void TearDown() override {
    jobs_.reset();
    store_.Close();
    fault::Clear();
    std::filesystem::remove_all(dir_);
  }

  // Opens the store (on `vfs` when given) and loads a new lifecycle from it.
  void Open(std::int64_t now, const char* vfs = nullptr) {
    Status s = store_.Open(path_, SyncMode::kNormal, vfs);
    ASSERT_TRUE(s.ok()) << s.ToString();
    vfs_ = vfs;
    Reload(now);
  }
  // What the broker does after a failed write: roll back, reopen, rebuild
  // the lifecycle from what is stored.
  void Reopen(std::int64_t now) {
    jobs_.reset();
    store_.Rollback();
    store_.Close();
    Open(now, vfs_);
  }
  // A new lifecycle on the same store, as after a broker restart.
  void Reload(std::int64_t now) {
    jobs_ = std::make_unique<JobLifecycle>(store_, hooks_, config_);
    auto loaded = jobs_->Load(now, /*startup=*/true);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    summary_ = *loaded;
  }
  void Commit() {
    Status s = store_.Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static proto::JobSpec Spec(const std::string& kind = "k") {
    proto::JobSpec spec;
    spec.kind = kind;
    return spec;
  }
  std::int64_t Submit(const proto::JobSpec& spec, std::int64_t now, Effects* fx = nullptr) {
    Effects local;
    auto r = jobs_->Submit(spec, now, fx ? fx : &local);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    EXPECT_TRUE(r->created);
    auto seq = ParseJobId(r->id);
    EXPECT_TRUE(seq.has_value()) << r->id;
    return seq.value_or(0);
  }
  Worker* AddWorker(const std::string& id, std::uint32_t slots, std::set<std::string> kinds = {"k"},
                    std::int64_t now = kT0, const std::vector<proto::JobAttempt>& running = {},
                    Effects* fx = nullptr) {
    auto w = std::make_unique<Worker>();
    w->routing_id = "rid-" + id;
    w->id = id;
    w->host = "host-" + id;
    w->slots = slots;
    w->queues = {"default"};
    for (const auto& k : kinds) {
      w->kinds.insert(k);
      w->kinds_list.push_back(k);
    }
    w->connected_ms = w->last_seen_ms = now;
    Effects local;
    Worker* added = nullptr;
    Status s = jobs_->AddWorker(std::move(w), running, now, fx ? fx : &local, &added);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return added;
  }
  // The JOBs of `fx` (all of them in after_commit, none in send_now).
  static std::vector<proto::JobMsg> Jobs(const Effects& fx, const std::string& rid = {}) {
    for (const Message& m : fx.send_now) EXPECT_NE(m.cmd, proto::Command::kJob) << "a JOB sent before the commit";
    std::vector<proto::JobMsg> out;
    for (const Message& m : fx.after_commit) {
      if (m.cmd != proto::Command::kJob || (!rid.empty() && m.rid != rid)) continue;
      proto::JobMsg j;
      Status s = proto::Decode(m.body, &j);
      EXPECT_TRUE(s.ok()) << s.ToString();
      out.push_back(std::move(j));
    }
    return out;
  }
  // The CANCELs of `fx` to `rid` (all of them in send_now).
  static std::vector<proto::CancelMsg> Cancels(const Effects& fx, const std::string& rid) {
    for (const Message& m : fx.after_commit) EXPECT_NE(m.cmd, proto::Command::kCancel);
    std::vector<proto::CancelMsg> out;
    for (const Message& m : fx.send_now) {
      if (m.cmd != proto::Command::kCancel || m.rid != rid) continue;
      proto::CancelMsg c;
      Status s = proto::Decode(m.body, &c);
      EXPECT_TRUE(s.ok()) << s.ToString();
      out.push_back(std::move(c));
    }
    return out;
  }
  // Dispatches at `now`; the JOBs it made.
  std::vector<proto::JobMsg> Dispatch(std::int64_t now, Effects* fx = nullptr) {
    Effects local;
    Effects& f = fx ? *fx : local;
    Status s = jobs_->Dispatch(now, &f);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return Jobs(f);
  }
  static proto::JobResult Result(std::int64_t seq, std::uint32_t attempt, Outcome outcome,
                                 const std::string& error = {}) {
    proto::JobResult r;
    r.job = FormatJobId(seq);
    r.attempt = attempt;
    r.outcome = outcome;
    r.error = error;
    return r;
  }
  Status Report(Worker* w, const proto::JobResult& r, std::int64_t now, Effects* fx) {
    return jobs_->RecordResult(*w, r, now, fx);
  }
  // The job as stored (after this transaction's writes).
  JobRecord Stored(std::int64_t seq) {
    auto rec = store_.Load(seq, /*with_attempts=*/true);
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    if (!rec.ok() || !rec->has_value()) {
      ADD_FAILURE() << "no stored job " << seq;
      return {};
    }
    return std::move(**rec);
  }
  bool StoredExists(std::int64_t seq) {
    auto rec = store_.Load(seq, false);
    EXPECT_TRUE(rec.ok());
    return rec.ok() && rec->has_value();
  }
  // The live job's state, else the stored one.
  JobState StateOf(std::int64_t seq) {
    if (const Job* j = jobs_->Find(seq)) return j->state;
    return Stored(seq).job.state;
  }
  static std::int64_t SeqOf(const proto::JobMsg& m) { return ParseJobId(m.job).value_or(0); }

  std::filesystem::path dir_;
  std::string path_;
  const char* vfs_ = nullptr;
  JobStore store_;
  KindHookTable hooks_;
  LifecycleConfig config_;
  std::unique_ptr<JobLifecycle> jobs_;
  JobLifecycle::LoadSummary summary_;
};

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    const Status status_ = (expr);                                   \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_.ToString(); \
  } while (0)

// ---- the table -------------------------------------------------------------------

// kTransitions is the diagram at the top of schemas/job_state.h, pair by pair.
TEST(JobStateTable, IsTheDocumentedDiagram) {
  using S = JobState;
  const std::set<std::pair<S, S>> diagram = {
      {S::kScheduled, S::kQueued},  {S::kQueued, S::kRunning},    {S::kRunning, S::kSucceeded},
      {S::kRunning, S::kScheduled}, {S::kRunning, S::kQueued},    {S::kRunning, S::kDead},
      {S::kScheduled, S::kCancelled}, {S::kQueued, S::kCancelled}, {S::kRunning, S::kCancelled},
      {S::kDead, S::kQueued},       {S::kCancelled, S::kQueued},
  };
  int legal = 0;
  for (int f = 0; f < kJobStateCount; ++f)
    for (int t = 0; t < kJobStateCount; ++t) {
      const S from = static_cast<S>(f), to = static_cast<S>(t);
      EXPECT_EQ(CanTransition(from, to), diagram.count({from, to}) == 1)
          << JobStateName(from) << " -> " << JobStateName(to);
      legal += CanTransition(from, to);
    }
  EXPECT_EQ(legal, static_cast<int>(diagram.size()));
}

// ---- scheduled -------------------------------------------------------------------

TEST_F(JobLifecycleTest, ScheduledJobIsQueuedWhenItsRunAtComesAndNotBefore) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.delay_ms = 5000;
  Effects fx;
  auto r = jobs_->Submit(spec, kT0, &fx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->state, JobState::kScheduled);
  const std::int64_t seq = *ParseJobId(r->id);
  Commit();
  EXPECT_EQ(Stored(seq).job.state, JobState::kScheduled);
  EXPECT_EQ(jobs_->NextDueMs(kT0), kT0 + 5000);
  Worker* w = AddWorker("w1", 1);
  EXPECT_TRUE(Dispatch(kT0 + 1).empty()) << "a scheduled job was dispatched";

  ASSERT_OK(jobs_->OnTimer(kT0 + 4999, &fx));
  EXPECT_EQ(StateOf(seq), JobState::kScheduled);
  EXPECT_TRUE(Dispatch(kT0 + 4999).empty());

  ASSERT_OK(jobs_->OnTimer(kT0 + 5000, &fx));
  EXPECT_TRUE(fx.ended.empty());
  const Job* j = jobs_->Find(seq);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kQueued);
  EXPECT_EQ(j->updated_ms, kT0 + 5000);
  Commit();
  EXPECT_EQ(Stored(seq).job.state, JobState::kQueued);
  auto sent = Dispatch(kT0 + 5001);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), seq);
  EXPECT_EQ(w->leases.size(), 1u);
}

TEST_F(JobLifecycleTest, RetryOfAScheduledJobQueuesItAtOnce) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.run_at_ms = kT0 + 3'600'000;
  const std::int64_t seq = Submit(spec, kT0);
  Commit();
  ASSERT_EQ(StateOf(seq), JobState::kScheduled);
  Effects fx;
  ASSERT_OK(jobs_->Retry(seq, kT0 + 10, &fx));
  Commit();
  EXPECT_EQ(StateOf(seq), JobState::kQueued);
  EXPECT_EQ(Stored(seq).job.state, JobState::kQueued);
  EXPECT_EQ(jobs_->timer_count(), 0u) << "the run_at timer outlived its state";
  AddWorker("w1", 1);
  auto sent = Dispatch(kT0 + 20);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attempt, 1u);
}

TEST_F(JobLifecycleTest, CancelOfScheduledAndQueuedJobsEndsThem) {
  Open(kT0);
  proto::JobSpec later = Spec();
  later.delay_ms = 60'000;
  const std::int64_t scheduled = Submit(later, kT0);
  const std::int64_t queued = Submit(Spec(), kT0);
  Commit();

  Effects fx;
  ASSERT_OK(jobs_->Cancel(scheduled, kT0 + 1, &fx));
  ASSERT_OK(jobs_->Cancel(queued, kT0 + 2, &fx));
  Commit();
  ASSERT_EQ(fx.ended.size(), 2u);
  EXPECT_EQ(fx.ended[0].seq, scheduled);
  EXPECT_EQ(fx.ended[0].state, JobState::kCancelled);
  EXPECT_EQ(fx.ended[1].seq, queued);
  EXPECT_EQ(fx.ended[1].state, JobState::kCancelled);
  EXPECT_TRUE(fx.send_now.empty()) << "no worker ran them";
  EXPECT_FALSE(jobs_->IsLive(scheduled));
  EXPECT_FALSE(jobs_->IsLive(queued));
  for (std::int64_t seq : {scheduled, queued}) {
    JobRecord rec = Stored(seq);
    EXPECT_EQ(rec.job.state, JobState::kCancelled);
    EXPECT_GT(rec.finished_ms, 0);
  }
  EXPECT_EQ(jobs_->counters().cancelled, 2);

  // Nothing left to run, to fire or to cancel again.
  AddWorker("w1", 2);
  EXPECT_TRUE(Dispatch(kT0 + 3).empty());
  Effects later_fx;
  ASSERT_OK(jobs_->OnTimer(kT0 + 120'000, &later_fx));
  EXPECT_TRUE(later_fx.ended.empty());
  EXPECT_EQ(jobs_->Cancel(queued, kT0 + 4, &fx).code(), Code::kConflict);
  EXPECT_EQ(jobs_->Cancel(9999, kT0 + 4, &fx).code(), Code::kNotFound);
}

// ---- dispatch and success ----------------------------------------------------------

TEST_F(JobLifecycleTest, DispatchSendsTheJobAfterTheCommitAndSuccessEndsIt) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.params = proto::kEmptyMap;
  spec.timeout_ms = 0;
  const std::int64_t seq = Submit(spec, kT0);
  Commit();
  Worker* w = AddWorker("w1", 1);
  EXPECT_EQ(w->credit(0), 1u);

  Effects fx;
  ASSERT_OK(jobs_->Dispatch(kT0 + 100, &fx));
  EXPECT_TRUE(fx.send_now.empty());
  ASSERT_EQ(fx.after_commit.size(), 1u);
  EXPECT_EQ(fx.after_commit[0].rid, "rid-w1");
  auto sent = Jobs(fx);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].job, FormatJobId(seq));
  EXPECT_EQ(sent[0].attempt, 1u);
  EXPECT_EQ(sent[0].kind, "k");
  EXPECT_EQ(sent[0].queue, "default");
  const Job* j = jobs_->Find(seq);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->worker, "w1");
  EXPECT_EQ(j->attempt, 1u);
  EXPECT_EQ(j->updated_ms, kT0 + 100);
  EXPECT_EQ(w->credit(0), 0u);
  EXPECT_EQ(jobs_->running_count(), 1u);
  // The dispatch is in the store before its JOB may go out.
  EXPECT_EQ(Stored(seq).job.state, JobState::kRunning);
  Commit();

  Effects done;
  ASSERT_OK(Report(w, Result(seq, 1, Outcome::kSucceeded), kT0 + 200, &done));
  Commit();
  ASSERT_EQ(done.ended.size(), 1u);
  EXPECT_EQ(done.ended[0].seq, seq);
  EXPECT_EQ(done.ended[0].state, JobState::kSucceeded);
  EXPECT_EQ(done.ended[0].kind, "k");
  EXPECT_FALSE(jobs_->IsLive(seq));
  EXPECT_TRUE(w->leases.empty());
  EXPECT_EQ(w->credit(0), 1u);
  JobRecord rec = Stored(seq);
  EXPECT_EQ(rec.job.state, JobState::kSucceeded);
  EXPECT_EQ(rec.finished_ms, kT0 + 200);
  ASSERT_EQ(rec.attempts.size(), 1u);
  EXPECT_EQ(rec.attempts[0].outcome, "succeeded");
  EXPECT_EQ(rec.attempts[0].worker, "w1");
  EXPECT_EQ(rec.attempts[0].started_ms, kT0 + 100);
  EXPECT_EQ(jobs_->counters().succeeded, 1);

  // The same RESULT again is a duplicate: nothing changes.
  Effects again;
  ASSERT_OK(Report(w, Result(seq, 1, Outcome::kSucceeded), kT0 + 300, &again));
  EXPECT_TRUE(again.ended.empty());
  EXPECT_EQ(jobs_->counters().duplicate_results, 1);
  // A succeeded job is not retried.
  EXPECT_EQ(jobs_->Retry(seq, kT0 + 400, &again).code(), Code::kConflict);
  store_.Rollback();
  EXPECT_EQ(Stored(seq).job.state, JobState::kSucceeded);
}

TEST_F(JobLifecycleTest, EndAttemptByTheCallerAndOnlyOfARunningJob) {
  Open(kT0);
  const std::int64_t seq = Submit(Spec(), kT0);
  Effects fx;
  AttemptEnd ok;
  ok.outcome = Outcome::kSucceeded;
  EXPECT_EQ(jobs_->EndAttempt(seq, ok, kT0, &fx).code(), Code::kConflict) << "ended a queued job";
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  ASSERT_OK(jobs_->EndAttempt(seq, ok, kT0 + 2, &fx));
  Commit();
  ASSERT_EQ(fx.ended.size(), 1u);
  EXPECT_EQ(fx.ended[0].state, JobState::kSucceeded);
  EXPECT_TRUE(w->leases.empty());
  EXPECT_EQ(Stored(seq).job.state, JobState::kSucceeded);
}

// ---- failures, backoff, dead -------------------------------------------------------

TEST_F(JobLifecycleTest, FailuresBackOffUntilMaxAttemptsThenTheJobIsDead) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.max_attempts = 3;
  spec.backoff_ms = 1000;
  const std::int64_t seq = Submit(spec, kT0);
  Commit();
  Worker* w = AddWorker("w1", 1);

  std::int64_t now = kT0;
  for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
    now += 10;
    auto sent = Dispatch(now);
    ASSERT_EQ(sent.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(sent[0].attempt, attempt);
    Commit();
    now += 50;
    Effects fx;
    ASSERT_OK(Report(w, Result(seq, attempt, Outcome::kFailed, "boom " + std::to_string(attempt)), now, &fx));
    Commit();
    if (attempt == 3) {
      ASSERT_EQ(fx.ended.size(), 1u);
      EXPECT_EQ(fx.ended[0].seq, seq);
      EXPECT_EQ(fx.ended[0].state, JobState::kDead);
      EXPECT_EQ(fx.ended[0].failures, 3u);
      EXPECT_NE(fx.ended[0].error.find("boom 3"), std::string::npos) << fx.ended[0].error;
      break;
    }
    EXPECT_TRUE(fx.ended.empty());
    const Job* j = jobs_->Find(seq);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->state, JobState::kScheduled);
    EXPECT_EQ(j->failures, attempt);
    EXPECT_EQ(j->updated_ms, now) << "the move to scheduled is dated when it happened";
    // At least the policy's floor: base * 2^(failures-1); jitter only adds (< 25%).
    const std::int64_t floor = 1000LL << (attempt - 1);
    EXPECT_GE(j->run_at_ms, now + floor);
    EXPECT_LT(j->run_at_ms, now + 2 * floor);
    JobRecord rec = Stored(seq);
    EXPECT_EQ(rec.job.state, JobState::kScheduled);
    EXPECT_EQ(rec.last_error, "boom " + std::to_string(attempt));
    EXPECT_EQ(rec.attempts.back().outcome, "failed");
    // Not before its run_at.
    const std::int64_t run_at = j->run_at_ms;
    Effects timer;
    ASSERT_OK(jobs_->OnTimer(run_at - 1, &timer));
    EXPECT_EQ(StateOf(seq), JobState::kScheduled);
    EXPECT_TRUE(Dispatch(run_at - 1).empty());
    ASSERT_OK(jobs_->OnTimer(run_at, &timer));
    EXPECT_EQ(StateOf(seq), JobState::kQueued);
    Commit();
    now = run_at;
  }
  EXPECT_FALSE(jobs_->IsLive(seq));
  JobRecord rec = Stored(seq);
  EXPECT_EQ(rec.job.state, JobState::kDead);
  EXPECT_EQ(rec.attempts.size(), 3u);
  EXPECT_EQ(jobs_->counters().failed, 3);
  EXPECT_EQ(jobs_->counters().dead, 1);
  EXPECT_EQ(jobs_->counters().retried, 2);
}

TEST_F(JobLifecycleTest, RetryAfterFromAResultIsALowerBound) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.backoff_ms = 1000;
  const std::int64_t long_wait = Submit(spec, kT0);
  const std::int64_t short_wait = Submit(spec, kT0);
  Worker* w = AddWorker("w1", 2);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 2u);
  Commit();

  const std::int64_t now = kT0 + 100;
  Effects fx;
  proto::JobResult r = Result(long_wait, 1, Outcome::kFailed, "429");
  r.retry_after_ms = 90'000;
  ASSERT_OK(Report(w, r, now, &fx));
  // A smaller retry_after does not shorten the backoff.
  proto::JobResult s = Result(short_wait, 1, Outcome::kFailed, "429");
  s.retry_after_ms = 10;
  ASSERT_OK(Report(w, s, now, &fx));
  Commit();
  ASSERT_NE(jobs_->Find(long_wait), nullptr);
  EXPECT_EQ(jobs_->Find(long_wait)->state, JobState::kScheduled);
  EXPECT_GE(jobs_->Find(long_wait)->run_at_ms, now + 90'000);
  ASSERT_NE(jobs_->Find(short_wait), nullptr);
  EXPECT_GE(jobs_->Find(short_wait)->run_at_ms, now + 1000);
  Effects timer;
  ASSERT_OK(jobs_->OnTimer(now + 89'999, &timer));
  EXPECT_EQ(StateOf(long_wait), JobState::kScheduled);
  EXPECT_EQ(StateOf(short_wait), JobState::kQueued);
}

TEST_F(JobLifecycleTest, AFailureThatIsNotRetryableIsDeadAtOnce) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.max_attempts = 5;
  const std::int64_t seq = Submit(spec, kT0);
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0).size(), 1u);
  Commit();
  Effects fx;
  proto::JobResult r = Result(seq, 1, Outcome::kFailed, "bad input");
  r.retryable = false;
  ASSERT_OK(Report(w, r, kT0 + 5, &fx));
  Commit();
  ASSERT_EQ(fx.ended.size(), 1u);
  EXPECT_EQ(fx.ended[0].state, JobState::kDead);
  EXPECT_EQ(fx.ended[0].failures, 1u);
  EXPECT_NE(fx.ended[0].error.find("not retryable"), std::string::npos) << fx.ended[0].error;
  JobRecord rec = Stored(seq);
  EXPECT_EQ(rec.job.state, JobState::kDead);
  EXPECT_NE(rec.last_error.find("bad input"), std::string::npos) << rec.last_error;
}

// ---- lost and returned --------------------------------------------------------------

TEST_F(JobLifecycleTest, AWorkerRemovedLosesItsAttemptsWhichAreQueuedAgainAndCounted) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.max_attempts = 2;
  const std::int64_t seq = Submit(spec, kT0);
  AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  Commit();

  Effects fx;
  ASSERT_OK(jobs_->RemoveWorker("rid-w1", "no heartbeat", kT0 + 10, &fx));
  Commit();
  EXPECT_TRUE(fx.ended.empty());
  const Job* j = jobs_->Find(seq);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kQueued) << "lost: queued again at once";
  EXPECT_EQ(j->failures, 1u);
  EXPECT_EQ(j->updated_ms, kT0 + 10);
  JobRecord rec = Stored(seq);
  EXPECT_EQ(rec.job.state, JobState::kQueued);
  EXPECT_NE(rec.last_error.find("worker lost"), std::string::npos) << rec.last_error;
  ASSERT_EQ(rec.attempts.size(), 1u);
  EXPECT_EQ(rec.attempts[0].outcome, "lost");
  EXPECT_EQ(jobs_->counters().lost, 1);

  // The next worker gets attempt 2; lost again, the job has no attempts left.
  AddWorker("w2", 1);
  auto sent = Dispatch(kT0 + 20);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attempt, 2u);
  Commit();
  Effects fx2;
  ASSERT_OK(jobs_->RemoveWorker("rid-w2", "gone", kT0 + 30, &fx2));
  Commit();
  ASSERT_EQ(fx2.ended.size(), 1u);
  EXPECT_EQ(fx2.ended[0].state, JobState::kDead);
  EXPECT_EQ(Stored(seq).job.state, JobState::kDead);
}

TEST_F(JobLifecycleTest, AReturnedAttemptIsQueuedAgainWithoutCounting) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.max_attempts = 1;
  const std::int64_t seq = Submit(spec, kT0);
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0).size(), 1u);
  Commit();
  Effects fx;
  ASSERT_OK(Report(w, Result(seq, 1, Outcome::kReturned), kT0 + 5, &fx));
  Commit();
  EXPECT_TRUE(fx.ended.empty());
  const Job* j = jobs_->Find(seq);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kQueued);
  EXPECT_EQ(j->failures, 0u);
  EXPECT_EQ(Stored(seq).job.state, JobState::kQueued);
  auto sent = Dispatch(kT0 + 6);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].attempt, 2u);
}

// ---- cancel of a running job ---------------------------------------------------------

TEST_F(JobLifecycleTest, CancelOfARunningJobTellsItsWorkerWhichKeepsTheLeaseUntilItReports) {
  Open(kT0);
  const std::int64_t seq = Submit(Spec(), kT0);
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  Commit();

  Effects fx;
  ASSERT_OK(jobs_->Cancel(seq, kT0 + 10, &fx));
  Commit();
  auto cancels = Cancels(fx, "rid-w1");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].job, FormatJobId(seq));
  EXPECT_EQ(cancels[0].attempt, 1u);
  EXPECT_TRUE(fx.after_commit.empty());
  ASSERT_EQ(fx.ended.size(), 1u);
  EXPECT_EQ(fx.ended[0].state, JobState::kCancelled);
  EXPECT_FALSE(jobs_->IsLive(seq));
  JobRecord rec = Stored(seq);
  EXPECT_EQ(rec.job.state, JobState::kCancelled);
  ASSERT_EQ(rec.attempts.size(), 1u);
  EXPECT_EQ(rec.attempts[0].outcome, "cancelled");
  // Still running there until it says otherwise: no credit for another job.
  EXPECT_EQ(w->leases.count({seq, 1u}), 1u);
  EXPECT_EQ(w->credit(0), 0u);
  Submit(Spec(), kT0 + 11);
  EXPECT_TRUE(Dispatch(kT0 + 12).empty());

  Effects reported;
  ASSERT_OK(Report(w, Result(seq, 1, Outcome::kCancelled), kT0 + 20, &reported));
  EXPECT_TRUE(reported.ended.empty()) << "the job ended already";
  EXPECT_TRUE(w->leases.empty());
  EXPECT_EQ(Dispatch(kT0 + 21).size(), 1u);
  Commit();
  EXPECT_EQ(Stored(seq).job.state, JobState::kCancelled);
}

// ---- retry by request ------------------------------------------------------------------

TEST_F(JobLifecycleTest, DeadAndCancelledJobsAreRetriedToQueued) {
  Open(kT0);
  proto::JobSpec once = Spec();
  once.max_attempts = 1;
  const std::int64_t dead = Submit(once, kT0);
  const std::int64_t cancelled = Submit(Spec(), kT0);
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);  // the first by seq
  Effects fx;
  ASSERT_OK(jobs_->Cancel(cancelled, kT0 + 2, &fx));
  Commit();
  ASSERT_OK(Report(w, Result(dead, 1, Outcome::kFailed, "x"), kT0 + 3, &fx));
  Commit();
  ASSERT_EQ(StateOf(dead), JobState::kDead);
  ASSERT_EQ(StateOf(cancelled), JobState::kCancelled);

  Effects retry;
  ASSERT_OK(jobs_->Retry(dead, kT0 + 100, &retry));
  ASSERT_OK(jobs_->Retry(cancelled, kT0 + 101, &retry));
  Commit();
  EXPECT_TRUE(retry.ended.empty());
  for (std::int64_t seq : {dead, cancelled}) {
    const Job* j = jobs_->Find(seq);
    ASSERT_NE(j, nullptr) << seq;
    EXPECT_EQ(j->state, JobState::kQueued);
    EXPECT_EQ(j->failures, 0u);
    JobRecord rec = Stored(seq);
    EXPECT_EQ(rec.job.state, JobState::kQueued);
    EXPECT_EQ(rec.finished_ms, 0) << "a retried job is not finished";
  }
  EXPECT_EQ(jobs_->Find(dead)->updated_ms, kT0 + 100);
  // The dead job runs as its next attempt.
  auto sent = Dispatch(kT0 + 200);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), dead);
  EXPECT_EQ(sent[0].attempt, 2u);
}

TEST_F(JobLifecycleTest, RetryIsRefusedForQueuedRunningSucceededAndUnknownJobs) {
  Open(kT0);
  const std::int64_t running = Submit(Spec(), kT0);
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0).size(), 1u);
  const std::int64_t queued = Submit(Spec(), kT0);
  Commit();

  Effects fx;
  EXPECT_EQ(jobs_->Retry(queued, kT0 + 1, &fx).code(), Code::kConflict);
  EXPECT_EQ(jobs_->Retry(running, kT0 + 1, &fx).code(), Code::kConflict);
  EXPECT_EQ(jobs_->Retry(12345, kT0 + 1, &fx).code(), Code::kNotFound);
  EXPECT_EQ(StateOf(queued), JobState::kQueued);
  EXPECT_EQ(StateOf(running), JobState::kRunning);
  EXPECT_EQ(jobs_->Find(running)->attempt, 1u);
  ASSERT_OK(Report(w, Result(running, 1, Outcome::kSucceeded), kT0 + 2, &fx));
  Commit();
  EXPECT_EQ(jobs_->Retry(running, kT0 + 3, &fx).code(), Code::kConflict);
  store_.Rollback();
  EXPECT_EQ(Stored(running).job.state, JobState::kSucceeded);
  EXPECT_EQ(jobs_->counters().retried, 0);
}

// ---- timeouts --------------------------------------------------------------------------

TEST_F(JobLifecycleTest, ATimedOutAttemptEndsAtDispatchPlusTimeoutPlusGraceAndNotBefore) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.timeout_ms = 2000;
  spec.max_attempts = 1;
  const std::int64_t seq = Submit(spec, kT0);
  proto::JobSpec retried = Spec();
  retried.timeout_ms = 2000;
  retried.max_attempts = 2;
  retried.backoff_ms = 1000;
  const std::int64_t again = Submit(retried, kT0);
  Worker* w = AddWorker("w1", 2);
  const std::int64_t dispatched = kT0 + 100;
  auto sent = Dispatch(dispatched);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].timeout_ms, 2000u);
  Commit();
  const std::int64_t deadline = dispatched + 2000 + jobs_->LeaseGraceMs();
  EXPECT_EQ(jobs_->NextDueMs(dispatched), deadline);

  Effects early;
  ASSERT_OK(jobs_->OnTimer(deadline - 1, &early));
  EXPECT_TRUE(early.ended.empty());
  EXPECT_TRUE(early.send_now.empty());
  EXPECT_EQ(StateOf(seq), JobState::kRunning);
  EXPECT_EQ(StateOf(again), JobState::kRunning);

  Effects fx;
  ASSERT_OK(jobs_->OnTimer(deadline, &fx));
  Commit();
  // No attempts left: dead, timed out.
  ASSERT_EQ(fx.ended.size(), 1u);
  EXPECT_EQ(fx.ended[0].seq, seq);
  EXPECT_EQ(fx.ended[0].state, JobState::kDead);
  EXPECT_NE(fx.ended[0].error.find("timed out"), std::string::npos) << fx.ended[0].error;
  // Attempts left: scheduled, backing off from now.
  const Job* j = jobs_->Find(again);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kScheduled);
  EXPECT_GE(j->run_at_ms, deadline + 1000);
  EXPECT_EQ(j->updated_ms, deadline);
  // Both attempts are told to stop; their leases stay until the worker reports.
  auto cancels = Cancels(fx, "rid-w1");
  EXPECT_EQ(cancels.size(), 2u);
  EXPECT_EQ(w->leases.size(), 2u);
  EXPECT_EQ(jobs_->counters().timed_out, 2);
  JobRecord rec = Stored(seq);
  EXPECT_EQ(rec.job.state, JobState::kDead);
  ASSERT_EQ(rec.attempts.size(), 1u);
  EXPECT_EQ(rec.attempts[0].outcome, "timed_out");
  // A late RESULT of a timed-out attempt changes nothing but the lease.
  Effects late;
  ASSERT_OK(Report(w, Result(seq, 1, Outcome::kSucceeded), deadline + 5, &late));
  EXPECT_TRUE(late.ended.empty());
  EXPECT_EQ(w->leases.size(), 1u);
  Commit();
  EXPECT_EQ(Stored(seq).job.state, JobState::kDead);
}

// ---- orphans after a restart -------------------------------------------------------------

TEST_F(JobLifecycleTest, RunningJobsAfterLoadAreAdoptedWhenReannouncedElseLostWithoutCounting) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.max_attempts = 1;  // a counted loss would make it dead
  const std::int64_t adopted = Submit(spec, kT0);
  const std::int64_t orphan = Submit(spec, kT0);
  AddWorker("w1", 2);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 2u);
  Commit();

  // A restart: workers are gone from memory, running jobs wait for them.
  const std::int64_t t1 = kT0 + 60'000;
  Reload(t1);
  EXPECT_EQ(summary_.running, 2u);
  for (std::int64_t seq : {adopted, orphan}) {
    const Job* j = jobs_->Find(seq);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->state, JobState::kRunning);
    EXPECT_TRUE(j->worker.empty());
    EXPECT_TRUE(j->has_timer);
    EXPECT_EQ(j->timer_kind, TimerKind::kOrphan);
  }

  // w1 comes back with one of them (and one the broker never heard of).
  Effects ready;
  Worker* w = AddWorker("w1", 2, {"k"}, t1 + 10, {{FormatJobId(adopted), 1}, {"j999999", 1}}, &ready);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(jobs_->Find(adopted)->worker, "w1");
  EXPECT_EQ(w->leases.count({adopted, 1u}), 1u);
  auto cancels = Cancels(ready, "rid-w1");
  ASSERT_EQ(cancels.size(), 1u) << "the unknown attempt is dropped, the adopted one kept";
  EXPECT_EQ(cancels[0].job, "j999999");

  Effects early;
  ASSERT_OK(jobs_->OnTimer(t1 + jobs_->OrphanGraceMs() - 1, &early));
  EXPECT_EQ(StateOf(orphan), JobState::kRunning);
  Effects fx;
  ASSERT_OK(jobs_->OnTimer(t1 + jobs_->OrphanGraceMs(), &fx));
  Commit();
  EXPECT_TRUE(fx.ended.empty());
  const Job* o = jobs_->Find(orphan);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->state, JobState::kQueued) << "lost, and not counted: max_attempts 1 would be dead";
  EXPECT_EQ(o->failures, 0u);
  JobRecord rec = Stored(orphan);
  EXPECT_EQ(rec.job.state, JobState::kQueued);
  ASSERT_EQ(rec.attempts.size(), 1u);
  EXPECT_EQ(rec.attempts[0].outcome, "lost");
  EXPECT_EQ(StateOf(adopted), JobState::kRunning) << "an adopted attempt is not an orphan";

  // The adopted attempt's RESULT is recorded; the orphan runs again as attempt 2.
  Effects done;
  ASSERT_OK(Report(w, Result(adopted, 1, Outcome::kSucceeded), t1 + 20'000, &done));
  ASSERT_EQ(done.ended.size(), 1u);
  EXPECT_EQ(done.ended[0].state, JobState::kSucceeded);
  auto sent = Dispatch(t1 + 20'001);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), orphan);
  EXPECT_EQ(sent[0].attempt, 2u);
  Commit();
}

// ---- the concurrency key ------------------------------------------------------------------

TEST_F(JobLifecycleTest, LakehouseJobsNeverRunAtOnce) {
  Open(kT0);
  const std::int64_t a = Submit(Spec("load"), kT0);
  const std::int64_t b = Submit(Spec("load"), kT0);
  ASSERT_EQ(jobs_->Find(a)->concurrency_key, kLakehouseConcurrencyKey);
  EXPECT_EQ(jobs_->Find(a)->concurrency_limit, 1u);
  Worker* w = AddWorker("w1", 4, {"load"});
  auto sent = Dispatch(kT0 + 1);
  ASSERT_EQ(sent.size(), 1u);
  Commit();
  const std::int64_t first = SeqOf(sent[0]);
  const std::int64_t second = first == a ? b : a;
  EXPECT_EQ(StateOf(second), JobState::kQueued);
  EXPECT_EQ(jobs_->gate().running(kLakehouseConcurrencyKey), 1);
  EXPECT_EQ(jobs_->gate().parked(), 1u);
  EXPECT_TRUE(Dispatch(kT0 + 2).empty()) << "the second lakehouse job ran beside the first";

  Effects fx;
  ASSERT_OK(Report(w, Result(first, 1, Outcome::kSucceeded), kT0 + 10, &fx));
  sent = Dispatch(kT0 + 11);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), second);
  EXPECT_EQ(jobs_->gate().running(kLakehouseConcurrencyKey), 1);
  Commit();
}

TEST_F(JobLifecycleTest, ATimedOutAttemptKeepsItsKeySlotUntilItsWorkerReportsIt) {
  Open(kT0);
  proto::JobSpec slow = Spec("load");
  slow.timeout_ms = 1000;
  slow.max_attempts = 1;
  const std::int64_t a = Submit(slow, kT0);
  Worker* w = AddWorker("w1", 4, {"load"});
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  const std::int64_t b = Submit(Spec("load"), kT0 + 2);
  EXPECT_TRUE(Dispatch(kT0 + 3).empty());
  Commit();

  Effects fx;
  ASSERT_OK(jobs_->OnTimer(kT0 + 1 + 1000 + jobs_->LeaseGraceMs(), &fx));
  Commit();
  ASSERT_EQ(fx.ended.size(), 1u);
  EXPECT_EQ(fx.ended[0].seq, a);
  EXPECT_EQ(Cancels(fx, "rid-w1").size(), 1u);
  // The attempt may still be writing to the lakehouse: b waits.
  EXPECT_EQ(jobs_->gate().running(kLakehouseConcurrencyKey), 1);
  EXPECT_TRUE(Dispatch(kT0 + 5000).empty()) << "b overlapped a timed-out attempt still on its worker";
  EXPECT_EQ(StateOf(b), JobState::kQueued);

  // Its worker reports it (cancelled, as told): the slot is free, b runs.
  Effects reported;
  ASSERT_OK(Report(w, Result(a, 1, Outcome::kCancelled), kT0 + 6000, &reported));
  EXPECT_TRUE(reported.ended.empty());
  auto sent = Dispatch(kT0 + 6001);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), b);
  Commit();
}

TEST_F(JobLifecycleTest, ACancelledAttemptKeepsItsKeySlotUntilItsWorkerIsRemoved) {
  Open(kT0);
  const std::int64_t a = Submit(Spec("transform.sql"), kT0);
  AddWorker("w1", 4, {"transform.sql", "export.serving"});
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  // Another kind of the same lakehouse key, and a worker with free slots.
  const std::int64_t b = Submit(Spec("export.serving"), kT0 + 2);
  AddWorker("w2", 4, {"export.serving"});
  EXPECT_TRUE(Dispatch(kT0 + 3).empty());
  Commit();

  Effects fx;
  ASSERT_OK(jobs_->Cancel(a, kT0 + 10, &fx));
  Commit();
  EXPECT_EQ(Cancels(fx, "rid-w1").size(), 1u);
  EXPECT_TRUE(Dispatch(kT0 + 11).empty()) << "b overlapped a cancelled attempt still on its worker";
  EXPECT_EQ(jobs_->gate().running(kLakehouseConcurrencyKey), 1);

  // w1 goes away (it never reported): its attempt is over, b runs on w2.
  Effects gone;
  ASSERT_OK(jobs_->RemoveWorker("rid-w1", "no heartbeat", kT0 + 20, &gone));
  EXPECT_TRUE(gone.ended.empty()) << "the cancelled job ended already";
  Effects d;
  auto sent = Dispatch(kT0 + 21, &d);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), b);
  EXPECT_EQ(d.after_commit[0].rid, "rid-w2");
  Commit();
  EXPECT_EQ(Stored(a).job.state, JobState::kCancelled);
}

TEST_F(JobLifecycleTest, AnExplicitConcurrencyKeyWithLimitTwo) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.concurrency_key = "warehouse";
  spec.concurrency_limit = 2;
  std::vector<std::int64_t> seqs;
  for (int i = 0; i < 3; ++i) seqs.push_back(Submit(spec, kT0));
  const std::int64_t free_job = Submit(Spec(), kT0);  // no key: not held back
  Worker* w = AddWorker("w1", 8);
  auto sent = Dispatch(kT0 + 1);
  ASSERT_EQ(sent.size(), 3u);
  Commit();
  std::set<std::int64_t> running;
  for (const auto& m : sent) running.insert(SeqOf(m));
  EXPECT_EQ(running.count(free_job), 1u);
  EXPECT_EQ(jobs_->gate().running("warehouse"), 2);
  std::int64_t waiting = 0;
  for (std::int64_t s : seqs)
    if (!running.count(s)) waiting = s;
  ASSERT_NE(waiting, 0);
  EXPECT_EQ(StateOf(waiting), JobState::kQueued);

  // One of the two ends: the third runs.
  const std::int64_t done = *std::find_if(seqs.begin(), seqs.end(), [&](std::int64_t s) { return s != waiting; });
  Effects fx;
  ASSERT_OK(Report(w, Result(done, 1, Outcome::kFailed, "x"), kT0 + 10, &fx));  // scheduled: left the attempt
  sent = Dispatch(kT0 + 11);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), waiting);
  EXPECT_EQ(jobs_->gate().running("warehouse"), 2);
  Commit();
}

TEST_F(JobLifecycleTest, ARetriedDeadJobKeepsItsParamsAndItsConcurrencyKey) {
  Open(kT0);
  proto::JobSpec spec = Spec("load");
  spec.max_attempts = 1;
  spec.params = std::string("\x81\xa1" "a\x01", 4);  // {"a": 1}
  const std::int64_t a = Submit(spec, kT0);
  Worker* w = AddWorker("w1", 4, {"load"});
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  Effects fx;
  ASSERT_OK(Report(w, Result(a, 1, Outcome::kFailed, "x"), kT0 + 2, &fx));
  Commit();
  ASSERT_EQ(StateOf(a), JobState::kDead);

  // Brought back from the store: the same params, the same lakehouse key.
  ASSERT_OK(jobs_->Retry(a, kT0 + 10, &fx));
  const std::int64_t b = Submit(Spec("load"), kT0 + 11);
  Commit();
  ASSERT_NE(jobs_->Find(a), nullptr);
  EXPECT_EQ(jobs_->Find(a)->concurrency_key, kLakehouseConcurrencyKey);
  auto sent = Dispatch(kT0 + 12);
  ASSERT_EQ(sent.size(), 1u) << "a retried lakehouse job ran beside another";
  EXPECT_EQ(SeqOf(sent[0]), a);
  EXPECT_EQ(sent[0].attempt, 2u);
  EXPECT_EQ(sent[0].params, spec.params);
  EXPECT_EQ(StateOf(b), JobState::kQueued);
  Commit();
}

// ---- idempotency -----------------------------------------------------------------------------

TEST_F(JobLifecycleTest, ASecondSubmitWithTheSameKeyReturnsTheFirstJob) {
  Open(kT0);
  proto::JobSpec spec = Spec();
  spec.key = "nightly-2027-01-15";
  Effects fx;
  auto first = jobs_->Submit(spec, kT0, &fx);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  // In the same transaction, and with other fields: the key names the job.
  spec.priority = 5;
  auto second = jobs_->Submit(spec, kT0 + 1, &fx);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->state, JobState::kQueued);
  EXPECT_EQ(jobs_->live_count(), 1u);
  Commit();

  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 2).size(), 1u);
  ASSERT_OK(Report(w, Result(*ParseJobId(first->id), 1, Outcome::kSucceeded), kT0 + 3, &fx));
  Commit();
  auto third = jobs_->Submit(spec, kT0 + 4, &fx);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->created);
  EXPECT_EQ(third->id, first->id);
  EXPECT_EQ(third->state, JobState::kSucceeded);
  EXPECT_EQ(jobs_->counters().submitted, 1);
  Commit();
}

// ---- effects -------------------------------------------------------------------------------

TEST_F(JobLifecycleTest, EffectsListJobsAfterTheCommitAndEndedJobsWithTheirStates) {
  Open(kT0);
  proto::JobSpec once = Spec();
  once.max_attempts = 1;
  const std::int64_t ok = Submit(Spec(), kT0);
  const std::int64_t bad = Submit(once, kT0);
  const std::int64_t cancelled = Submit(Spec(), kT0);
  Worker* w1 = AddWorker("w1", 1);
  Worker* w2 = AddWorker("w2", 1);
  Effects fx;
  ASSERT_OK(jobs_->Dispatch(kT0 + 1, &fx));
  EXPECT_TRUE(fx.send_now.empty());
  ASSERT_EQ(fx.after_commit.size(), 2u);
  std::set<std::string> rids;
  for (const Message& m : fx.after_commit) {
    EXPECT_EQ(m.cmd, proto::Command::kJob);
    rids.insert(m.rid);
  }
  EXPECT_EQ(rids, (std::set<std::string>{"rid-w1", "rid-w2"}));
  Commit();
  Worker* holder_ok = jobs_->HolderOf(*jobs_->Find(ok));
  Worker* holder_bad = jobs_->HolderOf(*jobs_->Find(bad));
  ASSERT_TRUE(holder_ok != nullptr && holder_bad != nullptr);
  EXPECT_NE(holder_ok, holder_bad);
  EXPECT_TRUE((holder_ok == w1 || holder_ok == w2));

  Effects ends;
  ASSERT_OK(Report(holder_ok, Result(ok, 1, Outcome::kSucceeded), kT0 + 5, &ends));
  ASSERT_OK(Report(holder_bad, Result(bad, 1, Outcome::kFailed, "nope"), kT0 + 5, &ends));
  ASSERT_OK(jobs_->Cancel(cancelled, kT0 + 5, &ends));
  Commit();
  ASSERT_EQ(ends.ended.size(), 3u);
  std::map<std::int64_t, JobState> states;
  for (const EndedJob& e : ends.ended) states[e.seq] = e.state;
  EXPECT_EQ(states[ok], JobState::kSucceeded);
  EXPECT_EQ(states[bad], JobState::kDead);
  EXPECT_EQ(states[cancelled], JobState::kCancelled);
  EXPECT_TRUE(ends.send_now.empty()) << "no CANCEL for a job no worker ran";
  EXPECT_EQ(jobs_->live_count(), 0u);
}

// ---- the fault seam ----------------------------------------------------------------------------

class JobLifecycleFaultTest : public JobLifecycleTest {
 protected:
  void SetUp() override {
    JobLifecycleTest::SetUp();
    ASSERT_TRUE(fault::Register());
    fault::Clear();
  }
  // The status of an entry point and, when it succeeded, of the commit.
  Status AndCommit(Status s) {
    if (s.ok()) s = store_.Commit();
    return s;
  }
};

TEST_F(JobLifecycleFaultTest, ADiskFullCommitStoresNothingOfTheTurn) {
  Open(kT0, fault::kVfsName);
  const std::int64_t a = Submit(Spec(), kT0);
  Commit();
  AddWorker("w1", 1);

  fault::Arm(fault::Op::kWrite, SQLITE_FULL);
  Effects fx;
  proto::JobSpec keyed = Spec();
  keyed.key = "refused";
  auto b = jobs_->Submit(keyed, kT0 + 1, &fx);
  Status s = b.ok() ? jobs_->Dispatch(kT0 + 2, &fx) : b.status();
  s = AndCommit(s);
  EXPECT_FALSE(s.ok()) << "a write on a full disk succeeded";
  EXPECT_GE(fault::Injected(), 1);
  fault::Clear();

  Reopen(kT0 + 3);
  EXPECT_EQ(summary_.queued, 1u);
  EXPECT_EQ(summary_.running, 0u) << "the dispatch of the failed turn was stored";
  EXPECT_EQ(StateOf(a), JobState::kQueued);
  EXPECT_EQ(Stored(a).attempts.size(), 0u);
  if (b.ok()) {
    EXPECT_FALSE(StoredExists(*ParseJobId(b->id))) << "the refused job was stored";
  }
  // Its key is free, and a works on.
  auto again = jobs_->Submit(keyed, kT0 + 4, &fx);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->created);
  AddWorker("w1", 2);
  EXPECT_EQ(Dispatch(kT0 + 5).size(), 2u);
  Commit();
}

TEST_F(JobLifecycleFaultTest, AnIOErrorWhileRecordingAResultLeavesTheAttemptRunning) {
  Open(kT0, fault::kVfsName);
  const std::int64_t a = Submit(Spec(), kT0);
  Worker* w = AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  Commit();

  fault::Arm(fault::Op::kWrite, SQLITE_IOERR_WRITE);
  Effects fx;
  Status s = AndCommit(Report(w, Result(a, 1, Outcome::kSucceeded), kT0 + 10, &fx));
  EXPECT_FALSE(s.ok());
  fault::Clear();

  Reopen(kT0 + 20);
  EXPECT_EQ(summary_.running, 1u);
  EXPECT_EQ(StateOf(a), JobState::kRunning);
  JobRecord rec = Stored(a);
  EXPECT_EQ(rec.job.state, JobState::kRunning);
  EXPECT_TRUE(rec.attempts.empty()) << "half of the RESULT was stored";
  EXPECT_EQ(rec.finished_ms, 0);
  // The worker re-announces it and sends its RESULT again: recorded once.
  Effects again;
  w = AddWorker("w1", 1, {"k"}, kT0 + 30, {{FormatJobId(a), 1}}, &again);
  ASSERT_OK(Report(w, Result(a, 1, Outcome::kSucceeded), kT0 + 31, &again));
  Commit();
  ASSERT_EQ(again.ended.size(), 1u);
  EXPECT_EQ(Stored(a).job.state, JobState::kSucceeded);
  EXPECT_EQ(Stored(a).attempts.size(), 1u);
}

TEST_F(JobLifecycleFaultTest, ALockHeldElsewhereRefusesTheRequestAndChangesNothing) {
  Open(kT0, fault::kVfsName);
  const std::int64_t a = Submit(Spec(), kT0);
  Commit();
  AddWorker("w1", 1);

  fault::Arm(fault::Op::kLock, SQLITE_BUSY);
  Effects fx;
  // Writes refused at the start: nothing changed, in memory or stored.
  EXPECT_FALSE(jobs_->Cancel(a, kT0 + 1, &fx).ok());
  EXPECT_FALSE(jobs_->Submit(Spec(), kT0 + 1, &fx).ok());
  EXPECT_TRUE(fx.ended.empty());
  EXPECT_EQ(StateOf(a), JobState::kQueued);
  // Dispatch waits for writes (the job stays queued, dispatch wanted).
  ASSERT_OK(jobs_->Dispatch(kT0 + 2, &fx));
  EXPECT_TRUE(fx.after_commit.empty());
  EXPECT_TRUE(jobs_->WantsDispatch(kT0 + 2));
  EXPECT_EQ(StateOf(a), JobState::kQueued);
  fault::Clear();

  Reopen(kT0 + 3);
  EXPECT_EQ(StateOf(a), JobState::kQueued);
  EXPECT_EQ(store_.next_job_seq(), a + 1) << "a refused SUBMIT spent a job id in the store";
  AddWorker("w1", 1);
  auto sent = Dispatch(kT0 + 4);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(SeqOf(sent[0]), a);
  Commit();
}

TEST_F(JobLifecycleFaultTest, AWorkerRemovedWhileWritesFailOrphansItsAttemptsUntilTheyWork) {
  Open(kT0, fault::kVfsName);
  proto::JobSpec spec = Spec();
  spec.max_attempts = 1;
  const std::int64_t a = Submit(spec, kT0);
  AddWorker("w1", 1);
  ASSERT_EQ(Dispatch(kT0 + 1).size(), 1u);
  Commit();

  fault::Arm(fault::Op::kLock, SQLITE_BUSY);
  Effects fx;
  ASSERT_OK(jobs_->RemoveWorker("rid-w1", "no heartbeat", kT0 + 10, &fx));
  EXPECT_TRUE(fx.ended.empty());
  const Job* j = jobs_->Find(a);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kRunning) << "nothing is written while writes fail";
  EXPECT_TRUE(j->worker.empty());
  EXPECT_EQ(j->timer_kind, TimerKind::kOrphan);
  fault::Clear();

  // Writes work again; nobody re-announced it: lost, not counted.
  Effects timer;
  ASSERT_OK(jobs_->OnTimer(kT0 + 10 + jobs_->OrphanGraceMs(), &timer));
  Commit();
  EXPECT_TRUE(timer.ended.empty()) << "max_attempts 1: a counted loss would be dead";
  EXPECT_EQ(StateOf(a), JobState::kQueued);
  EXPECT_EQ(Stored(a).job.state, JobState::kQueued);
}

}  // namespace
}  // namespace sluice::broker
