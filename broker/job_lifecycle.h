// JobLifecycle: the rules of a job's life, from SUBMIT to its end — and
// nothing about sockets. It owns the live jobs (scheduled, queued, running),
// the ready queues, the timers, the concurrency gate, the connected workers
// and their leases, and the state counts; it writes through the JobStore it
// is given, into the transaction the caller has open (each entry point calls
// JobStore::Begin, a no-op while one is).
//
// Every entry point returns what it did as Effects: messages to send now or
// after the commit, and the jobs that ended. The caller (Broker) commits,
// then sends; until then nothing is acknowledged and no attempt started.
// A Status that is not Ok is a failed store write: the transaction must be
// rolled back and the lifecycle rebuilt from the store (Load).
//
// A job changes state only through Transition(), which checks the table in
// schemas/job_state.h in every build; what follows a change (timers, the
// concurrency key, counts, the ended list) is written out at each call site.
//
// Time is the caller's `now` (ms): tests drive it with a fake clock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/concurrency_gate.h"
#include "broker/job.h"
#include "broker/job_store.h"
#include "broker/kind_hook_table.h"
#include "broker/ready_queue.h"
#include "broker/state_counts.h"
#include "broker/timer_set.h"
#include "broker/worker_registry.h"
#include "pipeline/retry_policy.h"
#include "schemas/messages.h"
#include "schemas/protocol.h"
#include "schemas/status.h"

namespace sluice::broker {

struct LifecycleConfig {
  RetryPolicy retry;                              // for jobs that do not say
  std::uint64_t default_timeout_ms = 30 * 60 * 1000;
  std::uint32_t heartbeat_ms = 1000;
  std::uint32_t liveness = 3;
  std::uint64_t seed = 0;                         // backoff jitter; 0: random
};

// Monotonic counters of job events (STATS `counters`).
struct JobCounters {
  std::int64_t submitted = 0, dispatched = 0, succeeded = 0, failed = 0, timed_out = 0, lost = 0,
               dead = 0, cancelled = 0, retried = 0, returned = 0, duplicate_results = 0;
  std::int64_t recalled = 0;  // prefetched attempts asked back (RECALL)
};

// A message for a peer, by its routing id.
struct Message {
  std::string rid;
  proto::Command cmd;
  std::string body;
};

// A job that reached a terminal state.
struct EndedJob {
  std::int64_t seq = 0;
  JobState state = JobState::kSucceeded;
  std::string kind, queue;
  std::uint32_t failures = 0;
  std::string error;  // dead: why
};

struct Effects {
  // Sent at once (CANCEL: its worker should stop what it runs anyway).
  std::vector<Message> send_now;
  // Sent after the commit (JOB: the dispatch is written first).
  std::vector<Message> after_commit;
  std::vector<EndedJob> ended;
  // Every job that ended, (seq, state), left alone by the runs (which take
  // `ended`): the broker tells the clients that asked (SUBMIT notify).
  std::vector<std::pair<std::int64_t, JobState>> finished;
};

// How an attempt ended.
struct AttemptEnd {
  Outcome outcome = Outcome::kSucceeded;
  std::string error;
  bool retryable = true;
  // False for an attempt whose fate is unknown through no fault of the job
  // (a JOB lost with a broker that died right after sending it): it does
  // not count against max_attempts.
  bool counts = true;
  std::uint64_t retry_after_ms = 0;
  std::optional<std::int64_t> exit_code;
  std::string stdout_tail, stderr_tail, outputs;
};

class JobLifecycle {
 public:
  JobLifecycle(JobStore& store, KindHookTable& hooks, LifecycleConfig config);
  // Whether the state database takes writes now (opening the transaction
  // when it does). The broker's answers "no" while degraded; by default,
  // whether JobStore::Begin succeeds.
  void SetWritableCheck(std::function<bool(std::int64_t now)> check) { writable_ = std::move(check); }

