// StateBackup: the broker's --backup s3://bucket/prefix. A thread of its
// own takes a snapshot of the state database every --backup-interval (and
// the broker takes a last one at a clean shutdown, after its final
// commit): SQLite's backup API from a read-only connection (the event
// loop's writes go on; WAL readers never block the writer), a check, gzip,
// upload, retention (schemas/db_backup.h). A failed backup is logged as a warning
// and tried again at the next interval; the broker keeps running.
//
// The recovery point is the interval: a host lost between two snapshots
// loses what happened since the last one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "schemas/backup_retention.h"
#include "schemas/db_backup.h"
#include "schemas/s3_client.h"
#include "schemas/s3_location.h"

namespace sluice::broker {

struct StateBackupConfig {
  s3::Location location;
  s3::Config store;
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  backup::Retention retention;
  std::string state_path;
  std::string temp_dir;  // where the snapshot and its gzip wait for the upload
};

class StateBackup {
 public:
  explicit StateBackup(StateBackupConfig config);
  ~StateBackup();  // stops the thread (a backup under way is abandoned)

  // Starts the thread; its first snapshot is one interval from now.
  void Start();
  // Stops the thread, waiting for a snapshot under way to end.
  void Stop();
  // One snapshot now, on the calling thread (at shutdown). Logged either way.
  Status RunOnce();

  std::int64_t successes() const { return successes_.load(); }
  std::int64_t failures() const { return failures_.load(); }
  // Unix ms of the last successful snapshot; 0 before one.
  std::int64_t last_success_ms() const { return last_success_ms_.load(); }

 private:
  void Loop();
  StateBackupConfig config_;
  std::unique_ptr<s3::Client> client_;  // used by one thread at a time (the loop, then RunOnce after Stop)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::atomic<std::int64_t> successes_{0};
  std::atomic<std::int64_t> failures_{0};
  std::atomic<std::int64_t> last_success_ms_{0};
};

}  // namespace sluice::broker
