// Broker: the single-threaded event loop at the heart of sluice-broker.
//
// One turn of the loop:
//   1. poll the ROUTER socket until the next deadline (timers, heartbeats,
//      periodic tasks) or 0 when work is pending;
//   2. handle every waiting message (up to max_messages_per_turn): state
//      changes go into the store's open transaction; replies, ACKs and JOBs
//      are deferred;
//   3. tick(now): due timers, silent workers, heartbeats, periodic tasks;
//   4. dispatch queued jobs to workers with free slots (the dispatch is
//      written, its JOB deferred);
//   5. commit (when the input is drained, or the transaction is
//      commit_interval_us old); then send what was deferred, so nothing is
//      acknowledged, and no attempt started, before it is durable; and make
//      the jobs created or re-queued in this turn dispatchable.
//
// The state database's health: a write needs Writable(), which opens the
// transaction (BEGIN IMMEDIATE). When another process holds the write lock,
// the disk is full or an I/O error strikes, the broker does not stop: after
// a failed write or commit it rolls back, drops what that transaction would
// have acknowledged (its requests get `internal`), reloads its state from
// the database as a restart would (workers are told BYE and re-announce),
// and runs degraded: queries and heartbeats are served, new work is refused
// with `internal` naming the cause, RESULTs are held unacknowledged, and
// timers, dispatch and cron wait. A probe write every so often ends that
// as soon as the database takes writes again.
//
// The files: broker.cc (loop, sockets), commands.cc (the dispatch table of
// thin handlers), lifecycle.cc (the rules: submit, dispatch, results,
// retries, cancel, loss), queries.cc (read-only answers), periodic_tasks.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include <nlohmann/json.hpp>

#include "broker/alert_sender.h"
#include "broker/checkpointer.h"
#include "broker/wakeup.h"
#include "broker/clock.h"
#include "broker/concurrency_gate.h"
#include "broker/extract_runs.h"
#include "broker/job.h"
#include "broker/job_store.h"
#include "broker/run_store.h"
#include "broker/workflow_run.h"
#include "broker/ready_queue.h"
#include "broker/state_counts.h"
#include "broker/timer_set.h"
#include "broker/utc_text.h"
#include "broker/worker_registry.h"
#include "pipeline/retry_policy.h"
#include "pipeline/workflows/workflow.h"
#include "schemas/envelope.h"
#include "schemas/messages.h"
#include "schemas/status.h"

namespace sluice::broker {

struct BrokerConfig {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string endpoint_file;              // written once listening; empty: none
  std::string state_path = "data/state.sqlite";
  std::uint32_t heartbeat_ms = 1000;      // used for workers that do not say
  std::uint32_t liveness = 3;             // intervals of silence before a peer is gone
  RetryPolicy retry;                      // defaults for jobs that do not say
  std::uint64_t default_timeout_ms = 30 * 60 * 1000;
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  SyncMode sync = SyncMode::kFull;
  int max_messages_per_turn = 4096;
  // Group commit: a transaction stays open this long to gather more changes
  // (0: commit every loop turn). Replies wait for it, so it bounds the
  // latency it adds.
  std::int64_t commit_interval_us = 1000;
  bool verbose = false;
  std::string workflows_path;             // the registry (TOML); empty: no workflows
  std::string state_vfs;                  // SQLite VFS of the state DB (tests: fault_vfs.h); empty: default
  // Set (e.g. by SIGHUP) to have the loop reload the registry; not owned.
  std::atomic<bool>* reload_requested = nullptr;
};


// Monotonic counters reported by STATS.
struct BrokerCounters {
  std::int64_t submitted = 0, dispatched = 0, succeeded = 0, failed = 0, timed_out = 0, lost = 0,
               dead = 0, cancelled = 0, retried = 0, returned = 0, duplicate_results = 0,
               bad_messages = 0, commits = 0, pruned = 0, runs_started = 0, runs_failed = 0,
               store_failures = 0, refused_degraded = 0;
};

struct TaskStats {
  std::int64_t runs = 0;
  std::int64_t last_ms = 0;
  std::int64_t next_ms = 0;
};

class Broker {
 public:
  Broker(BrokerConfig config, const Clock* clock);
  ~Broker();