  // --- loading
  struct LoadSummary {
    std::size_t scheduled = 0, queued = 0, running = 0;
    bool legacy = false;  // a state of a version that did not write dispatches
  };
  // Loads the live jobs and the counts. Running jobs wait for their workers
  // to re-announce them (an orphan timer each); `startup` with a database of
  // a version before 4: dispatch waits as well (see legacy_queued_).
  Result<LoadSummary> Load(std::int64_t now, bool startup);
  // The socket is bound at `now`: the graces of Load start here.
  void OnListening(std::int64_t now);

  // --- the entry points
  // A new job (or, for an idempotency key seen before, the job it names).
  Result<proto::SubmittedJob> Submit(const proto::JobSpec& spec, std::int64_t now, Effects* fx);
  // Hands queued jobs to workers with credit. Writes each dispatch.
  Status Dispatch(std::int64_t now, Effects* fx);
  // Ends the running attempt of job `seq` and moves the job on (done, retry,
  // dead).
  Status EndAttempt(std::int64_t seq, const AttemptEnd& end, std::int64_t now, Effects* fx);
  // RETRY by request: dead, cancelled or scheduled -> queued.
  Status Retry(std::int64_t seq, std::int64_t now, Effects* fx);
  // CANCEL_JOB: scheduled, queued or running -> cancelled. A running attempt's
  // worker is told to stop; its lease (and key slot) stay until it reports.
  Status Cancel(std::int64_t seq, std::int64_t now, Effects* fx);
  // Fires every timer due at `now`: run_at, lease (timeout), orphan.
  Status OnTimer(std::int64_t now, Effects* fx);

  // --- workers
  // READY: registers the worker (replacing an older connection of the same
  // worker id) and adopts the attempts it says it runs.
  Status AddWorker(std::unique_ptr<Worker> w, const std::vector<proto::JobAttempt>& running,
                   std::int64_t now, Effects* fx, Worker** added);
  // RESULT from a registered worker.
  Status RecordResult(Worker& from, const proto::JobResult& r, std::int64_t now, Effects* fx);
  // A worker left or went silent: its attempts are lost (or, when the store
  // does not take writes, orphaned until it does).
  Status RemoveWorker(const std::string& rid, const std::string& why, std::int64_t now, Effects* fx);
  // HEARTBEAT with a new slot count (0: draining).
  void SetSlots(Worker& w, std::uint32_t slots);
  // Dispatch should look again (e.g. writes work again).
  void RequestDispatch() { dispatch_more_ = true; }

  // --- the loop's questions
  // True when Dispatch may have something to do at `now`.
  bool WantsDispatch(std::int64_t now) const;
  // When the lifecycle next needs the loop after `now`: a timer, the end of
  // the dispatch hold.
  std::int64_t NextDueMs(std::int64_t now) const;
  bool TimerDue(std::int64_t now) const { return !timers_.empty() && timers_.next_due_ms() <= now; }

  // --- reads
  const Job* Find(std::int64_t seq) const;
  bool IsLive(std::int64_t seq) const { return live_.count(seq) != 0; }
  std::size_t live_count() const { return live_.size(); }
  // Per queue, the earliest run_at_ms of its queued jobs (those waiting
  // for a slot; not running, not scheduled): for the oldest one's age.
  // O(live jobs): for /metrics, once a second.
  std::map<std::string, std::int64_t> OldestQueued() const;
  // Running jobs (memory only: the store has them as dispatched).
  std::vector<std::int64_t> RunningSeqs(const std::string& queue, const std::string& kind) const;
  std::size_t running_count() const;
  // The store does not hold running attempts: lays the live job's state and
  // its running attempt over a record read from it.
  void OverlayLive(JobRecord* r) const;
  // Why a queued job waits ("" when it does not).
  std::string WaitingReason(const Job& job) const;
  WorkerRegistry& workers() { return workers_; }
  const WorkerRegistry& workers() const { return workers_; }
  Worker* HolderOf(const Job& job);
  const StateCounts& counts() const { return counts_; }
  const JobCounters& counters() const { return counters_; }
  // At load: the counters as the state database has them (they survive
  // restarts; the broker saves their growth in every commit).
  void RestoreCounters(const JobCounters& c) { counters_ = c; }
  const ConcurrencyGate& gate() const { return gate_; }
  std::size_t timer_count() const { return timers_.size(); }
  // Finished jobs deleted by retention leave the totals.
  void OnPruned(const JobStore::PrunedCounts& by_queue);

