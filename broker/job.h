// The broker's in-memory view of a live job (scheduled, queued or running).
// Terminal jobs live only in the state database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/timer_set.h"
#include "schemas/job_state.h"

namespace sluice::broker {

struct Job {
  std::int64_t seq = 0;          // public id is FormatJobId(seq)
  std::string kind;
  std::string queue = "default";
  std::int64_t priority = 0;     // higher first
  std::string params;            // msgpack map
  JobState state = JobState::kQueued;
  std::uint32_t attempt = 0;     // attempts started; the running one when state == running
  std::uint32_t failures = 0;    // attempts counted against max_attempts
  std::uint32_t max_attempts = 5;
  std::uint64_t backoff_ms = 5000;
  std::uint64_t timeout_ms = 0;  // 0: none
  std::int64_t run_at_ms = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::string key;               // idempotency key, may be empty
  std::string concurrency_key;   // empty: no concurrency limit
  std::uint32_t concurrency_limit = 0;

  // While running: the worker id holding the lease ("" = not yet re-adopted
  // after a broker restart) and when the attempt started.
  std::string worker;
  std::string host;
  std::int64_t started_ms = 0;

  // Bumped on every state change; ready-queue entries carry the value they
  // were made with, so stale entries are recognised and dropped.
  std::uint64_t gen = 0;
  // The armed timer, if any (see TimerSet).
  bool has_timer = false;
  std::int64_t timer_due_ms = 0;
  TimerKind timer_kind = TimerKind::kRunAt;
};

// One attempt as stored (finished or still running).
struct AttemptRecord {
  std::uint32_t attempt = 0;
  std::string worker, host;
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;  // 0: still running
  std::string outcome;           // empty: still running
  std::string error;
  bool has_exit_code = false;
  std::int64_t exit_code = 0;
  std::string stdout_tail, stderr_tail;
};

// A job as stored, for queries.
struct JobRecord {
  Job job;
  std::int64_t finished_ms = 0;  // 0: not finished
  std::string last_error;
  std::string outputs;           // msgpack map or empty
  std::vector<AttemptRecord> attempts;
};

}  // namespace sluice::broker