  // Opens the state, loads live jobs, binds the socket, writes the endpoint file.
  Status Start();
  // Runs turns until `stop` is set or a fatal error (a failed write) occurs.
  // On stop: commits, says BYE to workers, closes the database.
  Status Run(const std::atomic<bool>& stop);
  const std::string& bound_endpoint() const { return bound_endpoint_; }
  // Ends the loop's wait now (thread-safe): after setting `stop`, or after
  // moving an injected clock, so that the loop looks again at once.
  void Wake() const { wakeup_.Poke(); }

 private:
  // --- loop (broker.cc)
  Status Turn(bool* stop_requested);
  // Commits when the open transaction is older than commit_interval_us (or
  // `force`), then sends the deferred replies and makes the jobs queued in
  // it dispatchable.
  Status CommitIfDue(bool force);
  int PollTimeoutMs(std::int64_t now);
  void Handle(proto::Incoming& in);
  bool SendNow(Worker& w, proto::Command cmd, std::string_view body);
  bool SendTo(const std::string& rid, proto::Command cmd, std::string_view body);
  // `req`: for a REPLY, the request it answers (it becomes an ERROR when
  // the transaction it acknowledges fails).
  void Defer(const std::string& rid, proto::Command cmd, std::string body, std::uint64_t req = 0);
  void FlushDeferred();
  Status WriteEndpointFile();
  // Records a failed store write; the loop recovers (or stops) at the end of
  // the message.
  bool Db(const Status& s);

  // --- the state database's health (broker.cc)
  // True when this turn may write: the transaction is open, or opens now.
  // False while degraded (until a probe write succeeds) or when the lock is
  // held elsewhere (then degraded).
  bool Writable(std::int64_t now);
  void EnterDegraded(const std::string& why);
  void LeaveDegraded(std::int64_t now);
  // After a failed write or commit: stop (unrecoverable, e.g. corruption)
  // with that Status, or roll back, reload and run degraded (Ok).
  Status OnStoreFailure(const Status& s, int sqlite_code, std::int64_t now);
  // Loads live jobs, counts, workflow runs and cron from the store.
  Status LoadState(std::int64_t now, bool startup);
  // Refuses (or holds, for a RESULT) a message that needs a write while
  // the state database is not writable.
  void RefuseWrite(const std::string& rid, std::uint8_t command, std::string_view body);
  std::string DegradedMessage() const;

  // --- commands (commands.cc): decode, call the lifecycle, answer.
  void OnReady(const std::string& rid, std::string_view body);
  void OnHeartbeat(const std::string& rid, std::string_view body);
  void OnResult(const std::string& rid, std::string_view body);
  void OnBye(const std::string& rid, std::string_view body);
  void OnSubmit(const std::string& rid, std::string_view body);
  void OnStatus(const std::string& rid, std::string_view body);
  void OnList(const std::string& rid, std::string_view body);
  void OnRetry(const std::string& rid, std::string_view body);
  void OnCancelJob(const std::string& rid, std::string_view body);
  void OnWorkers(const std::string& rid, std::string_view body);
  void OnStats(const std::string& rid, std::string_view body);
  void OnExtractions(const std::string& rid, std::string_view body);
  void OnRun(const std::string& rid, std::string_view body);
  void OnRuns(const std::string& rid, std::string_view body);
  void OnSchedules(const std::string& rid, std::string_view body);
  void OnPause(const std::string& rid, std::string_view body) { OnPauseResume(rid, body, true); }
  void OnResume(const std::string& rid, std::string_view body) { OnPauseResume(rid, body, false); }
  void OnPauseResume(const std::string& rid, std::string_view body, bool pause);
  void OnReload(const std::string& rid, std::string_view body);
  void OnRunStatus(const std::string& rid, std::uint64_t req, std::int64_t run_seq);
  void OnRunCancel(const std::string& rid, std::uint64_t req, std::int64_t run_seq);
  // `attempt`: a refused RESULT's job and attempt, carried in the ERROR.
  void ReplyError(const std::string& rid, std::uint64_t req, std::string_view code,
                  const std::string& message, const proto::JobAttempt* attempt = nullptr);
  // WORKERS, STATS, SCHEDULES: the body must be a map with a `req`. False
  // (and bad_request sent) when it is not.
  bool ReadReqOnly(const std::string& rid, std::uint8_t command, std::string_view body,
                   std::uint64_t* req);
  void ReplyJson(const std::string& rid, std::uint64_t req, nlohmann::json body);

