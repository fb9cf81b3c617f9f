#include "broker/job_store.h"

#include <algorithm>
#include <filesystem>

#include "schemas/database_owner.h"
#include "schemas/job_id.h"
#include "schemas/state_schema.h"

namespace sluice::broker {
namespace {

// How long Begin waits for a lock held by another connection before it
// fails (and the broker serves on, trying again later): long enough for a
// checkpoint's brief hold, short enough never to stall heartbeats.
constexpr int kLoopBusyTimeoutMs = 100;

constexpr const char* kJobColumns =
    "seq, kind, queue, priority, params, state, attempt, failures, max_attempts, backoff_ms, "
    "timeout_ms, run_at_ms, created_ms, updated_ms, idem_key, finished_ms, last_error, outputs, "
    "concurrency_key, concurrency_limit";

// A state string read back from the database. Anything but a job state's
// name was not written by sluice: Corruption, not a guess.
Result<JobState> StoredState(std::string_view text, std::int64_t seq) {
  if (auto s = ParseJobState(text)) return *s;
  return Status::Corruption("job " + FormatJobId(seq) + " has an unknown state '" + std::string(text) +
                            "' in the state database");
}

// Reads the columns of kJobColumns (in that order, starting at column 0).
Result<JobRecord> ReadJob(const Statement& st, bool with_params) {
  JobRecord r;
  Job& j = r.job;
  j.seq = st.Int(0);
  j.kind = st.Text(1);
  j.queue = st.Text(2);
  j.priority = st.Int(3);
  if (with_params) j.params = st.Blob(4);
  auto state = StoredState(st.Text(5), j.seq);
  if (!state.ok()) return state.status();
  j.state = *state;
  j.attempt = static_cast<std::uint32_t>(st.Int(6));
  j.failures = static_cast<std::uint32_t>(st.Int(7));
  j.max_attempts = static_cast<std::uint32_t>(st.Int(8));
  j.backoff_ms = static_cast<std::uint64_t>(st.Int(9));
  j.timeout_ms = static_cast<std::uint64_t>(st.Int(10));
  j.run_at_ms = st.Int(11);
  j.created_ms = st.Int(12);
  j.updated_ms = st.Int(13);
  j.key = st.Text(14);
  r.finished_ms = st.IsNull(15) ? 0 : st.Int(15);
  r.last_error = st.Text(16);
  if (with_params) r.outputs = st.Blob(17);
  j.concurrency_key = st.Text(18);
  j.concurrency_limit = static_cast<std::uint32_t>(st.Int(19));
  return r;
}

// What a state database from before the application_id stamp holds.
const DatabaseKind& StateDatabase() {
  static const DatabaseKind kind{
      "sluice state database",
      "tables jobs, attempts and counters and user_version 1 or more",
      [](const DatabaseContents& c) {
        return c.user_version >= 1 && c.HasTable("jobs") && c.HasTable("attempts") &&
               c.HasTable("counters");
      }};
  return kind;
}

}  // namespace

Status JobStore::Open(const std::string& path, SyncMode sync, const char* vfs) {
  path_ = path;
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::IOError("cannot create " + parent.string() + ": " + ec.message());
  // Before anything that writes (WAL mode rewrites the header): is the file
  // ours? Another application's database is refused, byte for byte intact.
  auto owner = InspectDatabaseFile(path, StateDatabase());
  if (!owner.ok()) return owner.status();
  Status s = db_.Open(path, false, vfs);
  if (!s.ok()) return s;
  // WAL: readers never block the writer. Checkpoints are run by the
  // Checkpointer thread, not inside our commits.
  s = db_.Exec("PRAGMA journal_mode=WAL");
  if (!s.ok()) return Status::IOError("cannot set WAL mode on " + path + ": " + s.message());
  s = db_.Exec(sync == SyncMode::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (s.ok()) s = db_.Exec("PRAGMA wal_autocheckpoint=0");
  // When a commit starts the WAL over (after a checkpoint caught up), a
  // file longer than this is cut back (kWalSizeLimitBytes).
  if (s.ok()) s = db_.Exec("PRAGMA journal_size_limit=" + std::to_string(kWalSizeLimitBytes));
  if (s.ok()) s = db_.Exec("PRAGMA foreign_keys=OFF");
  if (s.ok()) s = db_.Exec("PRAGMA cache_size=-65536");
  if (s.ok()) s = Migrate();
  if (s.ok() && *owner != DatabaseOwner::kSluice) s = StampApplicationId(db_);
  if (s.ok()) s = PrepareAll();
  if (s.ok()) s = metrics_.Load(db_);
  if (!s.ok()) return Status::IOError(path + ": " + s.message());
  // From now on a lock held by someone else makes Begin fail soon, and the
  // broker keeps serving while it waits (it must never freeze its loop).
  sqlite3_busy_timeout(db_.handle(), kLoopBusyTimeoutMs);
  // Nothing commits but Commit() and Probe(): after a failed write SQLite
  // may have rolled the transaction back on its own, and a later write of
  // the same turn would otherwise commit by itself, half a change.
  sqlite3_commit_hook(db_.handle(), [](void* self) -> int {
    return static_cast<JobStore*>(self)->committing_ ? 0 : 1;
  }, this);
  // Called after every commit with the WAL's length in frames (see
  // kWalRestartFrames). A PASSIVE checkpoint waits for no lock: a miss costs
  // nothing but the try, and the next comes when the WAL has grown by half.
  sqlite3_wal_hook(db_.handle(), [](void* self, sqlite3* db, const char* name, int frames) -> int {
    auto* store = static_cast<JobStore*>(self);
    if (frames < store->writer_last_frames_) {  // the WAL started over
      store->writer_retry_frames_ = 0;
      store->next_nudge_frames_ = kWalNudgeFrames;
    }
    store->writer_last_frames_ = frames;
    if (frames >= store->next_nudge_frames_) {
      store->next_nudge_frames_ = frames + kWalNudgeFrames;
      if (store->wal_growth_) store->wal_growth_();
    }
    if (frames <= std::max(kWalRestartFrames, store->writer_retry_frames_)) return SQLITE_OK;
    int log = -1, done = -1;
    const int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK && log >= 0 && done >= log) {
      ++store->writer_truncations_;
      // Should a reader keep the next write from starting the WAL over,
      // the next try is a little later, not after every commit.
      store->writer_retry_frames_ = frames + kWalNudgeFrames;
    } else {
      ++store->writer_truncation_misses_;
      store->writer_retry_frames_ = frames + std::max(kWalNudgeFrames, frames / 2);
    }
    return SQLITE_OK;
  }, this);
  auto st = db_.Prepare("SELECT value FROM counters WHERE name='next_job_seq'");
  if (!st.ok()) return st.status();
  if (st->Step() == SQLITE_ROW) next_job_seq_ = st->Int(0);
  // Belt and braces: never hand out a seq at or below one that exists.
  auto mx = db_.Prepare("SELECT COALESCE(MAX(seq), 0) FROM jobs");
  if (!mx.ok()) return mx.status();
  if (mx->Step() == SQLITE_ROW && mx->Int(0) >= next_job_seq_) next_job_seq_ = mx->Int(0) + 1;
  return Status::Ok();
}

void JobStore::Close() {
  if (db_.handle()) sqlite3_commit_hook(db_.handle(), nullptr, nullptr);
  if (db_.handle()) sqlite3_wal_hook(db_.handle(), nullptr, nullptr);
  if (in_txn_) db_.Exec("ROLLBACK");
  in_txn_ = false;
  begin_ = {}; commit_ = {}; save_seq_ = {}; save_metric_ = {}; insert_job_ = {};
  insert_attempt_ = {}; update_job_ = {}; mark_running_ = {}; find_key_ = {};
  load_job_ = {}; load_attempts_ = {};
  if (db_.handle()) db_.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db_.Close();
}

Status JobStore::Migrate() {
  auto st = db_.Prepare("PRAGMA user_version");
  if (!st.ok()) return st.status();
  int version = st->Step() == SQLITE_ROW ? static_cast<int>(st->Int(0)) : 0;
  st->Reset();
  opened_version_ = version;
  const auto migrations = schema::Migrations();
  if (version > static_cast<int>(migrations.size()))
    return Status::Corruption("state schema version " + std::to_string(version) +
                              " is newer than this broker understands (" +
                              std::to_string(migrations.size()) + ")");
  for (int v = version; v < static_cast<int>(migrations.size()); ++v) {
    Status s = db_.Exec("BEGIN IMMEDIATE");
    if (s.ok()) s = db_.Exec(migrations[v]);
    if (s.ok()) s = db_.Exec("PRAGMA user_version=" + std::to_string(v + 1));
    if (s.ok()) s = db_.Exec("COMMIT");
    if (!s.ok()) {
      db_.Exec("ROLLBACK");
      return Status::IOError("migration to schema version " + std::to_string(v + 1) +
                             " failed: " + s.message());
    }
  }
  return Status::Ok();
}

Status JobStore::PrepareAll() {
  struct P { Statement* st; const char* sql; };
  const std::string load = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE seq=?1";
  const P all[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&save_seq_, "UPDATE counters SET value=?1 WHERE name='next_job_seq'"},
      {&save_metric_,
       "INSERT INTO metric_counters(name, labels, value) VALUES (?1, ?2, ?3) "
       "ON CONFLICT(name, labels) DO UPDATE SET value = excluded.value"},
      {&insert_job_,
       "INSERT INTO jobs(seq, kind, queue, priority, params, state, attempt, failures, "
       "max_attempts, backoff_ms, timeout_ms, run_at_ms, created_ms, updated_ms, idem_key, "
       "concurrency_key, concurrency_limit) "
       "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"},
      {&insert_attempt_,
       "INSERT OR REPLACE INTO attempts(job_seq, attempt, worker, host, started_ms, finished_ms, "
       "outcome, error, exit_code, stdout_tail, stderr_tail) "
       "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"},
      {&update_job_,
       "UPDATE jobs SET state=?2, attempt=?3, failures=?4, run_at_ms=?5, updated_ms=?6, "
       "finished_ms=?7, last_error=COALESCE(?8, last_error), outputs=COALESCE(?9, outputs) "
       "WHERE seq=?1"},
      {&mark_running_, "UPDATE jobs SET state=?2, attempt=?3, updated_ms=?4 WHERE seq=?1"},
      {&find_key_, "SELECT seq, state FROM jobs WHERE idem_key=?1"},
      {&load_job_, load.c_str()},
      {&load_attempts_,
       "SELECT attempt, worker, host, started_ms, finished_ms, outcome, error, exit_code, "
       "stdout_tail, stderr_tail FROM attempts WHERE job_seq=?1 ORDER BY attempt"},
  };
  for (const auto& p : all) {
    auto r = db_.Prepare(p.sql);
    if (!r.ok()) return r.status();
    *p.st = std::move(r).value();
  }
  return Status::Ok();
}

