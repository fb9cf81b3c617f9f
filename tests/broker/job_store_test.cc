#include "broker/job_store.h"
#include "broker/extract_runs.h"
#include "broker/run_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "schemas/database_owner.h"
#include "schemas/messages.h"
#include "schemas/state_schema.h"
#include "tests/schemas/db_files.h"

namespace sluice::broker {
namespace {

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-store-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "sub" / "state.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Job MakeJob(JobStore& s, std::int64_t created_ms, const std::string& key = {}) {
    Job j;
    j.seq = s.AllocateJobSeq();
    j.kind = "test.noop";
    j.params = proto::kEmptyMap;
    j.created_ms = j.updated_ms = j.run_at_ms = created_ms;
    j.key = key;
    return j;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JobStoreTest, CreatesFolderAndSchemaAtCurrentVersion) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  auto st = s.db().Prepare("PRAGMA user_version");
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->Step(), SQLITE_ROW);
  EXPECT_EQ(st->Int(0), schema::CurrentVersion());
  auto mode = s.db().Prepare("PRAGMA journal_mode");
  ASSERT_EQ(mode->Step(), SQLITE_ROW);
  EXPECT_EQ(mode->Text(0), "wal");
}

// Every schema change: a database of the previous version opens, migrates,
// and keeps its data.
TEST_F(JobStoreTest, MigratesAVersion1Database) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  {
    Database db;
    ASSERT_TRUE(db.Open(path_).ok());
    ASSERT_TRUE(db.Exec(schema::Migrations()[0]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=1").ok());
    ASSERT_TRUE(db.Exec("UPDATE counters SET value=8 WHERE name='next_job_seq'").ok());
    ASSERT_TRUE(db.Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, "
                        "timeout_ms, run_at_ms, created_ms, updated_ms) "
                        "VALUES (7, 'test.noop', x'80', 'queued', 5, 5000, 0, 1, 1, 1)")
                    .ok());
  }
  JobStore s;
  Status st = s.Open(path_, SyncMode::kNormal);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto v = s.db().Prepare("PRAGMA user_version");
  ASSERT_EQ(v->Step(), SQLITE_ROW);
  EXPECT_EQ(v->Int(0), schema::CurrentVersion());
  EXPECT_EQ(s.next_job_seq(), 8);
  std::vector<Job> live;
  ASSERT_TRUE(s.LoadLive([&](Job&& j) { live.push_back(std::move(j)); }).ok());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].seq, 7);
  EXPECT_TRUE(live[0].concurrency_key.empty());
  EXPECT_TRUE(s.db().Exec("SELECT run_id, extractor, started_at, finished_at, status, files_written, "
                          "files_skipped, bytes_written, cursor_value, error_message "
                          "FROM extraction_runs WHERE status='failed' AND "
                          "started_at > datetime('now','-7 days')")
                  .ok());
}

TEST_F(JobStoreTest, RefusesANewerSchema) {
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    ASSERT_TRUE(s.Begin().ok());
    ASSERT_TRUE(s.db().Exec("PRAGMA user_version=99").ok());
    ASSERT_TRUE(s.Commit().ok());
  }
  JobStore s;
  Status st = s.Open(path_, SyncMode::kNormal);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("newer"), std::string::npos) << st.message();
}

// Retention may delete the newest job; its seq still never comes back.
// The counter is written by Prune itself (not on every commit).
TEST_F(JobStoreTest, JobSeqIsNeverReusedEvenAfterPruning) {
  std::int64_t last = 0;
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    ASSERT_TRUE(s.Begin().ok());
    for (int i = 0; i < 3; ++i) {
      Job j = MakeJob(s, 1000);
      ASSERT_TRUE(s.InsertJob(j).ok());
      j.state = JobState::kSucceeded;
      ASSERT_TRUE(s.UpdateJob(j, 1001, {}, {}).ok());  // finished at 1001
      last = j.seq;
    }
    ASSERT_TRUE(s.Commit().ok());
    ASSERT_TRUE(s.Begin().ok());
    std::int64_t cursor = 0;
    JobStore::PrunedCounts deleted;
    ASSERT_TRUE(s.Prune(5000, 100, &cursor, &deleted).ok());
    ASSERT_TRUE(s.Commit().ok());
    ASSERT_EQ(deleted["default"][static_cast<int>(JobState::kSucceeded)], 3);
    s.Close();  // no SaveNextSeq: as after a SIGKILL
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_GT(s.next_job_seq(), last);
}