  // --- lifecycle (lifecycle.cc): the rules.
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
  // The one place a job changes state (checked against the transition table).
  void SetState(Job& job, JobState to, std::int64_t now);
  // Arms the job's one timer (replacing any armed one); Disarm removes it.
  void ArmTimer(Job& job, TimerKind kind, std::int64_t due_ms);
  void DisarmTimer(Job& job);
  proto::SubmittedJob SubmitOne(const proto::JobSpec& spec, std::int64_t now);
  void Dispatch(std::int64_t now);
  void RecordResult(Worker& from, const proto::JobResult& r, std::int64_t now);
  // Ends the running attempt of `job` and moves the job on (done, retry,
  // dead). Invalidates `job` when it leaves memory.
  void EndAttempt(Job& job, const AttemptEnd& end, std::int64_t now);
  void AdoptRunning(Worker& w, const std::vector<proto::JobAttempt>& running, std::int64_t now);
  void Orphan(Job& job, std::int64_t now);
  void RemoveWorker(const std::string& rid, const std::string& why, std::int64_t now);
  void MakeQueued(Job& job, std::int64_t now, std::string_view last_error = {});
  void Enqueue(const Job& job);  // into the ready queues; dispatched this turn
  void MakeScheduled(Job& job, std::int64_t now, std::int64_t run_at_ms);
  // The concurrency key's slot of the job's current attempt (ConcurrencyGate):
  // taken when the attempt starts running; freed once the job has left that
  // attempt and no worker holds its lease.
  void HoldKey(const Job& job) { gate_.Hold(job.concurrency_key, {job.seq, job.attempt}); }
  void ReleaseKeyIfFree(std::int64_t seq, std::uint32_t attempt);
  void Forget(std::int64_t seq);                 // a job that became terminal
  Status RetryJob(std::int64_t seq, std::int64_t now);
  Status CancelJob(std::int64_t seq, std::int64_t now);
  void OnTimer(const Deadline& d, std::int64_t now);
  std::int64_t LeaseGraceMs() const { return 2LL * config_.heartbeat_ms; }
  std::int64_t OrphanGraceMs() const { return (config_.liveness + 2LL) * config_.heartbeat_ms; }

  // --- workflow runs (runs.cc)
  Status LoadWorkflows(std::int64_t now, bool startup);
  // Queued runs whose turn has come (e.g. after a restart) start.
  void StartQueuedRuns(std::int64_t now);
  Status ReloadRegistry(std::string* message);
  void InitCron(std::int64_t now, bool startup);
  void CronTick(std::int64_t now);
  void FireCron(const workflows::WorkflowDef& w, std::int64_t slot_ms, std::int64_t now);
  std::int64_t NextCronDueMs() const;
  Result<std::int64_t> StartRun(const workflows::WorkflowDef& w, const std::string& trigger,
                                const std::string& logical_date, std::optional<std::int64_t> slot_ms,
                                const std::map<std::string, std::string>& overrides, std::int64_t now);
  void TryStartQueued(const std::string& workflow, std::int64_t now);
  void SubmitReady(WorkflowRun& run, std::int64_t now);
  void ProcessRunEvents(std::int64_t now);
  void OnStageEnded(WorkflowRun& run, int stage, JobState state, std::int64_t now);
  // `failed_stage`: the stage whose end failed the run, named with its job's
  // last error in the run's alert.
  void FinishRun(WorkflowRun& run, RunPhase phase, std::int64_t now, const std::string& why,
                 const StageRun* failed_stage = nullptr);
  std::string LastErrorOf(std::int64_t job_seq);  // "" when unknown
  void PersistRun(WorkflowRun& run);
  void PersistStage(const WorkflowRun& run, int stage);
  Result<WorkflowRun*> FindRun(std::int64_t run_seq);  // loads a finished run into runs_
  void ForgetRunIfDone(std::int64_t run_seq);
  Status CancelRun(std::int64_t run_seq, std::int64_t now);
  void OnStageJobRetried(std::int64_t job_seq, std::int64_t now);
  nlohmann::json RunJson(const WorkflowRun& run, bool detail);
  nlohmann::json ScheduleJson(const workflows::WorkflowDef& w);
  void Alert(const std::string& title, const std::string& text);