Status JobStore::Begin() {
  if (in_txn_) return Status::Ok();
  Status s = begin_.Run();
  if (s.ok()) in_txn_ = true;
  return s;
}

Status JobStore::Commit() {
  if (!in_txn_) return Status::Ok();
  if (metrics_.dirty()) {
    if (Status m = metrics_.Save(save_metric_); !m.ok()) return Status::IOError("commit failed: " + m.message());
  }
  committing_ = true;
  Status s = commit_.Run();
  committing_ = false;
  if (!s.ok()) return Status::IOError("commit failed: " + s.message());
  in_txn_ = false;
  metrics_.Committed();
  return s;
}

void JobStore::Rollback() {
  if (!in_txn_ && sqlite3_get_autocommit(db_.handle())) return;
  // The statements first: a statement left mid-step keeps the transaction.
  for (Statement* st : {&begin_, &commit_, &save_seq_, &save_metric_, &insert_job_, &insert_attempt_,
                        &update_job_, &mark_running_, &find_key_, &load_job_, &load_attempts_})
    if (st->valid()) st->Reset();
  if (!sqlite3_get_autocommit(db_.handle())) (void)db_.Exec("ROLLBACK");
  in_txn_ = false;
  metrics_.Revert();
  counters_dirty_ = true;  // a counter written in the transaction went with it
}