// Without pruning, a restart finds the next seq from the jobs themselves,
// and SaveNextSeq (at a clean shutdown) writes the counter in one small
// transaction; no commit of jobs writes it.
TEST_F(JobStoreTest, TheNextSeqIsWrittenAtShutdownNotOnEveryCommit) {
  auto counter = [&](JobStore& s) {
    auto st = s.db().Prepare("SELECT value FROM counters WHERE name='next_job_seq'");
    EXPECT_TRUE(st.ok() && st->Step() == SQLITE_ROW);
    return st.ok() ? st->Int(0) : -1;
  };
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    ASSERT_TRUE(s.Begin().ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.InsertJob(MakeJob(s, 1000)).ok());
    ASSERT_TRUE(s.Commit().ok());
    EXPECT_EQ(counter(s), 1);
    s.Close();  // as after a SIGKILL
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.next_job_seq(), 4);
  ASSERT_TRUE(s.Begin().ok());
  ASSERT_TRUE(s.InsertJob(MakeJob(s, 1000)).ok());
  EXPECT_FALSE(s.SaveNextSeq().ok()) << "not inside a transaction";
  ASSERT_TRUE(s.Commit().ok());
  ASSERT_TRUE(s.SaveNextSeq().ok());
  EXPECT_EQ(counter(s), 5);
  EXPECT_FALSE(s.in_transaction());
}

TEST_F(JobStoreTest, UncommittedSeqsAreNotPersisted) {
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    ASSERT_TRUE(s.Begin().ok());
    Job j = MakeJob(s, 1000);
    ASSERT_TRUE(s.InsertJob(j).ok());
    s.Close();  // rolls back, as a crash would
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.next_job_seq(), 1);
  auto rec = s.Load(1, false);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_value());
}

TEST_F(JobStoreTest, AttemptsAndStateRoundTrip) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  ASSERT_TRUE(s.Begin().ok());
  Job j = MakeJob(s, 1000, "key-1");
  ASSERT_TRUE(s.InsertJob(j).ok());
  j.attempt = 1;
  ASSERT_TRUE(s.InsertAttempt(j.seq, 1, "w1", "h1", 1100, 1200, Outcome::kFailed, "boom", 3, "out",
                              "err").ok());
  j.state = JobState::kDead;
  j.failures = 1;
  j.updated_ms = 1200;
  ASSERT_TRUE(s.UpdateJob(j, 1200, "boom", {}).ok());
  ASSERT_TRUE(s.Commit().ok());

  auto rec = s.Load(j.seq, true);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  const JobRecord& r = **rec;
  EXPECT_EQ(r.job.state, JobState::kDead);
  EXPECT_EQ(r.finished_ms, 1200);
  EXPECT_EQ(r.last_error, "boom");
  ASSERT_EQ(r.attempts.size(), 1u);
  EXPECT_EQ(r.attempts[0].outcome, "failed");
  EXPECT_EQ(r.attempts[0].worker, "w1");
  EXPECT_EQ(r.attempts[0].exit_code, 3);
  EXPECT_EQ(r.attempts[0].stdout_tail, "out");
  auto key = s.FindKey("key-1");
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ((*key)->first, j.seq);
  EXPECT_EQ((*key)->second, JobState::kDead);
}

TEST_F(JobStoreTest, StateCheckConstraintRejectsUnknownStates) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  ASSERT_TRUE(s.Begin().ok());
  EXPECT_FALSE(s.db().Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, "
                           "timeout_ms, run_at_ms, created_ms, updated_ms) "
                           "VALUES (1, 'k', x'80', 'done', 1, 1, 0, 0, 0, 0)")
                   .ok());
}

