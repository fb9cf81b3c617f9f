// JobStore: the broker's durable state in SQLite (WAL mode). The broker's
// single thread owns it; writes go into one open transaction (BEGIN
// IMMEDIATE: the write lock is taken at Begin, so a lock held by another
// process shows there, never halfway through) that the loop commits as a
// group. Reads on the same connection see that transaction's writes.
//
// Contract: a failed write or commit means nothing of the open transaction
// is stored; the broker rolls back, reloads its state from here and
// acknowledges nothing of it (broker.h: "the state database's health").
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/job.h"
#include "broker/metric_counters.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::broker {

enum class SyncMode { kNormal, kFull };

struct ListFilter {
  std::optional<JobState> state;
  std::string queue;  // empty: any
  std::string kind;   // empty: any
  std::int64_t limit = 100;
};

class JobStore {
 public:
  // Opens or creates the database at `path` (its folder is created), sets
  // WAL mode and runs pending migrations. Refuses a database whose schema is
  // newer than this build.
  // `vfs`: a registered SQLite VFS (tests: the fault seam); null: default.
  Status Open(const std::string& path, SyncMode sync, const char* vfs = nullptr);
  void Close();
  // The schema version the file had before Open migrated it (0: new file).
  int opened_version() const { return opened_version_; }
  // SQLite's extended result code of the last failed call on the connection.
  int last_error_code() const;
  const std::string& path() const { return path_; }

  // Transactions. Begin() is a no-op while one is open.
  // Begin fails at once (after a short busy wait) when another connection
  // holds the write lock.
  Status Begin();
  Status Commit();
  // Drops the open transaction, if any (after a failed write or commit).
  void Rollback();
  // A tiny write transaction, committed: does the database take writes
  // again (lock free, disk not full)?
  Status Probe();
  bool in_transaction() const { return in_txn_; }

  // The next job sequence number to hand out. A seq is never handed out
  // twice: Open takes the larger of counters.next_job_seq and MAX(seq) + 1,
  // so the counter is written only where that would not do: before Prune
  // deletes jobs (the newest job may go) and by SaveNextSeq at shutdown (so
  // that the file says it too). Not on every commit: that page was a third
  // of the WAL frames of a SUBMIT.
  std::int64_t next_job_seq() const { return next_job_seq_; }
  std::int64_t AllocateJobSeq() { counters_dirty_ = true; return next_job_seq_++; }
  // Writes counters.next_job_seq in a transaction of its own when seqs were
  // handed out since it was last written; outside a transaction only.
  Status SaveNextSeq();

  Status InsertJob(const Job& job);
  // Records one finished attempt. Running attempts are not stored: dispatch
  // lives in memory (a restarted broker re-adopts what workers still run,
  // and re-runs the rest under the same attempt number).
  Status InsertAttempt(std::int64_t seq, std::uint32_t attempt, std::string_view worker,
                       std::string_view host, std::int64_t started_ms, std::int64_t finished_ms,
                       Outcome outcome, std::string_view error,
                       std::optional<std::int64_t> exit_code, std::string_view stdout_tail,
                       std::string_view stderr_tail);
  // Writes state, attempt, failures, run_at, updated; finished_ms when
  // terminal; last_error when non-empty; outputs when non-empty.
  Status UpdateJob(const Job& job, std::int64_t finished_ms, std::string_view last_error,
                   std::string_view outputs);
  // A dispatch: writes state, attempt and updated only. Cheaper than
  // UpdateJob on the hot path: no column of an index changes, so SQLite
  // rewrites the row and touches no index.
  Status MarkRunning(const Job& job);

  // The job (seq, state) holding idempotency key `key`, if any (sees this
  // turn's writes).
  Result<std::optional<std::pair<std::int64_t, JobState>>> FindKey(const std::string& key);
  // Calls `fn` for every live (scheduled, queued, running) job.
  Status LoadLive(const std::function<void(Job&&)>& fn);
  // One job with its attempts (nullopt: no such job).
  Result<std::optional<JobRecord>> Load(std::int64_t seq, bool with_attempts);
  // Jobs newest first (no attempts, no params).
  Result<std::vector<JobRecord>> List(const ListFilter& filter);
  // Calls fn(queue, state, count) for every (queue, state) with jobs.
  Status CountByQueueAndState(
      const std::function<void(const std::string&, JobState, std::int64_t)>& fn);

