// Broker: the single-threaded event loop at the heart of sluice-broker.
//
// The broker keeps the socket, the loop, the command table and
// commit-then-send. The rules live in two collaborators that know nothing
// of sockets: JobLifecycle (job_lifecycle.h: submit, dispatch, results,
// retries, timeouts, cancels, workers' leases) and RunManager
// (run_manager.h: workflow runs, their DAGs, cron). A message's path is one
// chain: command handler -> lifecycle (or runs) -> Effects -> Apply (ended
// jobs to the runs; CANCELs now; JOBs deferred) -> commit -> send.
//
// One turn of the loop:
//   1. poll the ROUTER socket and the wakeup fd until the next deadline
//      (timers, heartbeats, cron, retention) or 0 when work is pending;
//   2. handle every waiting message (up to max_messages_per_turn): state
//      changes go into the store's open transaction; replies, ACKs and JOBs
//      are deferred;
//   3. Tick(now): due timers, silent workers, heartbeats, retention; cron;
//   4. dispatch queued jobs to workers with free slots (the dispatch is
//      written, its JOB deferred);
//   5. commit (when the input is drained, or the transaction is
//      commit_interval_us old); then send what was deferred, so nothing is
//      acknowledged, and no attempt started, before it is durable.
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
// The files: broker.cc (loop, sockets, the store's health), commands.cc
// (the dispatch table of thin handlers and their answers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include <nlohmann/json.hpp>

#include "broker/alert_sender.h"
#include "broker/authorized_keys.h"
#include "broker/checkpointer.h"
#include "broker/clock.h"
#include "broker/api_mailbox.h"
#include "broker/http_api.h"
#include "broker/http_server.h"
#include "broker/latency_histogram.h"
#include "broker/job_lifecycle.h"
#include "broker/job_store.h"
#include "broker/kind_hook_table.h"
#include "broker/prefetch_window.h"
#include "broker/retention.h"
#include "broker/run_manager.h"
#include "broker/wakeup.h"
#include "broker/zap_handler.h"
#include "pipeline/retry_policy.h"
#include "schemas/envelope.h"
#include "schemas/messages.h"
#include "schemas/replies.h"
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
  // Group commit: the loop commits as soon as its input is drained (what
  // arrives during a commit shares the next one, so an idle broker never
  // waits on a timer); under a steady stream, at the latest when the open
  // transaction is this old (0: every loop turn).
  std::int64_t commit_interval_us = 1000;
  // Adaptive prefetch (broker/prefetch_window.h): the work, in us at its
  // recent pace, an adaptive worker may hold beyond its slots.
  std::int64_t prefetch_target_us = PrefetchWindow::kTargetUs;
  bool verbose = false;
  std::string workflows_path;             // the registry (TOML); empty: no workflows
  std::string state_vfs;                  // SQLite VFS of the state DB (tests: fault_vfs.h); empty: default
  // CURVE (broker/zap_handler.h): the broker's own .key, and the folder of
  // authorized peers' .pub files by role (broker/authorized_keys.h). Empty:
  // no encryption, no keys, every peer may send every command; main.cc then
  // allows only loopback endpoints (broker/bind_policy.h) unless --insecure.
  std::string curve_key_path;
  std::string authorized_dir;
  // HTTP (broker/http_server.h): /metrics. `http_required`: --http was
  // given (or SLUICE_HTTP): a failure to listen stops the start; the
  // default address, when busy, only costs a warning.
  HttpListen http;
  bool http_required = false;
  std::string http_token;  // non-empty: every request needs it (Bearer)
  // Set (e.g. by SIGHUP) to have the loop reload the registry (and the
  // authorized keys); not owned.
  std::atomic<bool>* reload_requested = nullptr;
};


