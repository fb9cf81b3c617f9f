// EventLog: a worker's log lines on stderr (schemas/log_line.h: logfmt, or
// JSON with --log-format json), each with `component=worker worker=ID`:
//   time=2026-11-22T10:00:00.123Z level=info msg="connected to tcp://127.0.0.1:5555" component=worker worker=w1
// Safe to call from any thread: each line is a single write(2). Per-job
// lines (JobLogSampler) are sampled under a flood.
#pragma once

#include <string>
#include <vector>

#include "schemas/log_line.h"

namespace sluice::worker {

class EventLog {
 public:
  explicit EventLog(std::string worker_id)
      : fields_{{"component", "worker"}, {"worker", std::move(worker_id)}} {}

  void Info(const char* format, ...) const __attribute__((format(printf, 2, 3)));
  void Warn(const char* format, ...) const __attribute__((format(printf, 2, 3)));
  // A line with more fields (job=, attempt=, kind=, outcome=, duration_ms=).
  void Line(LogLevel level, const std::vector<LogField>& fields, const std::string& msg) const;

 private:
  std::vector<LogField> fields_;
};

}  // namespace sluice::worker