  std::int64_t LeaseGraceMs() const { return 2LL * config_.heartbeat_ms; }
  std::int64_t OrphanGraceMs() const { return (config_.liveness + 2LL) * config_.heartbeat_ms; }

 private:
  // The one place a job changes state: Internal unless `from -> to` is in
  // the transition table. Bumps gen, dates updated_ms, disarms its timer,
  // moves the counts.
  Status Transition(Job& job, JobState to, std::int64_t now);
  // Each: Transition plus what that change means.
  Status MakeQueued(Job& job, std::int64_t now, std::string_view last_error);
  Status MakeScheduled(Job& job, std::int64_t now, std::int64_t run_at_ms, std::string_view last_error);
  Status MakeRunning(Job& job, std::uint32_t attempt, std::int64_t now);
  // A terminal state: written with `why`, reported in fx->ended, forgotten.
  Status Finish(Job& job, JobState to, std::int64_t now, const std::string& why, std::string_view outputs,
                Effects* fx);
  Status EndAttempt(Job& job, const AttemptEnd& end, std::int64_t now, Effects* fx);
  // Dispatches one job to `w` (the gate allows it).
  Status DispatchTo(Worker& w, Job& job, std::int64_t now_us, std::int64_t now, Effects* fx);
  // Asks adaptive workers that hold jobs beyond their slots to hand back
  // (RECALL) as many as other workers have slots free for: a job does not
  // wait behind a busy slot while another worker could start it.
  void Recall(Effects* fx);
  // Adopts (or refuses, with a CANCEL) the attempts a worker says it runs.
  Status AdoptRunning(Worker& w, const std::vector<proto::JobAttempt>& running, std::int64_t now,
                      Effects* fx);
  Status FireTimer(const Deadline& d, std::int64_t now, Effects* fx);
  void Orphan(Job& job, std::int64_t now);
  void Enqueue(const Job& job);
  void ArmTimer(Job& job, TimerKind kind, std::int64_t due_ms);
  void DisarmTimer(Job& job);
  // The concurrency key's slot of the job's current attempt (ConcurrencyGate):
  // taken when the attempt starts running; freed once the job has left that
  // attempt and no worker holds its lease.
  void HoldKey(const Job& job) { gate_.Hold(job.concurrency_key, {job.seq, job.attempt}); }
  void ReleaseKeyIfFree(std::int64_t seq, std::uint32_t attempt);
  void UnparkIfLeftQueued(const Job& job, JobState was);
  // Jobs the gate let go: back to the ready queues, and dispatch looks again.
  void Requeue(const std::vector<ParkedJob>& unparked);
  // An attempt ended: the persisted result counter and duration histogram.
  void CountAttempt(const Job& job, Outcome outcome, std::int64_t now);
  // Is a ready or parked entry still its job's queued state?
  ConcurrencyGate::Valid QueuedEntry() const;
  void SendCancel(const Worker& w, std::int64_t seq, std::uint32_t attempt, Effects* fx);
  void Forget(std::int64_t seq);

  JobStore& store_;
  KindHookTable& hooks_;
  std::function<bool(std::int64_t)> writable_;
  LifecycleConfig config_;
  std::unordered_map<std::int64_t, Job> live_;
  ReadyQueues ready_;
  TimerSet timers_;
  WorkerRegistry workers_;
  ConcurrencyGate gate_;
  StateCounts counts_;
  JobCounters counters_;
  std::mt19937_64 rng_;
  std::string params_;  // a dispatched job's params as sent
  std::string scratch_;
  bool dispatch_more_ = true;  // a worker may have credit and the queues jobs
  // After a restart with live jobs, dispatch waits this long so workers can
  // re-announce what they still run before anything is run twice.
  std::int64_t dispatch_hold_until_ms_ = 0;
  // The state was written by a version that did not write dispatches: a
  // job loaded as queued may be running (its attempt one more than stored).
  bool legacy_queued_ = false;
};

}  // namespace sluice::broker
