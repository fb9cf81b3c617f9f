// Worker: the sluice-worker process — its broker connection, its running
// attempts and its shutdown (PROTOCOL.md §5 is the contract).
//
// One I/O thread owns the socket and all state here. Each loop turn polls,
// until the next deadline (heartbeat, broker liveness, shutdown phase), the
// broker socket, the slot pool's wakeup and the stop requests; then drains
// every waiting message, sends the results of finished jobs, and Tick()s.
// Inline handlers (test.noop, test.fail, test.crash) run right there, so a
// JOB is answered in the same turn; blocking ones go to the SlotPool.
//
// Credit: at most `slots` blocking attempts run at once, and up to
// `prefetch` more wait here (in arrival order) for a slot; a JOB beyond that
// is answered RESULT `returned` (the broker should not have sent it). By
// default the prefetch is adaptive (READY `adaptive`): the broker sends only
// what this worker's pace calls for, and a RECALL hands back, RESULT
// `returned`, those of the named attempts still waiting here.
// Results are kept until ACKed and re-sent after every READY on a new
// connection (broker silent for a while, broker BYE) or after ERROR
// unknown_worker. Jobs keep running while the broker is away; their results
// wait here.
//
// Reconnecting (BrokerLink has the numbers): the broker is presumed gone
// after 3 silent heartbeat intervals; each further silent connection in a
// row gets twice the patience, up to 30 intervals, plus 0-25% random
// jitter; any message from the broker resets that. Silent reconnects are
// logged for the 1st, 2nd, 4th, 8th... in a row.
//
// ERROR `forbidden` (to READY, HEARTBEAT, RESULT...): the broker does not
// authorize this worker's key as a worker's (wrong role, or the key was
// removed from its authorized folder). The worker then
//   - logs "the broker refused this worker's key (forbidden): ..." once per
//     connection, i.e. at most once per backoff period;
//   - sends nothing more on that connection (no HEARTBEAT, no RESULT) and
//     counts nothing from it as a sign of life;
//   - takes no jobs: a JOB still arriving is answered RESULT `returned`
//     (kept like every result until ACKed, so sent after the next READY);
//   - keeps running the jobs it has (and starts the prefetched ones), and
//     keeps every unacknowledged result;
//   - after the backoff (as for a silent connection, the refusal counting
//     as one) connects anew and sends READY and its unacknowledged results:
//     once an operator authorizes the key again (and reloads the broker),
//     the worker is back within one backoff period, and logs that the
//     broker accepts its key again.
// A stop request still shuts it down as usual (it waits `ack_wait` for the
// ACKs that cannot come, then leaves).
//
// Shutdown, driven by StopRequests:
//   1st request: HEARTBEAT {slots: 0}; new JOBs get RESULT `returned`;
//                running attempts get `grace` to finish, then are cancelled
//                and reported `returned`;
//   2nd request: cancel (return) running attempts now;
//   3rd request: also stop waiting for ACKs.
// When nothing runs any more, wait up to `ack_wait` for the ACKs of every
// result, send BYE, and Run() returns 0.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "schemas/envelope.h"
#include "schemas/messages.h"
#include "workers/broker_link.h"
#include "workers/event_log.h"
#include "workers/handler.h"
#include "workers/job_key.h"
#include "workers/job_log_sampler.h"
#include "workers/job_params.h"
#include "workers/running_job.h"
#include "workers/slot_pool.h"
#include "workers/stop_requests.h"
#include "workers/unacked_results.h"
#include "workers/worker_options.h"

namespace sluice::worker {

class Worker {
 public:
  // `options` must pass ValidateOptions(). `stop` (may be null: then the
  // worker runs until killed) must outlive the worker.
  Worker(WorkerOptions options, StopRequests* stop);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until shut down. Returns the process exit code: 0 after a clean
  // shutdown, 2 if the broker endpoint is malformed, 1 if the worker could
  // not get the file descriptors it needs.
  int Run();

  const std::string& id() const { return id_; }

 private:
  enum class Phase { kServing, kDraining, kAwaitingAcks, kDone };