TEST_F(JobStoreTest, PruneDeletesOnlyOldFinishedJobsAndTheirAttempts) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  ASSERT_TRUE(s.Begin().ok());
  std::vector<Job> jobs;
  // 10 old finished, 2 old still queued, 5 recent finished.
  for (int i = 0; i < 17; ++i) {
    Job j = MakeJob(s, i < 12 ? 1000 : 50000);
    ASSERT_TRUE(s.InsertJob(j).ok());
    if (i < 10 || i >= 12) {
      j.attempt = 1;
      j.state = JobState::kSucceeded;
      ASSERT_TRUE(s.InsertAttempt(j.seq, 1, "w", "h", j.created_ms, j.created_ms + 1,
                                  Outcome::kSucceeded, {}, {}, {}, {}).ok());
      ASSERT_TRUE(s.UpdateJob(j, j.created_ms + 1, {}, {}).ok());
    }
    jobs.push_back(j);
  }
  ASSERT_TRUE(s.db().Exec("INSERT INTO extraction_runs(extractor, started_at, status, job_id, attempt) "
                          "VALUES ('x', '2024-01-01 00:00:00', 'success', 'j1', 1), "
                          "('x', '2024-01-01 00:00:00', 'success', 'j13', 1)").ok());
  std::int64_t cursor = 0, total = 0;
  JobStore::PrunedCounts deleted;
  do {  // small chunks, as the broker does
    ASSERT_TRUE(s.Prune(20000, 3, &cursor, &deleted).ok());
    for (const auto& [queue, by_state] : deleted) {
      EXPECT_EQ(queue, "default");
      total += by_state[static_cast<int>(JobState::kSucceeded)];
    }
  } while (cursor != 0);
  ASSERT_TRUE(s.Commit().ok());
  EXPECT_EQ(total, 10);
  std::map<JobState, std::int64_t> counts;
  ASSERT_TRUE(s.CountByQueueAndState([&](const std::string&, JobState st, std::int64_t n) {
                 counts[st] += n;
               }).ok());
  EXPECT_EQ(counts[JobState::kSucceeded], 5);
  EXPECT_EQ(counts[JobState::kQueued], 2);
  auto st = s.db().Prepare("SELECT COUNT(*) FROM attempts");
  ASSERT_EQ(st->Step(), SQLITE_ROW);
  EXPECT_EQ(st->Int(0), 5);
  auto runs = s.db().Prepare("SELECT group_concat(job_id) FROM extraction_runs");
  ASSERT_EQ(runs->Step(), SQLITE_ROW);
  EXPECT_EQ(runs->Text(0), "j13") << "the pruned job's extract run goes with it";
}

TEST_F(JobStoreTest, MigratesAVersion2DatabaseToWorkflows) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  {
    Database db;
    ASSERT_TRUE(db.Open(path_).ok());
    ASSERT_TRUE(db.Exec(schema::Migrations()[0]).ok());
    ASSERT_TRUE(db.Exec(schema::Migrations()[1]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=2").ok());
    ASSERT_TRUE(db.Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, "
                        "timeout_ms, run_at_ms, created_ms, updated_ms, concurrency_key) "
                        "VALUES (3, 'extract.http', x'80', 'queued', 5, 5000, 0, 1, 1, 1, 'k')")
                    .ok());
    ASSERT_TRUE(db.Exec("INSERT INTO extract_cursors VALUES ('s', 'u', 'e', NULL, 'now')").ok());
  }
  JobStore s;
  Status st = s.Open(path_, SyncMode::kNormal);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto v = s.db().Prepare("PRAGMA user_version");
  ASSERT_EQ(v->Step(), SQLITE_ROW);
  EXPECT_EQ(v->Int(0), schema::CurrentVersion());
  std::vector<Job> live;
  ASSERT_TRUE(s.LoadLive([&](Job&& j) { live.push_back(std::move(j)); }).ok());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].concurrency_key, "k");
  // The workflow tables exist and work; run ids start at r1.
  RunStore runs;
  ASSERT_TRUE(runs.Prepare(s.db()).ok());
  ASSERT_TRUE(s.Begin().ok());
  RunRow row;
  row.seq = runs.AllocateRunSeq();
  EXPECT_EQ(row.seq, 1);
  row.workflow = "w";
  row.state = "queued";
  row.trigger = "manual";
  row.logical_date = "2024-01-01";
  row.params = "{}";
  row.definition = "{}";
  ASSERT_TRUE(runs.InsertRun(row).ok());
  ASSERT_TRUE(runs.InsertFire("w", 60000, 1, 1).ok());
  EXPECT_FALSE(runs.InsertFire("w", 60000, 2, 1).ok()) << "a slot fires once";
  ASSERT_TRUE(s.Commit().ok());
  auto id = s.db().Prepare("SELECT id FROM runs");
  ASSERT_EQ(id->Step(), SQLITE_ROW);
  EXPECT_EQ(id->Text(0), "r1");
}

