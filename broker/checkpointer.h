// Checkpointer: moves WAL frames into the database file from a second
// connection on its own thread, so the event loop's commits never pay for a
// checkpoint (the loop's connection has wal_autocheckpoint=0).
//
// Every interval, and at once when the WAL file has grown past
// truncate_above_bytes (its size is looked at every kTickMs), it:
//   1. reads the schema cookie, so that its connection has the WAL open (a
//      connection that has never read the database checkpoints nothing and
//      still returns SQLITE_OK);
//   2. runs a PASSIVE checkpoint: it never waits for the writer or readers;
//   3. when the WAL file is larger than truncate_above_bytes, tries a
//      TRUNCATE checkpoint with a short busy timeout (busy_ms). It holds the
//      write lock only while it copies the few frames written since step 2
//      and empties the WAL, so a commit of the loop waits a few ms at most;
//      when the lock or a reader does not let go within busy_ms it gives up
//      until the next tick.
// Step 3 is what bounds the WAL under a steady load: a PASSIVE checkpoint
// rarely catches up completely while commits keep coming, and the writer
// starts the WAL over only after one did. Between truncations the loop's
// connection (journal_size_limit) cuts a reset WAL back to a few MiB.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::broker {

class Checkpointer {
 public:
  static constexpr std::int64_t kTruncateAboveBytes = 2 << 20;
  static constexpr int kBusyMs = 20;
  static constexpr int kTickMs = 100;  // how often the WAL's size is looked at

  Checkpointer(std::string path, int interval_ms, std::int64_t truncate_above_bytes = kTruncateAboveBytes,
               int busy_ms = kBusyMs);
  ~Checkpointer();  // stops and joins

  // Checkpoints that ran (PASSIVE; a TRUNCATE after one does not count again).
  std::int64_t runs() const { return runs_.load(); }
  // Checkpoints that failed with an error other than SQLITE_BUSY, or found
  // no WAL to checkpoint.
  std::int64_t failures() const { return failures_.load(); }
  // TRUNCATE checkpoints that emptied the WAL file.
  std::int64_t truncations() const { return truncations_.load(); }
  // WAL frames (pages) copied into the database file, in all.
  std::int64_t pages_checkpointed() const { return pages_.load(); }
  // The WAL file's size after the last run (bytes).
  std::int64_t wal_bytes() const { return wal_bytes_.load(); }
  // When the last run ended (Unix ms, wall clock); 0 before the first.
  std::int64_t last_ms() const { return last_ms_.load(); }

 private:
  void Loop();

  std::string path_;
  int interval_ms_;
  std::int64_t truncate_above_bytes_;
  int busy_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::atomic<std::int64_t> runs_{0}, failures_{0}, truncations_{0}, pages_{0}, wal_bytes_{0},
      last_ms_{0};
  std::thread thread_;
};

}  // namespace sluice::broker
