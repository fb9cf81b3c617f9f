// SlotPool: the worker's `slots` long-lived threads that run blocking
// handlers (exec, test.sleep), so the I/O thread never waits on a job.
//
// Long-lived on purpose: exec children get PR_SET_PDEATHSIG, which fires
// when the *thread* that forked them exits, so a slot thread must outlive
// every child it starts.
//
// Hand-off: the I/O thread Start()s a RunningJob; a slot thread runs it and
// puts it on the finished list, then makes wakeup_fd() readable so the I/O
// thread's poll wakes up and calls TakeFinished().
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "workers/event_log.h"
#include "workers/running_job.h"

namespace sluice::worker {

class SlotPool {
 public:
  // `log` and `settings` must outlive the pool.
  SlotPool(unsigned threads, const EventLog& log, const HandlerSettings& settings);
  ~SlotPool();  // Stop()
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  // Queues `job` for the next free thread. The caller keeps ownership and
  // must not touch the job (except job->cancel) until TakeFinished() hands
  // it back.
  void Start(RunningJob* job);

  // Appends the jobs finished since the last call to `out`, and clears the
  // wakeup. Never blocks on a running job.
  void TakeFinished(std::vector<RunningJob*>* out);

  // Readable while finished jobs are waiting; for the I/O thread's poll.
  int wakeup_fd() const { return wakeup_fd_; }

  // Lets each thread finish its current job, then joins them all. Jobs still
  // queued are not run. Cancel running jobs first or this waits for them.
  void Stop();

 private:
  void ThreadMain();

  const EventLog& log_;
  const HandlerSettings& settings_;
  int wakeup_fd_;
  std::mutex mu_;
  std::condition_variable work_ready_;
  std::deque<RunningJob*> queued_;     // guarded by mu_
  std::vector<RunningJob*> finished_;  // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace sluice::worker