TEST_F(JobStoreTest, LoadLiveReturnsOnlyLiveJobsInOrder) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  ASSERT_TRUE(s.Begin().ok());
  Job a = MakeJob(s, 1000);
  a.attempt = 2;
  ASSERT_TRUE(s.InsertJob(a).ok());
  Job b = MakeJob(s, 1000);
  b.state = JobState::kScheduled;
  ASSERT_TRUE(s.InsertJob(b).ok());
  Job c = MakeJob(s, 1000);
  ASSERT_TRUE(s.InsertJob(c).ok());
  c.state = JobState::kSucceeded;
  ASSERT_TRUE(s.UpdateJob(c, 1100, {}, proto::kEmptyMap).ok());
  ASSERT_TRUE(s.Commit().ok());
  std::vector<Job> live;
  ASSERT_TRUE(s.LoadLive([&](Job&& j) { live.push_back(std::move(j)); }).ok());
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].state, JobState::kQueued);
  EXPECT_EQ(live[0].attempt, 2u);
  EXPECT_EQ(live[1].state, JobState::kScheduled);
}

TEST_F(JobStoreTest, MigratesAVersion3DatabaseToWrittenDispatches) {
  {
    Database db;
    std::filesystem::create_directories(dir_ / "sub");
    ASSERT_TRUE(db.Open(path_).ok());
    for (int v = 0; v < 3; ++v) ASSERT_TRUE(db.Exec(schema::Migrations()[v]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=3").ok());
    ASSERT_TRUE(db.Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, timeout_ms, "
                        "run_at_ms, created_ms, updated_ms) VALUES (7, 'k', x'80', 'queued', 3, 1, 0, 0, 0, 0)")
                    .ok());
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.opened_version(), 3);
  auto v = s.db().Prepare("PRAGMA user_version");
  ASSERT_TRUE(v.ok() && v->Step() == SQLITE_ROW);
  EXPECT_EQ(v->Int(0), schema::CurrentVersion());
  auto marker = s.db().Prepare("SELECT value FROM counters WHERE name='dispatch_written'");
  ASSERT_TRUE(marker.ok() && marker->Step() == SQLITE_ROW);
  EXPECT_EQ(marker->Int(0), 1);
  auto job = s.Load(7, false);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->job.state, JobState::kQueued);
  EXPECT_GT(s.next_job_seq(), 7);
}

// Schema 5 adds metric_counters: a version 4 database (what the previous
// release wrote) opens, keeps its jobs, and its counters start at zero.
TEST_F(JobStoreTest, MigratesAVersion4DatabaseToMetricCounters) {
  {
    Database db;
    std::filesystem::create_directories(dir_ / "sub");
    ASSERT_TRUE(db.Open(path_).ok());
    for (int v = 0; v < 4; ++v) ASSERT_TRUE(db.Exec(schema::Migrations()[v]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=4").ok());
    ASSERT_TRUE(db.Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, timeout_ms, "
                        "run_at_ms, created_ms, updated_ms, finished_ms) "
                        "VALUES (9, 'k', x'80', 'succeeded', 3, 1, 0, 0, 0, 0, 5)")
                    .ok());
  }
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    EXPECT_EQ(s.opened_version(), 4);
    auto v = s.db().Prepare("PRAGMA user_version");
    ASSERT_TRUE(v.ok() && v->Step() == SQLITE_ROW);
    EXPECT_EQ(v->Int(0), schema::CurrentVersion());
    auto job = s.Load(9, false);
    ASSERT_TRUE(job.ok() && job->has_value());
    EXPECT_EQ((*job)->job.state, JobState::kSucceeded);
    EXPECT_TRUE(s.metrics().values().empty());
    ASSERT_TRUE(s.Begin().ok());
    s.metrics().Add("sluice_job_results_total", {{"kind", "k"}, {"outcome", "succeeded"}}, 2);
    ASSERT_TRUE(s.Commit().ok());
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.metrics().Get("sluice_job_results_total", "kind=\"k\",outcome=\"succeeded\""), 2);
}