  // --- queries (queries.cc)
  nlohmann::json JobJson(const JobRecord& r, bool detail) const;
  // The store does not hold running attempts: lay the live job's state and
  // its running attempt over what was read.
  void OverlayLive(JobRecord* r) const;
  std::string WaitingReason(const Job& job) const;

  // --- periodic tasks (periodic_tasks.cc)
  void Tick(std::int64_t now);
  void RunPeriodicTasks(std::int64_t now);
  std::int64_t NextTaskDueMs() const;

  BrokerConfig config_;
  const Clock* clock_;
  zmq::context_t ctx_;
  zmq::socket_t socket_;
  std::string bound_endpoint_;
  JobStore store_;
  std::unique_ptr<Checkpointer> checkpointer_;
  Wakeup wakeup_;

  std::unordered_map<std::int64_t, Job> live_;  // scheduled, queued, running
  // Workflows: the registry, runs that are unfinished (or have stage jobs
  // still live), which run each live stage job belongs to, job ends not yet
  // applied to their runs, cron's next slot per workflow, paused workflows.
  workflows::Registry registry_;
  RunStore run_store_;
  std::map<std::int64_t, WorkflowRun> runs_;
  std::unordered_map<std::int64_t, std::int64_t> run_of_job_;
  std::vector<std::pair<std::int64_t, JobState>> run_events_;
  std::map<std::string, std::int64_t> next_fire_;
  std::map<std::string, std::string> cron_text_;
  std::set<std::string> paused_;
  std::unique_ptr<AlertSender> alerts_;  // ALERT_WEBHOOK_URL; null when unset
  ReadyQueues ready_;
  TimerSet timers_;
  WorkerRegistry workers_;

  struct Outgoing {
    std::string rid;
    proto::Command cmd;
    std::string body;
    std::uint64_t req = 0;
  };
  std::vector<Outgoing> deferred_;
  std::string scratch_;  // reused encode buffer for immediate sends
  std::string extract_params_;  // an extract job's params as sent

  Status fatal_;
  int fatal_code_ = 0;  // SQLite's extended code when fatal_ was set
  // Degraded: the state database does not take writes (see the top).
  bool degraded_ = false;
  std::string degraded_why_;
  std::chrono::steady_clock::time_point next_probe_{};
  std::chrono::milliseconds probe_backoff_{0};
  struct HeldResult {
    std::string rid, body;
  };
  std::vector<HeldResult> held_results_;  // RESULTs received while degraded, not ACKed
  std::size_t held_bytes_ = 0;
  std::map<std::string, std::int64_t> cron_at_begin_;  // next_fire_ when the transaction opened
  bool txn_timed_ = false;
  std::chrono::steady_clock::time_point txn_opened_;
  bool dispatch_more_ = false;   // a worker may have credit and the queue jobs
  // After a restart with live jobs, dispatch waits this long so workers can
  // re-announce what they still run before anything is run twice.
  std::int64_t dispatch_hold_until_ms_ = 0;
  // The state was written by a version that did not write dispatches: a
  // job loaded as queued may be running (its attempt one more than stored).
  bool legacy_queued_ = false;
  std::int64_t started_ms_ = 0;
  std::mt19937_64 rng_;
  BrokerCounters counters_;
  StateCounts counts_;
  ConcurrencyGate gate_;
  ExtractRuns extract_;
  TaskStats retention_task_, checkpoint_task_;
  std::int64_t prune_cursor_ = 0;
};

}  // namespace sluice::broker