Status JobStore::Probe() {
  if (in_txn_) return Status::Internal("Probe() inside a transaction");
  Status s = db_.Exec("BEGIN IMMEDIATE");
  if (s.ok()) s = db_.Exec("UPDATE counters SET value=value WHERE name='next_job_seq'");
  committing_ = true;
  if (s.ok()) s = db_.Exec("COMMIT");
  committing_ = false;
  if (!s.ok() && !sqlite3_get_autocommit(db_.handle())) (void)db_.Exec("ROLLBACK");
  return s;
}

int JobStore::last_error_code() const {
  return db_.handle() ? sqlite3_extended_errcode(db_.handle()) : SQLITE_CANTOPEN;
}

Status JobStore::SaveCounters() {
  Status s = save_seq_.Bind(1, next_job_seq_).Run();
  if (s.ok()) counters_dirty_ = false;
  return s;
}

Status JobStore::SaveNextSeq() {
  if (in_txn_) return Status::Internal("SaveNextSeq() inside a transaction");
  if (!counters_dirty_) return Status::Ok();
  Status s = Begin();
  if (s.ok()) s = SaveCounters();
  if (s.ok()) return Commit();
  Rollback();
  return s;
}

Status JobStore::InsertJob(const Job& j) {
  insert_job_.Bind(1, j.seq).Bind(2, j.kind).Bind(3, j.queue).Bind(4, j.priority);
  insert_job_.BindBlob(5, j.params).Bind(6, JobStateName(j.state));
  insert_job_.Bind(7, static_cast<std::int64_t>(j.attempt)).Bind(8, static_cast<std::int64_t>(j.failures));
  insert_job_.Bind(9, static_cast<std::int64_t>(j.max_attempts));
  insert_job_.Bind(10, static_cast<std::int64_t>(j.backoff_ms));
  insert_job_.Bind(11, static_cast<std::int64_t>(j.timeout_ms));
  insert_job_.Bind(12, j.run_at_ms).Bind(13, j.created_ms).Bind(14, j.updated_ms);
  insert_job_.BindOptional(15, j.key);
  insert_job_.BindOptional(16, j.concurrency_key);
  insert_job_.Bind(17, static_cast<std::int64_t>(j.concurrency_limit));
  return insert_job_.Run();
}