// Schema 7 adds extract_cursors.cursor (a string cursor reported by any
// extractor): a version 6 database opens, keeps extract.http's validators,
// and takes a string cursor.
TEST_F(JobStoreTest, MigratesAVersion6DatabaseToStringCursors) {
  {
    Database db;
    std::filesystem::create_directories(dir_ / "sub");
    ASSERT_TRUE(db.Open(path_).ok());
    for (int v = 0; v < 6; ++v) ASSERT_TRUE(db.Exec(schema::Migrations()[v]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=6").ok());
    ASSERT_TRUE(db.Exec("INSERT INTO extract_cursors VALUES ('s', 'http://o/a.csv', '\"e1\"', NULL, 'now')").ok());
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.opened_version(), 6);
  auto v = s.db().Prepare("PRAGMA user_version");
  ASSERT_EQ(v->Step(), SQLITE_ROW);
  EXPECT_EQ(v->Int(0), 7);
  // extract.http's validators read as before; a string cursor is stored.
  ExtractRuns runs;
  ASSERT_TRUE(runs.Prepare(s.db(), nullptr).ok());
  auto old = runs.LookUpCursor("s", "http://o/a.csv");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->etag, "\"e1\"");
  EXPECT_FALSE(old->cursor.has_value());
  Job job = MakeJob(s, 1);
  job.kind = "ext.weather";
  job.attempt = 1;
  ExtractionReport report;
  report.key = "station-1";
  report.cursor = "page=7";
  ASSERT_TRUE(s.Begin().ok());
  ASSERT_TRUE(runs.RecordStart(job, "ext.weather", "weather", "station-1", 5).ok());
  ASSERT_TRUE(runs.RecordEnd(job, "weather", Outcome::kSucceeded, "", &report, 6).ok());
  ASSERT_TRUE(s.Commit().ok());
  auto now = runs.LookUpCursor("weather", "station-1");
  ASSERT_TRUE(now.has_value() && now->cursor.has_value());
  EXPECT_EQ(*now->cursor, "page=7");
}

// Schema 6 adds the partial index jobs_dead: a version 5 database opens,
// and LIST state=dead reads the index, not every job.
TEST_F(JobStoreTest, MigratesAVersion5DatabaseToTheDeadJobsIndex) {
  {
    Database db;
    std::filesystem::create_directories(dir_ / "sub");
    ASSERT_TRUE(db.Open(path_).ok());
    for (int v = 0; v < 5; ++v) ASSERT_TRUE(db.Exec(schema::Migrations()[v]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=5").ok());
    for (int seq = 1; seq <= 50; ++seq) {
      const char* state = seq % 10 == 0 ? "dead" : "succeeded";
      ASSERT_TRUE(db.Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, timeout_ms, "
                          "run_at_ms, created_ms, updated_ms, finished_ms) VALUES (" +
                          std::to_string(seq) + ", 'k', x'80', '" + state + "', 3, 1, 0, 0, 0, 0, 5)")
                      .ok());
    }
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.opened_version(), 5);
  ListFilter f;
  f.state = JobState::kDead;
  f.limit = 3;
  auto rows = s.List(f);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].job.seq, 50);
  EXPECT_EQ((*rows)[1].job.seq, 40);
  EXPECT_EQ((*rows)[2].job.seq, 30);
  // The plan of that query: the index, not a scan of the table.
  auto plan = s.db().Prepare("EXPLAIN QUERY PLAN SELECT seq FROM jobs WHERE 1 AND state='dead' ORDER BY seq DESC LIMIT 3");
  ASSERT_TRUE(plan.ok());
  std::string detail;
  while (plan->Step() == SQLITE_ROW) detail += std::string(plan->Text(3)) + ";";
  EXPECT_NE(detail.find("jobs_dead"), std::string::npos) << detail;
}