  Clock::time_point NextDeadline() const;
  void ReadMessages(Clock::time_point now);
  void HandleMessage(proto::FrameError error, Clock::time_point now);
  void StartJob(proto::JobMsg msg, const HandlerSpec* handler, Clock::time_point now);
  bool IsWaiting(std::string_view job, std::uint32_t attempt) const;
  // Starts prefetched jobs while slots are free (not when shutting down).
  void StartWaiting(Clock::time_point now);
  // Hands every prefetched job back (RESULT returned).
  void ReturnWaiting(const char* why, Clock::time_point now);
  void OnJob(std::string_view body, Clock::time_point now);
  void OnCancel(std::string_view body, Clock::time_point now);
  // RECALL: hands back (RESULT returned) the named attempts still waiting.
  void OnRecall(std::string_view body, Clock::time_point now);
  void OnAck(std::string_view body, Clock::time_point now);
  void OnError(std::string_view body, Clock::time_point now);
  // ERROR forbidden: the broker does not accept this worker's key.
  void OnForbidden(const std::string& message, Clock::time_point now);
  // The message in incoming_ is ERROR forbidden.
  bool IsForbidden(proto::FrameError error) const;
  void OnBrokerBye(std::string_view body, Clock::time_point now);
  void CollectFinished(Clock::time_point now);
  void OnStopRequests(unsigned count, Clock::time_point now);
  void Tick(Clock::time_point now);
  void AdvanceShutdown(Clock::time_point now);
  void ReturnRunningJobs(const char* why);

  // New socket, then Introduce().
  void Reconnect(Clock::time_point now);
  // READY (with the running attempts), then every unacked RESULT.
  void Introduce(Clock::time_point now);
  void SendHeartbeat(Clock::time_point now);
  // Keeps `result` until ACKed and sends it.
  void SendResult(const proto::JobResult& result, Clock::time_point now);
  // Answers a JOB that will not run with a RESULT.
  void Refuse(std::string_view job, std::uint32_t attempt, Outcome outcome, bool retryable,
              std::string error, Clock::time_point now);
  // Logs broker-side trouble (bad input, ERROR replies) at most once a second.
  // The line that counts the job lines left out (each second; `force`: now).
  void LogLeftOut(Clock::time_point now, bool force);
  // An attempt's "job started" and "job ended" lines (sampled).
  void LogStart(const proto::JobMsg& job, Clock::time_point now);
  void LogEnd(const proto::JobMsg& job, const proto::JobResult& result, Clock::time_point started,
              Clock::time_point now);
  void LogThrottled(Clock::time_point now, const char* format, ...) __attribute__((format(printf, 3, 4)));

  const WorkerOptions options_;
  const std::string id_;
  const std::string host_;
  const std::vector<std::string> kinds_;
  const EventLog log_;
  const HandlerSettings settings_;  // what handlers read; before pool_, which uses it
  StopRequests* const stop_;

  zmq::context_t context_;
  BrokerLink link_;
  UnackedResults unacked_;
  // The attempts on slot threads. Declared before pool_: the pool's threads
  // use these jobs, so the pool must stop first.
  std::unordered_map<JobKey, std::unique_ptr<RunningJob>, JobKeyHash, JobKeyEqual> running_;
  // Prefetched blocking jobs waiting for a slot (at most options_.prefetch).
  struct WaitingJob {
    proto::JobMsg msg;
    const HandlerSpec* handler;
  };
  std::deque<WaitingJob> waiting_;
  SlotPool pool_;

  Phase phase_ = Phase::kServing;
  unsigned stop_requests_ = 0;
  Clock::time_point grace_end_{};
  Clock::time_point ack_end_{};
  bool returned_running_ = false;  // the running attempts were cancelled for shutdown
  bool skip_ack_wait_ = false;
  Clock::time_point last_ready_{};
  // The broker refused the key (ERROR forbidden) and has not spoken
  // otherwise since: its acceptance is logged.
  bool key_refused_ = false;

  // Throttle for LogThrottled().
  // Per-job lines (start, end): a few a second under a flood; failed
  // attempts get a budget of their own, so they are not crowded out.
  JobLogSampler job_lines_{20};
  JobLogSampler failure_lines_{100};
  Clock::time_point last_throttled_log_{};
  std::uint64_t suppressed_logs_ = 0;

  // Scratch reused on the hot path, so a JOB costs no fresh containers.
  const CancelToken never_cancelled_;
  proto::Incoming incoming_;
  proto::JobMsg job_;
  proto::JobResult result_;
  proto::Ack ack_;
  ParamsView params_;
  std::vector<RunningJob*> finished_;
};

}  // namespace sluice::worker