Status JobStore::InsertAttempt(std::int64_t seq, std::uint32_t attempt, std::string_view worker,
                               std::string_view host, std::int64_t started_ms,
                               std::int64_t finished_ms, Outcome outcome, std::string_view error,
                               std::optional<std::int64_t> exit_code, std::string_view stdout_tail,
                               std::string_view stderr_tail) {
  Statement& st = insert_attempt_;
  st.Bind(1, seq).Bind(2, static_cast<std::int64_t>(attempt));
  st.BindOptional(3, worker).BindOptional(4, host).Bind(5, started_ms).Bind(6, finished_ms);
  st.Bind(7, OutcomeName(outcome)).BindOptional(8, error);
  if (exit_code) st.Bind(9, *exit_code);
  else st.BindNull(9);
  st.BindOptional(10, stdout_tail).BindOptional(11, stderr_tail);
  return st.Run();
}

Status JobStore::UpdateJob(const Job& j, std::int64_t finished_ms, std::string_view last_error,
                           std::string_view outputs) {
  update_job_.Bind(1, j.seq).Bind(2, JobStateName(j.state));
  update_job_.Bind(3, static_cast<std::int64_t>(j.attempt));
  update_job_.Bind(4, static_cast<std::int64_t>(j.failures));
  update_job_.Bind(5, j.run_at_ms).Bind(6, j.updated_ms);
  if (finished_ms > 0) update_job_.Bind(7, finished_ms);
  else update_job_.BindNull(7);
  update_job_.BindOptional(8, last_error);
  // An empty msgpack map is stored too: "succeeded with no outputs".
  if (!outputs.empty()) update_job_.BindBlob(9, outputs);
  else update_job_.BindNull(9);
  return update_job_.Run();
}