// Counters are written in the commit of the changes they count: what a
// rolled-back transaction added is gone, what a commit added survives a
// reopen, and a flood of label sets folds into one "_other" series.
TEST_F(JobStoreTest, MetricCountersCommitAndRollBackWithTheirTransaction) {
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    ASSERT_TRUE(s.Begin().ok());
    s.metrics().Add("sluice_jobs_dead_total", {{"kind", "a"}}, 1);
    s.metrics().Observe("sluice_attempt_duration_seconds", {{"kind", "a"}}, {0.1, 1}, 0.5);
    ASSERT_TRUE(s.Commit().ok());
    ASSERT_TRUE(s.Begin().ok());
    s.metrics().Add("sluice_jobs_dead_total", {{"kind", "a"}}, 5);
    s.metrics().Add("sluice_jobs_dead_total", {{"kind", "b"}}, 1);
    s.Rollback();
    EXPECT_EQ(s.metrics().Get("sluice_jobs_dead_total", "kind=\"a\""), 1);
    EXPECT_EQ(s.metrics().Get("sluice_jobs_dead_total", "kind=\"b\""), 0);
    ASSERT_TRUE(s.Begin().ok());
    for (std::size_t i = 0; i < MetricCounters::kMaxSeries + 10; ++i)
      s.metrics().Add("sluice_job_retries_total", {{"kind", "k" + std::to_string(i)}}, 1);
    ASSERT_TRUE(s.Commit().ok());
  }
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(s.metrics().Get("sluice_jobs_dead_total", "kind=\"a\""), 1);
  EXPECT_EQ(s.metrics().Get("sluice_jobs_dead_total", "kind=\"b\""), 0);
  EXPECT_EQ(s.metrics().Get("sluice_attempt_duration_seconds_bucket", "kind=\"a\",le=\"1\""), 1);
  EXPECT_EQ(s.metrics().Get("sluice_attempt_duration_seconds_count", "kind=\"a\""), 1);
  EXPECT_EQ(s.metrics().Get("sluice_attempt_duration_seconds_sum", "kind=\"a\""), 0.5);
  const auto& retries = s.metrics().values().at("sluice_job_retries_total");
  EXPECT_EQ(retries.size(), MetricCounters::kMaxSeries + 1);
  EXPECT_EQ(s.metrics().Get("sluice_job_retries_total", "kind=\"_other\""), 10);
}

TEST_F(JobStoreTest, NothingCommitsOutsideCommit) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  // A write outside Begin/Commit (as after SQLite rolled a failed
  // transaction back on its own) must not commit by itself.
  EXPECT_FALSE(s.db().Exec("UPDATE counters SET value=value+100 WHERE name='next_job_seq'").ok());
  ASSERT_TRUE(s.Begin().ok());
  Job j = MakeJob(s, 1000);
  ASSERT_TRUE(s.InsertJob(j).ok());
  ASSERT_TRUE(s.Commit().ok());
  EXPECT_TRUE(s.Probe().ok());
  auto load = s.Load(j.seq, false);
  ASSERT_TRUE(load.ok() && load->has_value());
  // The +100 above did not stick (the counter itself is written only at
  // pruning and shutdown, so it still holds its first value).
  auto next = s.db().Prepare("SELECT value FROM counters WHERE name='next_job_seq'");
  ASSERT_TRUE(next.ok() && next->Step() == SQLITE_ROW);
  EXPECT_EQ(next->Int(0), 1);
}

TEST_F(JobStoreTest, RollbackDropsTheOpenTransaction) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  ASSERT_TRUE(s.Begin().ok());
  Job j = MakeJob(s, 1000);
  ASSERT_TRUE(s.InsertJob(j).ok());
  s.Rollback();
  EXPECT_FALSE(s.in_transaction());
  auto load = s.Load(j.seq, false);
  ASSERT_TRUE(load.ok());
  EXPECT_FALSE(load->has_value());
  ASSERT_TRUE(s.Begin().ok());
  ASSERT_TRUE(s.Commit().ok());
}

// The application_id stamp (schemas/database_owner.h).
std::int64_t ApplicationId(Database& db) {
  auto st = db.Prepare("PRAGMA application_id");
  if (!st.ok() || st->Step() != SQLITE_ROW) return -1;
  return st->Int(0);
}

TEST_F(JobStoreTest, NewDatabaseIsStamped) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  EXPECT_EQ(ApplicationId(s.db()), kApplicationId);
  s.Close();
  JobStore again;
  Status st = again.Open(path_, SyncMode::kNormal);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// Every state database written before the stamp: id 0, sluice's tables.
