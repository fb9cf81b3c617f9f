#include "broker/checkpointer.h"

#include <sqlite3.h>

#include <chrono>

#include "broker/log.h"

namespace sluice::broker {

Checkpointer::Checkpointer(std::string path, int interval_ms)
    : path_(std::move(path)), interval_ms_(interval_ms), thread_([this] { Loop(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Checkpointer::Loop() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    Logf("checkpointer: cannot open %s: %s", path_.c_str(), db ? sqlite3_errmsg(db) : "?");
    sqlite3_close_v2(db);
    return;
  }
  sqlite3_busy_timeout(db, 100);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_));
    if (stop_) break;
    lock.unlock();
    int log_frames = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
    if (rc == SQLITE_OK) runs_++;
    else if (rc != SQLITE_BUSY) failures_++;
    lock.lock();
  }
  sqlite3_close_v2(db);
}

}  // namespace sluice::broker
