// CancelToken: how a running attempt learns that it must stop. One per
// attempt. The I/O thread cancels it (CANCEL from the broker, or a shutdown
// that hands the job back); the attempt's own deadline (JOB timeout_ms) stops
// it too, without anyone having to call Cancel().
//
// Handlers check reason() between steps, sleep with WaitUntil(), or put fd()
// in their poll(2) set next to their own fds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "schemas/job_state.h"

namespace sluice::worker {

using Clock = std::chrono::steady_clock;

enum class StopReason : std::uint8_t {
  kNone,       // keep going
  kCancelled,  // the broker sent CANCEL
  kTimedOut,   // the attempt's deadline passed
  kReturned,   // the worker is shutting down: hand the job back
};

// The attempt outcome a stop reason turns into (kNone: succeeded).
Outcome OutcomeFor(StopReason reason);
// Why, in words, for RESULT error texts: "cancelled by the broker", ...
std::string_view Describe(StopReason reason);

class CancelToken {
 public:
  // `deadline`: when the attempt times out; time_point::max() = never.
  explicit CancelToken(Clock::time_point deadline = Clock::time_point::max());
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Thread-safe. The first reason wins; a deadline already passed wins over
  // a later Cancel().
  void Cancel(StopReason reason);

  // kNone while the attempt may go on.
  StopReason reason() const;
  bool stopped() const { return reason() != StopReason::kNone; }
  Clock::time_point deadline() const { return deadline_; }

  // Blocks until `until`, the deadline or Cancel(), whichever is first.
  // Returns reason(): kNone means `until` came first.
  StopReason WaitUntil(Clock::time_point until) const;

  // Becomes readable once Cancel() is called and stays readable (for
  // poll(2); nobody reads it). It does not fire on the deadline: poll with a
  // timeout for that. -1 if no eventfd could be had; WaitUntil() then
  // checks every few milliseconds instead.
  int fd() const { return fd_; }

 private:
  std::atomic<StopReason> reason_{StopReason::kNone};
  const Clock::time_point deadline_;
  const int fd_;
};

// Milliseconds from `now` to `t`, rounded up, clamped to [0, INT32_MAX]:
// a timeout for poll(2) that never wakes before `t`.
int PollTimeoutMs(Clock::time_point now, Clock::time_point t);

}  // namespace sluice::worker