TEST_F(JobStoreTest, UnstampedDatabaseOfAnEarlierReleaseIsStampedAndKeepsItsJobs) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  {
    Database db;
    ASSERT_TRUE(db.Open(path_).ok());
    ASSERT_TRUE(db.Exec("PRAGMA journal_mode=WAL").ok());
    for (std::size_t v = 0; v < schema::Migrations().size(); ++v)
      ASSERT_TRUE(db.Exec(schema::Migrations()[v]).ok());
    ASSERT_TRUE(db.Exec("PRAGMA user_version=" + std::to_string(schema::CurrentVersion())).ok());
    ASSERT_TRUE(db.Exec("UPDATE counters SET value=8 WHERE name='next_job_seq'").ok());
    ASSERT_TRUE(db.Exec("INSERT INTO jobs(seq, kind, params, state, max_attempts, backoff_ms, "
                        "timeout_ms, run_at_ms, created_ms, updated_ms) "
                        "VALUES (7, 'test.noop', x'80', 'queued', 5, 5000, 0, 1, 1, 1)")
                    .ok());
    EXPECT_EQ(ApplicationId(db), 0);
  }
  JobStore s;
  Status st = s.Open(path_, SyncMode::kNormal);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ApplicationId(s.db()), kApplicationId);
  EXPECT_EQ(s.next_job_seq(), 8);
  std::vector<Job> live;
  ASSERT_TRUE(s.LoadLive([&](Job&& j) { live.push_back(std::move(j)); }).ok());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].seq, 7);
}

// Defect: another application's database (user_version 0, its own tables)
// was migrated in place and switched to WAL. Now it is refused, and not one
// byte of it changes (no -wal or -shm either).
TEST_F(JobStoreTest, RefusesAnotherApplicationsDatabaseWithoutChangingIt) {
  ASSERT_TRUE(testing::MakeForeignDb(path_));
  const testing::FileSnapshot before = testing::Snapshot(path_);
  JobStore s;
  Status st = s.Open(path_, SyncMode::kNormal);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("is not a sluice state database"), std::string::npos) << st.message();
  s.Close();
  EXPECT_TRUE(testing::Snapshot(path_) == before) << "the refused file changed";
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
}

TEST_F(JobStoreTest, RefusesCorruptTruncatedAndRandomFilesWithoutChangingThem) {
  auto expect_refused = [&](const std::string& what, const std::string& why) {
    const testing::FileSnapshot before = testing::Snapshot(path_);
    JobStore s;
    Status st = s.Open(path_, SyncMode::kNormal);
    EXPECT_FALSE(st.ok()) << what;
    EXPECT_NE(st.message().find(why), std::string::npos) << what << ": " << st.message();
    s.Close();
    EXPECT_TRUE(testing::Snapshot(path_) == before) << what << ": the refused file changed";
  };
  // A sluice state database with jobs, cut short.
  {
    JobStore s;
    ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
    ASSERT_TRUE(s.Begin().ok());
    ASSERT_TRUE(s.db().Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<3000) "
                            "INSERT INTO jobs(kind, params, state, max_attempts, backoff_ms, timeout_ms, "
                            "run_at_ms, created_ms, updated_ms) "
                            "SELECT 'test.noop', randomblob(100), 'queued', 1, 1, 0, 1, 1, 1 FROM n")
                    .ok());
    ASSERT_TRUE(s.Commit().ok());
    s.Close();  // checkpoints everything into the file
  }
  ASSERT_FALSE(std::filesystem::exists(path_ + "-wal") && std::filesystem::file_size(path_ + "-wal") > 0);
  const auto size = std::filesystem::file_size(path_);
  testing::Truncate(path_, size / 2 / 4096 * 4096);
  expect_refused("truncated", "truncated");
  testing::Scribble(path_, 100, 300);
  expect_refused("corrupt", "refusing");
  testing::WriteRandomBytes(path_, 64 * 1024);
  expect_refused("random bytes", "not a SQLite database");
}

}  // namespace
}  // namespace sluice::broker