// Monotonic counters of the loop itself, reported by STATS beside the
// lifecycle's (JobCounters) and the runs' (RunCounters).
struct LoopCounters {
  std::int64_t bad_messages = 0, commits = 0, store_failures = 0, refused_degraded = 0;
  std::int64_t forbidden = 0;  // messages outside their key's role, or from a removed key
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
  // `force`), then sends the deferred replies and JOBs.
  Status CommitIfDue(bool force);
  int PollTimeoutMs(std::int64_t now);
  void Handle(proto::Incoming& in);
  // The command table: `command` to its handler, after the UTF-8 and
  // writability checks. `from_http` (/api, through the mailbox): only a
  // client's read-only requests, and a refusal is not a bad message.
  void Dispatch(const std::string& rid, std::uint8_t command, std::string_view body, bool from_http);
  bool SendNow(Worker& w, proto::Command cmd, std::string_view body);
  bool SendTo(const std::string& rid, proto::Command cmd, std::string_view body);
  // `req`: for a REPLY, the request it answers (it becomes an ERROR when
  // the transaction it acknowledges fails).
  void Defer(const std::string& rid, proto::Command cmd, std::string body, std::uint64_t req = 0);
  void FlushDeferred();
  Status WriteEndpointFile();
  // Takes what a lifecycle or run call did: the ended jobs go to the runs
  // (which may submit more), CANCELs go out now, JOBs after the commit. A
  // failed `s` is a failed store write: the loop recovers (or stops) at the
  // end of the message. Returns s.ok().
  bool Apply(const Status& s, Effects& fx);
  // Records a failed store write, as Apply does.
  bool Db(const Status& s);
  void Tick(std::int64_t now);  // timers, silent workers, heartbeats, retention
  // --- HTTP (broker_metrics.cc): what /metrics serves, built on the loop
  // and published to the HTTP threads about once a second.
  Status StartHttp();
  // Closes the mailbox (an HTTP thread waiting for the loop returns at
  // once), then stops the server.
  void StopHttp();
  // Answers what the HTTP threads asked (/api) through Dispatch: the same
  // handlers as a client's, their replies going back through SendTo.
  void ServeApi();
  void PublishMetricsIfDue();
  std::string MetricsText() const;
  // The lifecycle's event counters (STATS `counters`) survive restarts:
  // loaded from the state database's metric_counters at LoadState, and
  // their growth written there in every commit (sluice_job_events_total).
  void RestoreJobCounters();
  void SaveJobCounters();
  // Re-reads --authorized (SIGHUP, RELOAD). A folder that does not load
  // keeps the old keys (false, `message` says why). Workers whose key lost
  // the worker role are removed: their jobs are re-queued.
  bool ReloadAuthorized(std::int64_t now, std::string* message);
  // With CURVE: false (and `forbidden` answered) when the message's key is
  // not authorized, or its roles do not allow the command. Sets peer_name_.
  bool Permitted(const proto::Incoming& in);

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
  // Builds the lifecycle and the run manager from what is stored.
  Status LoadState(std::int64_t now, bool startup);
  // Refuses (or holds, for a RESULT) a message that needs a write while
  // the state database is not writable.
  void RefuseWrite(const std::string& rid, std::uint8_t command, std::string_view body);
  std::string DegradedMessage() const;
  void Alert(const std::string& title, const std::string& text);

  // --- commands (commands.cc): decode, call the lifecycle or the runs, answer.
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
  // Decodes a client request with its codec (schemas/requests.h). False,
  // and bad_request sent with the decoder's message, when it is refused;
  // `count`: the refusal counts as a bad message.
  template <typename Request>
  bool ReadRequest(const std::string& rid, std::string_view body, Request* m, bool count = false);
  // Encodes a typed reply (schemas/replies.h) and sends it.
  template <typename Reply>
  void SendReply(const std::string& rid, const Reply& m);
  // A job as read from the store with its live state laid over.
  proto::JobView LiveJobView(JobRecord& r, bool detail);

  BrokerConfig config_;
  const char* state_vfs_ = nullptr;  // the VFS the state DB is opened with (over config_.state_vfs)
  const Clock* clock_;
  zmq::context_t ctx_;
  std::unique_ptr<ZapHandler> zap_;  // with CURVE; before socket_, after ctx_
  std::shared_ptr<const AuthorizedKeys> authorized_;
  // The key (Z85) and its name of the message being handled ("" without CURVE).
  std::string peer_key_, peer_name_;
  zmq::socket_t socket_;
  std::string bound_endpoint_;
  JobStore store_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::unique_ptr<ApiMailbox> api_;
  std::unique_ptr<HttpApi> http_api_;
  std::unique_ptr<HttpServer> http_;
  std::chrono::steady_clock::time_point metrics_published_{};
  LatencyHistogram commit_seconds_;  // each commit's wall time
  JobCounters saved_job_counters_;   // as last handed to the store's metrics
  Wakeup wakeup_;
  KindHookTable hooks_;
  // Rebuilt from the store after a failed write (LoadState).
  std::unique_ptr<JobLifecycle> jobs_;
  std::unique_ptr<RunManager> runs_;
  std::unique_ptr<AlertSender> alerts_;  // ALERT_WEBHOOK_URL; null when unset
  Retention retention_;

  struct Outgoing {
    std::string rid;
    proto::Command cmd;
    std::string body;
    std::uint64_t req = 0;
  };
  std::vector<Outgoing> deferred_;

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
  // SUBMIT `notify`: job seq -> the connection to tell (DONE) when it ends.
  // Memory only, at most kMaxNotify; cleared when the state is reloaded.
  std::unordered_map<std::int64_t, std::string> notify_;
  static constexpr std::size_t kMaxNotify = 1000000;
  // DONE for `seq` to whoever asked, after the commit that records its end.
  void NotifyEnded(std::int64_t seq, JobState state);
  // DONE {job, state} to `rid`, after the commit.
  void DeferDone(const std::string& rid, std::string job, JobState state);
  std::size_t held_bytes_ = 0;
  std::map<std::string, std::int64_t> cron_at_begin_;  // cron's slots when the transaction opened
  bool txn_timed_ = false;
  std::chrono::steady_clock::time_point txn_opened_;
  std::int64_t started_ms_ = 0;
  LoopCounters counters_;
};

}  // namespace sluice::broker
