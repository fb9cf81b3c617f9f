// EventLog: one line per notable event on stderr, e.g.
//   2026-11-22T10:00:00Z worker w1: connected to tcp://127.0.0.1:5555
// Safe to call from any thread: each line is a single write(2). Not for the
// hot path: nothing per job is logged.
#pragma once

#include <string>

namespace sluice::worker {

class EventLog {
 public:
  // `name` prefixes every line after the timestamp ("worker w1").
  explicit EventLog(std::string name) : name_(std::move(name)) {}

  void Info(const char* format, ...) const __attribute__((format(printf, 2, 3)));

 private:
  std::string name_;
};

}  // namespace sluice::worker