Status JobStore::MarkRunning(const Job& j) {
  mark_running_.Bind(1, j.seq).Bind(2, JobStateName(j.state));
  mark_running_.Bind(3, static_cast<std::int64_t>(j.attempt));
  mark_running_.Bind(4, j.updated_ms);
  return mark_running_.Run();
}

Result<std::optional<std::pair<std::int64_t, JobState>>> JobStore::FindKey(const std::string& key) {
  find_key_.Bind(1, key);
  int rc = find_key_.Step();
  std::optional<std::pair<std::int64_t, JobState>> found;
  if (rc == SQLITE_ROW) {
    auto state = StoredState(find_key_.Text(1), find_key_.Int(0));
    if (!state.ok()) {
      find_key_.Reset();
      return state.status();
    }
    found = std::make_pair(find_key_.Int(0), *state);
  } else if (rc != SQLITE_DONE) {
    Status s = Status::IOError(find_key_.error());
    find_key_.Reset();
    return s;
  }
  find_key_.Reset();
  return found;
}

Status JobStore::LoadLive(const std::function<void(Job&&)>& fn) {
  auto st = db_.Prepare(std::string("SELECT ") + kJobColumns +
                        " FROM jobs WHERE finished_ms IS NULL ORDER BY seq");
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    auto r = ReadJob(*st, true);
    if (!r.ok()) return r.status();
    fn(std::move(r->job));
  }
  if (rc != SQLITE_DONE) return Status::IOError(st->error());
  return Status::Ok();
}

Result<std::optional<JobRecord>> JobStore::Load(std::int64_t seq, bool with_attempts) {
  load_job_.Bind(1, seq);
  int rc = load_job_.Step();
  if (rc != SQLITE_ROW) {
    Status s = rc == SQLITE_DONE ? Status::Ok() : Status::IOError(load_job_.error());
    load_job_.Reset();
    if (!s.ok()) return s;
    return std::optional<JobRecord>();
  }
  auto read = ReadJob(load_job_, true);
  load_job_.Reset();
  if (!read.ok()) return read.status();
  JobRecord r = std::move(*read);
  if (with_attempts) {
    load_attempts_.Bind(1, seq);
    while ((rc = load_attempts_.Step()) == SQLITE_ROW) {
      AttemptRecord a;
      a.attempt = static_cast<std::uint32_t>(load_attempts_.Int(0));
      a.worker = load_attempts_.Text(1);
      a.host = load_attempts_.Text(2);
      a.started_ms = load_attempts_.Int(3);
      a.finished_ms = load_attempts_.IsNull(4) ? 0 : load_attempts_.Int(4);
      a.outcome = load_attempts_.Text(5);
      a.error = load_attempts_.Text(6);
      a.has_exit_code = !load_attempts_.IsNull(7);
      a.exit_code = load_attempts_.Int(7);
      a.stdout_tail = load_attempts_.Text(8);
      a.stderr_tail = load_attempts_.Text(9);
      r.attempts.push_back(std::move(a));
    }
    Status s = rc == SQLITE_DONE ? Status::Ok() : Status::IOError(load_attempts_.error());
    load_attempts_.Reset();
    if (!s.ok()) return s;
  }
  return std::optional<JobRecord>(std::move(r));
}