namespace sluice::broker {
namespace {

std::int64_t WalBytes(const std::string& db_path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(db_path + "-wal", ec);
  return ec ? 0 : static_cast<std::int64_t>(n);
}

// Commits `batches` transactions of 200 jobs with a 1 KiB param each, and
// returns the largest -wal file seen after a commit.
std::int64_t CommitMany(JobStore& s, int batches) {
  std::int64_t max_wal = 0;
  const std::string padding(1024, 'x');
  for (int b = 0; b < batches; ++b) {
    EXPECT_TRUE(s.Begin().ok());
    for (int i = 0; i < 200; ++i) {
      Job j;
      j.seq = s.AllocateJobSeq();
      j.kind = "test.noop";
      j.params = proto::kEmptyMap;
      j.key = padding + std::to_string(j.seq);
      j.created_ms = j.updated_ms = j.run_at_ms = 1000;
      j.state = JobState::kQueued;
      EXPECT_TRUE(s.InsertJob(j).ok());
    }
    EXPECT_TRUE(s.Commit().ok());
    max_wal = std::max(max_wal, WalBytes(s.path()));
  }
  return max_wal;
}

// No Checkpointer runs here (as when its thread is starved): the loop's own
// connection keeps the WAL bounded. Once a commit leaves more than
// kWalRestartFrames in the WAL it copies the WAL into the database file,
// and its next transaction starts the WAL over. Before the backstop this
// WAL grew to the size of everything written (> 30 MiB).
TEST_F(JobStoreTest, TheWriterStartsTheWalOverWhenNoCheckpointerKeepsUp) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  int nudges = 0;
  s.SetWalGrowthListener([&] { ++nudges; });
  const std::int64_t max_wal = CommitMany(s, 250);  // 50,000 jobs, ~65 MiB of pages
  // The restart bound, plus the commit that passed it.
  EXPECT_LT(max_wal, JobStore::kWalRestartFrames * 4120LL + (2 << 20)) << "the WAL reached " << max_wal << " bytes";
  EXPECT_LE(max_wal, JobStore::kWalSizeLimitBytes);
  EXPECT_GE(s.writer_truncations(), 2);
  EXPECT_EQ(s.writer_truncation_misses(), 0);
  // The Checkpointer was asked to help every kWalNudgeFrames of growth.
  EXPECT_GE(nudges, 2 * JobStore::kWalRestartFrames / JobStore::kWalNudgeFrames);
  // The jobs are in the database file itself, not only in the WAL.
  EXPECT_GT(static_cast<std::int64_t>(std::filesystem::file_size(path_)), 16 << 20);
}

// A reader holding a snapshot keeps the WAL from starting over: the commits
// still succeed, the misses are counted, and the next try waits until the
// WAL has grown by half again instead of copying on every commit. Once the
// reader lets go, the WAL starts over and is cut back to its size limit.
TEST_F(JobStoreTest, AReaderHoldingASnapshotOnlyDelaysTheWritersRestart) {
  JobStore s;
  ASSERT_TRUE(s.Open(path_, SyncMode::kNormal).ok());
  CommitMany(s, 5);
  Database reader;
  ASSERT_TRUE(reader.Open(path_, true).ok());
  ASSERT_TRUE(reader.Exec("BEGIN").ok());
  auto st = reader.Prepare("SELECT COUNT(*) FROM jobs");
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->Step(), SQLITE_ROW);  // the snapshot is held from here
  const std::int64_t commits = 200;   // ~55 MiB of WAL
  const std::int64_t held_wal = CommitMany(s, static_cast<int>(commits));
  EXPECT_GT(held_wal, JobStore::kWalSizeLimitBytes);  // it could not start over
  EXPECT_GT(s.writer_truncation_misses(), 0);
  // A few tries (the WAL grows geometrically between them), not one per commit.
  EXPECT_LT(s.writer_truncation_misses(), commits / 20);
  EXPECT_EQ(st->Int(0), 1000);  // the reader still sees its snapshot
  st->Reset();
  ASSERT_TRUE(reader.Exec("COMMIT").ok());
  reader.Close();
  const std::int64_t before = s.writer_truncations();
  CommitMany(s, 150);  // enough to pass the next try's length, and then some
  EXPECT_GT(s.writer_truncations(), before);
  EXPECT_LE(WalBytes(path_), JobStore::kWalSizeLimitBytes);
}

}  // namespace
}  // namespace sluice::broker