  // Deletes up to `max_rows` terminal jobs finished before `cutoff_ms`, with
  // their attempts and extract runs, scanning forward from *cursor (a job seq). Jobs are
  // created in seq order, so the scan stops at the first job created after
  // the cutoff and *cursor goes back to 0 for the next round.
  // (*deleted)[queue][state] counts what went.
  using PrunedCounts = std::map<std::string, std::array<std::int64_t, kJobStateCount>>;  // by queue, state
  Status Prune(std::int64_t cutoff_ms, int max_rows, std::int64_t* cursor, PrunedCounts* deleted);

  Database& db() { return db_; }
  // The counters of /metrics that survive restarts: saved in Commit(),
  // reverted by Rollback(), loaded by Open().
  MetricCounters& metrics() { return metrics_; }
  const MetricCounters& metrics() const { return metrics_; }

  // The WAL's bound, kept by the loop's own connection. A WAL starts over
  // (its next frame written at the start of the file) only when a write
  // transaction begins with every frame already copied into the database
  // file. The Checkpointer thread does the copying (PASSIVE: it never holds
  // a lock the loop waits for), nudged every kWalNudgeFrames of growth; but
  // while commits keep coming it is always a few commits behind, and
  // checkpoints that make it wait for the write lock stall the loop for
  // their fsyncs and for SQLite's coarse busy sleeps (20 ms seen). So once a
  // commit leaves more than kWalRestartFrames in the WAL, the loop copies
  // the few frames left itself, right after that commit (a PASSIVE
  // checkpoint: the thread's work plus one pair of fsyncs), and its next
  // transaction starts the WAL over. One short stall per 16 MiB of WAL.
  // When the thread is starved the loop copies everything itself: the
  // bound holds either way.
  static constexpr int kWalRestartFrames = 4096;  // 16 MiB of 4 KiB pages
  static constexpr int kWalNudgeFrames = 512;     // 2 MiB
  // A WAL file longer than this is cut back when it starts over.
  static constexpr std::int64_t kWalSizeLimitBytes = 24 << 20;
  // Called from the commit's WAL hook (on the loop's thread) each time the
  // WAL has grown by kWalNudgeFrames: the Checkpointer's Nudge.
  void SetWalGrowthListener(std::function<void()> fn) { wal_growth_ = std::move(fn); }
  // The loop's checkpoints that copied the whole WAL (its next write
  // starts it over) / that could not (a reader's snapshot or the thread's
  // checkpoint in the way; the next try waits until the WAL has grown by
  // half again). STATS names them writer_truncations and
  // writer_truncation_misses.
  std::int64_t writer_truncations() const { return writer_truncations_; }
  std::int64_t writer_truncation_misses() const { return writer_truncation_misses_; }

 private:
  Status Migrate();
  Status PrepareAll();
  Status SaveCounters();  // inside the open transaction

  Database db_;
  std::string path_;
  bool in_txn_ = false;
  bool committing_ = false;  // the commit hook lets only our own COMMITs through
  int opened_version_ = 0;
  std::int64_t next_job_seq_ = 1;
  bool counters_dirty_ = false;
  std::int64_t writer_truncations_ = 0, writer_truncation_misses_ = 0;
  int writer_last_frames_ = 0;   // the WAL's length after the last commit
  int writer_retry_frames_ = 0;  // the WAL length of the loop's next try (after a miss: 1.5x)
  int next_nudge_frames_ = kWalNudgeFrames;
  std::function<void()> wal_growth_;

  MetricCounters metrics_;
  Statement save_metric_;
  Statement begin_, commit_, save_seq_, insert_job_, insert_attempt_, update_job_, mark_running_, find_key_, load_job_,
      load_attempts_;
};

}  // namespace sluice::broker
