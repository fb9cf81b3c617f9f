// Checkpointer: moves WAL frames into the database file from a second
// connection on its own thread, so the event loop's commits never pay for a
// checkpoint (the loop's connection has wal_autocheckpoint=0). PASSIVE mode:
// it never blocks the writer; the writer resets the WAL once a checkpoint has
// caught up.
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
  Checkpointer(std::string path, int interval_ms);
  ~Checkpointer();  // stops and joins

  std::int64_t runs() const { return runs_.load(); }
  std::int64_t failures() const { return failures_.load(); }

 private:
  void Loop();

  std::string path_;
  int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::atomic<std::int64_t> runs_{0}, failures_{0};
  std::thread thread_;
};

}  // namespace sluice::broker