Result<std::vector<JobRecord>> JobStore::List(const ListFilter& f) {
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1";
  // The state as a literal (a name from the enum, not the client's text):
  // so that the planner can use the partial index jobs_dead.
  if (f.state) sql += std::string(" AND state='") + std::string(JobStateName(*f.state)) + "'";
  if (!f.queue.empty()) sql += " AND queue=?2";
  if (!f.kind.empty()) sql += " AND kind=?3";
  sql += " ORDER BY seq DESC LIMIT ?4";
  auto st = db_.Prepare(sql);
  if (!st.ok()) return st.status();
  if (!f.queue.empty()) st->Bind(2, f.queue);
  if (!f.kind.empty()) st->Bind(3, f.kind);
  st->Bind(4, f.limit);
  std::vector<JobRecord> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    auto r = ReadJob(*st, false);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE) return Status::IOError(st->error());
  return out;
}

Status JobStore::CountByQueueAndState(
    const std::function<void(const std::string&, JobState, std::int64_t)>& fn) {
  auto st = db_.Prepare("SELECT queue, state, COUNT(*) FROM jobs GROUP BY queue, state");
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW)
  {
    auto s = ParseJobState(st->Text(1));
    if (!s) return Status::Corruption("jobs in an unknown state '" + std::string(st->Text(1)) +
                                      "' in the state database");
    fn(std::string(st->Text(0)), *s, st->Int(2));
  }
  if (rc != SQLITE_DONE) return Status::IOError(st->error());
  return Status::Ok();
}

Status JobStore::Prune(std::int64_t cutoff_ms, int max_rows, std::int64_t* cursor, PrunedCounts* deleted) {
  deleted->clear();
  auto scan = db_.Prepare(
      "SELECT seq, created_ms, finished_ms, state, queue FROM jobs WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!scan.ok()) return scan.status();
  scan->Bind(1, *cursor).Bind(2, max_rows);
  struct Doomed {
    std::int64_t seq;
    JobState state;
    std::string queue;
  };
  std::vector<Doomed> doomed;
  std::int64_t last = *cursor;
  bool round_done = true;  // until a full chunk is scanned below the cutoff
  int rows = 0, rc;
  while ((rc = scan->Step()) == SQLITE_ROW) {
    std::int64_t seq = scan->Int(0);
    if (scan->Int(1) >= cutoff_ms) break;  // created after the cutoff: nothing further qualifies
    last = seq;
    auto state = ParseJobState(scan->Text(3));
    if (!scan->IsNull(2) && scan->Int(2) < cutoff_ms && state && IsTerminal(*state))
      doomed.push_back({seq, *state, std::string(scan->Text(4))});
    if (++rows == max_rows) round_done = false;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Status::IOError(scan->error());
  *cursor = round_done ? 0 : last;
  auto del_job = db_.Prepare("DELETE FROM jobs WHERE seq=?1");
  auto del_att = db_.Prepare("DELETE FROM attempts WHERE job_seq=?1");
  auto del_runs = db_.Prepare("DELETE FROM extraction_runs WHERE job_id=?1");
  if (!del_job.ok()) return del_job.status();
  if (!del_att.ok()) return del_att.status();
  if (!del_runs.ok()) return del_runs.status();
  // The newest job may go: the counter keeps its seq from being handed out
  // again after a restart.
  if (!doomed.empty() && counters_dirty_) {
    Status s = SaveCounters();
    if (!s.ok()) return s;
  }
  for (const Doomed& d : doomed) {
    Status s = del_att->Bind(1, d.seq).Run();
    if (s.ok()) s = del_runs->Bind(1, FormatJobId(d.seq)).Run();
    if (s.ok()) s = del_job->Bind(1, d.seq).Run();
    if (!s.ok()) return s;
    ++(*deleted)[d.queue][static_cast<int>(d.state)];
  }
  return Status::Ok();
}

}  // namespace sluice::broker
