#include "broker/checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "broker/log.h"

namespace sluice::broker {
namespace {

std::int64_t FileBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

std::int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A read, so that the connection opens the WAL (and sees the latest
// wal-index) before it checkpoints.
int ReadSchemaCookie(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

// Another connection holds a lock it needs: not a failure, the next run
// tries again.
bool Busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

}  // namespace

Checkpointer::Checkpointer(std::string path, int interval_ms, std::int64_t truncate_above_bytes,
                           int busy_ms)
    : path_(std::move(path)),
      interval_ms_(interval_ms),
      truncate_above_bytes_(truncate_above_bytes),
      busy_ms_(busy_ms),
      thread_([this] { Loop(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Checkpointer::Nudge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (nudged_) return;
    nudged_ = true;
  }
  cv_.notify_one();
}

void Checkpointer::Loop() {
  ::pthread_setname_np(::pthread_self(), "sluice-ckpt");  // tells it apart in top, perf and gdb
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    Logf("checkpointer: cannot open %s: %s", path_.c_str(), db ? sqlite3_errmsg(db) : "?");
    sqlite3_close_v2(db);
    return;
  }
  // Only the TRUNCATE step waits on locks, and never past a deadline busy_ms
  // after it started. It retries every 100 us: under load the loop holds the
  // write lock most of the time (group commit), and SQLite's own busy
  // timeout would look only at 1, 3, 8 and 18 ms and miss the gaps.
  std::chrono::steady_clock::time_point deadline;
  sqlite3_busy_handler(
      db,
      [](void* arg, int) -> int {
        if (std::chrono::steady_clock::now() >= *static_cast<std::chrono::steady_clock::time_point*>(arg))
          return 0;
        ::usleep(100);
        return 1;
      },
      &deadline);
  const std::string wal_path = path_ + "-wal";
  int prev_log = 0, prev_done = 0;  // the last PASSIVE run's view of the WAL
  bool reported = false;            // one log line per kind of trouble, not one a second
  // The WAL's size is looked at every tick; a checkpoint runs every
  // interval, or at once when the WAL has passed the bound.
  const int tick_ms = std::min(interval_ms_, kTickMs);
  auto next_run = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms_);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(tick_ms), [&] { return stop_ || nudged_; });
    if (stop_) break;
    const bool nudged = std::exchange(nudged_, false);
    const auto now = std::chrono::steady_clock::now();
    const std::int64_t wal_now = FileBytes(wal_path);
    if (!nudged && now < next_run && wal_now <= truncate_above_bytes_) continue;
    next_run = now + std::chrono::milliseconds(interval_ms_);
    lock.unlock();
    int log_frames = -1, done = -1;
    int rc = ReadSchemaCookie(db);
    // PASSIVE passes: each copies what the loop committed during the last.
    for (int pass = 0; rc == SQLITE_OK && pass < kPasses; ++pass) {
      rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
      if (rc != SQLITE_OK || log_frames < 0) break;
      if (pass == 0) ++runs_;
      // The counts are of the current WAL; fewer than last time means the
      // writer has started it over in between.
      const bool same_wal = log_frames >= prev_log && done >= prev_done;
      const int copied = same_wal ? done - prev_done : done;
      pages_ += copied;
      prev_log = log_frames;
      prev_done = done;
      if (done >= log_frames || copied == 0) break;  // caught up, or a reader's snapshot stops it
    }
    if (rc == SQLITE_OK && log_frames >= 0) {
      if (FileBytes(wal_path) > truncate_above_bytes_) {
        int t_log = -1, t_done = -1;
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_ms_);
        rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &t_log, &t_done);
        if (rc == SQLITE_OK) {
          ++truncations_;
          pages_ += log_frames - done;  // at least what the PASSIVE runs left
          prev_log = prev_done = 0;
        } else if (!Busy(rc)) {
          ++failures_;
          if (!reported)
            Logf("checkpointer: TRUNCATE checkpoint of %s failed: %s", path_.c_str(), sqlite3_errmsg(db));
          reported = true;
        }
      }
    } else if (!Busy(rc)) {
      // SQLITE_OK without a WAL (log_frames -1) did nothing: a failure too.
      ++failures_;
      if (!reported)
        Logf("checkpointer: checkpoint of %s failed: %s", path_.c_str(),
             rc == SQLITE_OK ? "the database is not in WAL mode" : sqlite3_errmsg(db));
      reported = true;
    }
    wal_bytes_ = FileBytes(wal_path);
    last_ms_ = WallMs();
    lock.lock();
  }
  sqlite3_close_v2(db);
}

}  // namespace sluice::broker
