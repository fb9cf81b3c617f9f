// Checkpointer: moves WAL frames into the database file from a second
// connection on its own thread, so the event loop's commits rarely pay for a
// checkpoint (the loop's connection has wal_autocheckpoint=0).
//
// It runs every interval, when the loop nudges it (Nudge(): the WAL has
// grown by JobStore::kWalNudgeFrames), and at once when the WAL file has
// grown past truncate_above_bytes (its size is looked at every kTickMs):
//   1. it reads the schema cookie, so that its connection has the WAL open
//      (a connection that has never read the database checkpoints nothing
//      and still returns SQLITE_OK);
//   2. PASSIVE checkpoints, never waiting for the writer or readers, again
//      while each copies something and frames are left (up to kPasses):
//      each copies what the loop committed during the last;
//   3. when the WAL file is larger than truncate_above_bytes (64 MiB: the
//      WAL outgrew the loop's own bound, a reader held a snapshot for long),
//      a TRUNCATE checkpoint with a short busy timeout (busy_ms). It holds
//      the write lock while it copies the frames left and empties the WAL,
//      so a commit of the loop may wait; when the lock or a reader does not
//      let go within busy_ms it gives up until the next run.
// The WAL starts over when the loop's next write finds every frame copied:
// the loop makes sure of that itself once the WAL is long (JobStore,
// kWalRestartFrames), copying only what this thread has not yet.
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
  static constexpr std::int64_t kTruncateAboveBytes = std::int64_t{64} << 20;
  static constexpr int kBusyMs = 20;
  static constexpr int kTickMs = 100;  // how often the WAL's size is looked at
  static constexpr int kPasses = 4;    // PASSIVE checkpoints per run, at most

  Checkpointer(std::string path, int interval_ms, std::int64_t truncate_above_bytes = kTruncateAboveBytes,
               int busy_ms = kBusyMs);
  ~Checkpointer();  // stops and joins

  // A run now (cheap; any thread). Nudges while a run is under way make
  // one more run after it.
  void Nudge();

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
  bool stop_ = false;    // guarded by mu_
  bool nudged_ = false;  // guarded by mu_
  std::atomic<std::int64_t> runs_{0}, failures_{0}, truncations_{0}, pages_{0}, wal_bytes_{0},
      last_ms_{0};
  std::thread thread_;
};

}  // namespace sluice::broker
