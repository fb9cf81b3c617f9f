// PrefetchWindow: how many jobs beyond its slots the broker sends a worker
// that asked for adaptive prefetch (READY `adaptive`, PROTOCOL.md §5.1).
//
// The aim: hide the round trip (commit, JOB, RESULT) for floods of short
// jobs, and hold nothing back from other workers when jobs are long. The
// window is the work this worker gets through in kTargetUs at its recent
// pace: the pace is the mean time between its results while it is busy (an
// exponential moving average), and a worker that has reported nothing for
// longer than that is as slow as the silence says. So
//   - a new worker, or one that has never finished a job, gets no prefetch;
//   - 10 us no-op jobs get up to 500 (capped by the READY's `prefetch`);
//   - 2 s jobs get none, and a worker whose jobs turn long loses its window
//     after kTargetUs of silence.
// What a worker already holds when its window closes is handed back on
// request (RECALL) when another worker has a slot free for it
// (job_lifecycle.cc).
//
// Times are steady-clock microseconds, passed in: tests drive them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace sluice::broker {

// Prefetch windows pace workers in microseconds of the steady clock, not
// in the (injectable, millisecond) clock of the job states.
inline std::int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class PrefetchWindow {
 public:
  // At the worker's pace, how much work it may hold beyond its slots.
  static constexpr std::int64_t kTargetUs = 5000;

  explicit PrefetchWindow(std::int64_t target_us = kTargetUs) : target_us_(target_us) {}

  // A job was sent to the worker, which held `held_before` jobs before it.
  void OnSend(std::int64_t now_us, std::size_t held_before);
  // The worker reported a result; it holds `held_after` jobs now.
  void OnResult(std::int64_t now_us, std::size_t held_after);
  // Jobs beyond its slots it may hold at `now_us`, at most `declared` (its
  // READY's `prefetch`).
  std::uint32_t Allowance(std::int64_t now_us, std::uint32_t declared) const;
  // The mean time between results while busy; 0 before the first result.
  double period_us() const { return period_us_; }

 private:
  // The last result (or the start of a busy spell); -1 while it holds nothing.
  std::int64_t target_us_;
  std::int64_t mark_us_ = -1;
  double period_us_ = 0;
};

}  // namespace sluice::broker
