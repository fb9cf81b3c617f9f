#include "broker/broker.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "broker/log.h"
#include "broker/service_notify.h"
#include "schemas/curve_cert.h"
#include "schemas/fault_vfs.h"
#include "schemas/wal_batch_vfs.h"
#include "schemas/job_id.h"
#include "schemas/protocol.h"
#include "schemas/utf8_scan.h"

namespace sluice::broker {

Broker::Broker(BrokerConfig config, const Clock* clock)
    : config_(std::move(config)), clock_(clock), ctx_(1), retention_(config_.retention_ms) {}

Broker::~Broker() {
  StopHttp();
  checkpointer_.reset();
  store_.Close();
}

Status Broker::Start() {
  started_ms_ = clock_->NowMs();
  if (!config_.state_vfs.empty() && config_.state_vfs == fault::kVfsName && !fault::Register())
    return Status::Internal("cannot register the SQLite VFS " + config_.state_vfs);
  // Commits written with one write(2) each (schemas/wal_batch_vfs.h).
  state_vfs_ = walbatch::Register(config_.state_vfs.empty() ? nullptr : config_.state_vfs.c_str());
  if (state_vfs_ == nullptr) return Status::Internal("cannot register the SQLite VFS over " + config_.state_vfs);
  Status s = store_.Open(config_.state_path, config_.sync, state_vfs_);
  if (!s.ok()) return s;
  if (AlertSenderConfig alerts = AlertSender::FromEnv(); !alerts.url.empty()) {
    alerts_ = std::make_unique<AlertSender>(alerts, clock_);
    Logf("alerts: failed runs and dead jobs are posted to ALERT_WEBHOOK_URL");
  }
  const std::int64_t now = clock_->NowMs();
  s = LoadState(now, /*startup=*/true);
  if (!s.ok()) return s;
  checkpointer_ = std::make_unique<Checkpointer>(config_.state_path, 1000);
  store_.SetWalGrowthListener([this] {
    if (checkpointer_) checkpointer_->Nudge();
  });

  curve::KeyPair own;
  if (!config_.curve_key_path.empty()) {
    auto keys = curve::ReadSecretCert(config_.curve_key_path);
    if (!keys.ok()) return keys.status();
    own = std::move(*keys);
    if (config_.authorized_dir.empty())
      return Status::InvalidArgument("--curve-key needs --authorized DIR (the peers' keys by role)");
    auto authorized = AuthorizedKeys::Load(config_.authorized_dir);
    if (!authorized.ok()) return authorized.status();
    authorized_ = std::move(*authorized);
    zap_ = std::make_unique<ZapHandler>(ctx_);
    s = zap_->Start(authorized_);
    if (!s.ok()) return s;
    Logf("CURVE on: the broker's key %s; authorized %s (%s)", own.public_z85.c_str(),
         config_.authorized_dir.c_str(), authorized_->Summary().c_str());
  }
  try {
    socket_ = zmq::socket_t(ctx_, zmq::socket_type::router);
    if (!own.secret_z85.empty()) {
      socket_.set(zmq::sockopt::curve_server, 1);
      socket_.set(zmq::sockopt::curve_secretkey, own.secret_z85);
      socket_.set(zmq::sockopt::zap_domain, "sluice");
    }
    socket_.set(zmq::sockopt::router_mandatory, 1);
    socket_.set(zmq::sockopt::maxmsgsize, proto::kMaxMessageBytes);
    socket_.set(zmq::sockopt::sndhwm, 200000);
    socket_.set(zmq::sockopt::rcvhwm, 200000);
    socket_.set(zmq::sockopt::linger, 1000);
    socket_.bind(config_.endpoint);
    bound_endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IOError("cannot bind " + config_.endpoint + ": " + e.what());
  }
  Logf("listening on %s", bound_endpoint_.c_str());
  // Workers can reach us only now: the grace for re-announcing what they
  // still run starts here, however long the load took.
  jobs_->OnListening(clock_->NowMs());
  retention_.Schedule(now + 10000);
  if (Status h = StartHttp(); !h.ok()) return h;
  return WriteEndpointFile();
}

Status Broker::LoadState(std::int64_t now, bool startup) {
  runs_.reset();
  notify_.clear();  // a rolled-back SUBMIT's seqs may be given out again
  LifecycleConfig lc;
  lc.retry = config_.retry;
  lc.default_timeout_ms = config_.default_timeout_ms;
  lc.heartbeat_ms = config_.heartbeat_ms;
  lc.liveness = config_.liveness;
  jobs_ = std::make_unique<JobLifecycle>(store_, hooks_, lc);
  jobs_->SetWritableCheck([this](std::int64_t t) { return Writable(t); });
  RestoreJobCounters();  // STATS and /metrics counters go on from what was committed
  runs_ = std::make_unique<RunManager>(store_, *jobs_, RunManagerConfig{config_.workflows_path, config_.verbose},
                                       [this](const std::string& title, const std::string& text) { Alert(title, text); });
  auto loaded = jobs_->Load(now, startup);
  if (!loaded.ok()) return loaded.status();
  Effects fx;
  // After the jobs: a catch-up fire submits jobs.
  Status s = runs_->Load(now, startup, &fx);
  if (!Apply(s, fx)) return fatal_;
  Logf("state %s: %zu scheduled, %zu queued, %zu running (awaiting re-adoption), next id %s",
       config_.state_path.c_str(), loaded->scheduled, loaded->queued, loaded->running,
       FormatJobId(store_.next_job_seq()).c_str());
  if (loaded->legacy)
    Logf("state written by an earlier version: dispatch waits %lld ms for workers to re-announce",
         static_cast<long long>(config_.liveness) * config_.heartbeat_ms);
  return Status::Ok();
}

Status Broker::WriteEndpointFile() {
  if (config_.endpoint_file.empty()) return Status::Ok();
  // Written whole or not at all: scripts poll for this file.
  std::string tmp = config_.endpoint_file + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << bound_endpoint_ << "\n";
    f.flush();
    if (!f) return Status::IOError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, config_.endpoint_file, ec);
  if (ec) return Status::IOError("cannot write " + config_.endpoint_file + ": " + ec.message());
  return Status::Ok();
}

bool Broker::Db(const Status& s) {
  if (!s.ok() && fatal_.ok()) {
    fatal_ = s;
    fatal_code_ = store_.last_error_code();
  }
  return s.ok();
}

bool Broker::Apply(const Status& s, Effects& fx) {
  Status st = s;
  if (st.ok() && (!fx.ended.empty() || (runs_->HasPendingEvents() && store_.in_transaction())))
    st = runs_->OnJobsEnded(clock_->NowMs(), &fx);
  for (Message& m : fx.send_now) {
    if (Worker* w = jobs_->workers().ByRoutingId(m.rid)) SendNow(*w, m.cmd, m.body);
    else SendTo(m.rid, m.cmd, m.body);
  }
  // JOBs of a failed transaction are never sent: their dispatch was not stored.
  if (st.ok()) {
    for (Message& m : fx.after_commit) Defer(m.rid, m.cmd, std::move(m.body));
    if (!notify_.empty())
      for (const auto& [seq, state] : fx.finished) NotifyEnded(seq, state);
  }
  fx = Effects();
  return Db(st);
}

void Broker::NotifyEnded(std::int64_t seq, JobState state) {
  auto it = notify_.find(seq);
  if (it == notify_.end()) return;
  DeferDone(it->second, FormatJobId(seq), state);
  notify_.erase(it);
}

void Broker::DeferDone(const std::string& rid, std::string job, JobState state) {
  std::string body;
  proto::Encode(proto::DoneMsg{std::move(job), state}, &body);
  Defer(rid, proto::Command::kDone, std::move(body));
}

void Broker::Alert(const std::string& title, const std::string& text) {
  if (config_.verbose) Logf("alert: %s", title.c_str());
  if (alerts_) alerts_->Enqueue(title, text);  // never blocks: a queue and a thread
}

// ---- the state database's health ------------------------------------------

namespace {

constexpr std::chrono::milliseconds kFirstProbe{100};
constexpr std::chrono::milliseconds kMaxProbe{2000};
// RESULTs held while degraded, at most (beyond: dropped unacknowledged; the
// worker keeps them and sends them again after its next READY).
constexpr std::size_t kMaxHeldResultBytes = 64u << 20;

// Errors a later try may clear: a lock, a full disk, an I/O error, memory.
// Anything else (corruption, a file that is not a database, a bug) stops
// the broker.
bool Transient(int sqlite_code) {
  switch (sqlite_code & 0xff) {
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_FULL: case SQLITE_IOERR:
    case SQLITE_NOMEM: case SQLITE_READONLY: case SQLITE_CANTOPEN: case SQLITE_PROTOCOL:
    case SQLITE_CONSTRAINT:  // the commit hook refused a write that would have committed alone
      return true;
    default:
      return false;
  }
}

std::string Cause(int sqlite_code, const std::string& message) {
  switch (sqlite_code & 0xff) {
    case SQLITE_FULL: return "the disk is full (" + message + ")";
    case SQLITE_BUSY: case SQLITE_LOCKED: return "another process holds its lock (" + message + ")";
    case SQLITE_IOERR: return "an I/O error (" + message + ")";
    default: return message;
  }
}

}  // namespace

std::string Broker::DegradedMessage() const {
  return "the state database does not take writes: " + degraded_why_ +
         "; not accepting changes until it does (the broker retries by itself)";
}

bool Broker::Writable(std::int64_t now) {
  if (store_.in_transaction()) return true;
  if (!fatal_.ok()) return false;
  if (degraded_) {
    if (std::chrono::steady_clock::now() < next_probe_) return false;
    Status p = store_.Probe();
    if (!p.ok()) {
      const int code = store_.last_error_code();
      degraded_why_ = Cause(code, p.message());
      probe_backoff_ = std::min(probe_backoff_ * 2, kMaxProbe);
      next_probe_ = std::chrono::steady_clock::now() + probe_backoff_;
      return false;
    }
  }
  Status s = store_.Begin();
  if (!s.ok()) {
    EnterDegraded(Cause(store_.last_error_code(), s.message()));
    return false;
  }
  cron_at_begin_ = runs_->cron_slots();
  if (degraded_) LeaveDegraded(now);
  return fatal_.ok();
}

void Broker::EnterDegraded(const std::string& why) {
  if (!degraded_) Logf("state database: %s; degraded: refusing changes, serving queries", why.c_str());
  degraded_ = true;
  degraded_why_ = why;
  probe_backoff_ = kFirstProbe;
  next_probe_ = std::chrono::steady_clock::now() + probe_backoff_;
}

void Broker::LeaveDegraded(std::int64_t now) {
  degraded_ = false;
  Logf("state database takes writes again; %zu held results to record", held_results_.size());
  jobs_->RequestDispatch();
  Effects fx;
  Apply(runs_->StartQueuedRuns(now, &fx), fx);
  std::vector<HeldResult> held;
  held.swap(held_results_);
  held_bytes_ = 0;
  for (const HeldResult& h : held) {
    OnResult(h.rid, h.body);
    if (!fatal_.ok()) break;  // handled by the caller's failure check
  }
}

Status Broker::OnStoreFailure(const Status& s, int sqlite_code, std::int64_t now) {
  counters_.store_failures++;
  if (!Transient(sqlite_code)) return s;
  const std::string why = Cause(sqlite_code, s.message());
  Logf("state database write failed: %s; rolling back and reloading the state", why.c_str());
  // What that transaction would have acknowledged is refused; ACKs and JOBs
  // of it are dropped (the workers are told to re-announce themselves).
  std::vector<Outgoing> deferred;
  deferred.swap(deferred_);
  for (Outgoing& o : deferred) {
    if (o.cmd == proto::Command::kReply) {
      proto::ErrorMsg e{o.req, std::string(proto::err::kInternal),
                        ("nothing of this request was stored: the state database failed: " + why)
                            .substr(0, proto::kMaxErrorBytes)};
      std::string body;
      proto::Encode(e, &body);
      SendTo(o.rid, proto::Command::kError, body);
    } else if (o.cmd == proto::Command::kError) {
      SendTo(o.rid, o.cmd, o.body);
    }
  }
  jobs_->workers().ForEach([&](Worker& w) {
    std::string body;
    proto::Encode(proto::Bye{"the broker reloads its state; announce yourself again"}, &body);
    SendNow(w, proto::Command::kBye, body);
  });
  // A restart in place: the store reopened, every memory of jobs, workers
  // and runs rebuilt from what is stored.
  store_.Rollback();
  store_.Close();
  Status o = store_.Open(config_.state_path, config_.sync, state_vfs_);
  if (!o.ok()) return Status::IOError("cannot reopen the state database after a failed write: " + o.message());
  const std::map<std::string, std::int64_t> cron = cron_at_begin_;
  txn_timed_ = false;
  fatal_ = Status::Ok();
  fatal_code_ = 0;
  Status l = LoadState(now, /*startup=*/false);  // a new lifecycle and run manager
  if (!l.ok()) return l;
  if (!cron.empty()) runs_->RestoreCronSlots(cron);  // slots that fired in the lost transaction fire again
  EnterDegraded(why);
  return Status::Ok();
}

void Broker::RefuseWrite(const std::string& rid, std::uint8_t command, std::string_view body) {
  counters_.refused_degraded++;
  switch (static_cast<proto::Command>(command)) {
    case proto::Command::kResult: {
      if (jobs_->workers().ByRoutingId(rid) == nullptr) return OnResult(rid, body);  // unknown_worker
      if (held_bytes_ + body.size() > kMaxHeldResultBytes) return;          // kept by the worker
      held_bytes_ += body.size();
      held_results_.push_back({rid, std::string(body)});
      return;
    }
    case proto::Command::kBye:
      return OnBye(rid, body);  // RemoveWorker orphans instead of writing
    default:
      return ReplyError(rid, proto::PeekReq(body), proto::err::kInternal, DegradedMessage());
  }
}

Status Broker::Run(const std::atomic<bool>& stop) {
  bool stop_requested = false;
  while (!stop.load() && !stop_requested) {
    Status s = Turn(&stop_requested);
    if (!s.ok()) {
      Logf("FATAL: %s; stopping without acknowledging uncommitted work", s.ToString().c_str());
      return s;
    }
  }
  // Shutdown: everything handled so far is committed and answered; workers
  // keep what they run and re-announce it to the next broker.
  Status s = CommitIfDue(true);
  if (!s.ok()) return s;
  if (!fatal_.ok()) return fatal_;
  // The file says which seq comes next (a restart would work it out from
  // the jobs anyway); a failure here loses nothing.
  if (Status seq = store_.SaveNextSeq(); !seq.ok() && !degraded_)
    Logf("could not record the next job seq at shutdown: %s", seq.ToString().c_str());
  jobs_->workers().ForEach([&](Worker& w) {
    std::string body;
    proto::Encode(proto::Bye{"broker shutting down"}, &body);
    SendNow(w, proto::Command::kBye, body);
  });
  StopHttp();
  checkpointer_.reset();
  store_.Close();
  Logf("stopped cleanly");
  return Status::Ok();
}

int Broker::PollTimeoutMs(std::int64_t now) {
  if (!deferred_.empty() && !store_.in_transaction()) return 0;
  // While degraded, work that writes (timers, dispatch, cron, retention)
  // waits for the next probe, not for its own due time.
  std::int64_t probe_ms = 0;
  if (degraded_) {
    probe_ms = now + std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   next_probe_ - std::chrono::steady_clock::now()).count());
  }
  auto writes_at = [&](std::int64_t due_ms) { return degraded_ ? std::max(due_ms, probe_ms) : due_ms; };
  if (jobs_->WantsDispatch(now) && !degraded_) return 0;
  std::int64_t due = now + config_.heartbeat_ms;
  if (degraded_) due = std::min(due, probe_ms);
  if (store_.in_transaction()) {
    // Wake for the group commit (rounded up: never spin for a fraction of a ms).
    auto left = config_.commit_interval_us -
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - txn_opened_).count();
    if (left <= 0) return 0;
    due = std::min<std::int64_t>(due, now + (left + 999) / 1000);
  }
  due = std::min(due, writes_at(jobs_->NextDueMs(now)));
  due = std::min(due, writes_at(retention_.next_ms()));
  due = std::min(due, writes_at(runs_->NextCronDueMs()));
  jobs_->workers().ForEach([&](Worker& w) {
    due = std::min(due, w.last_sent_ms + w.heartbeat_ms);
    due = std::min(due, w.last_seen_ms + static_cast<std::int64_t>(config_.liveness) * w.heartbeat_ms + 1);
  });
  return static_cast<int>(std::clamp<std::int64_t>(due - now, 0, 1000));
}

Status Broker::Turn(bool* stop_requested) {
  zmq_pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, wakeup_.fd(), ZMQ_POLLIN, 0}};
  int rc = zmq_poll(items, wakeup_.fd() >= 0 ? 2 : 1, PollTimeoutMs(clock_->NowMs()));
  if (rc > 0 && (items[1].revents & ZMQ_POLLIN)) wakeup_.Drain();
  if (rc < 0) {
    if (errno == EINTR) {
      *stop_requested = false;  // the signal handler sets the stop flag
      return Status::Ok();
    }
    return Status::Internal(std::string("zmq_poll: ") + zmq_strerror(errno));
  }
  std::int64_t now = clock_->NowMs();
  proto::Incoming in;
  proto::FrameError ferr;
  bool drained = false;  // a receive found nothing: no need to ask ZMQ_EVENTS (a syscall)
  for (int i = 0; i < config_.max_messages_per_turn; ++i) {
    bool got;
    try {
      got = proto::ReceiveMessage(socket_, true, &in, &ferr);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) break;
      return Status::Internal(std::string("recv: ") + e.what());
    }
    if (!got) {
      drained = true;
      break;
    }
    switch (ferr) {
      case proto::FrameError::kNone:
        // A peer that names itself as an HTTP request would have its
        // replies go to the status page: dropped.
        if (ApiMailbox::IsMailboxId(in.routing_id)) {
          counters_.bad_messages++;
          break;
        }
        Handle(in);
        break;
      case proto::FrameError::kGarbage:
        counters_.bad_messages++;
        if (config_.verbose) Logf("dropped a malformed message (%zu frames)", in.frames.size());
        break;
      case proto::FrameError::kVersion: {
        counters_.bad_messages++;
        proto::ErrorMsg e{0, std::string(proto::err::kVersion),
                          "unsupported protocol version; this broker speaks " +
                              std::string(proto::kProtocol)};
        std::string body;
        proto::Encode(e, &body);
        Defer(in.routing_id, proto::Command::kError, std::move(body));
        break;
      }
      case proto::FrameError::kUnknownCommand:
        counters_.bad_messages++;
        ReplyError(in.routing_id, proto::PeekReq(in.body), proto::err::kUnknownCommand,
                   "unknown command 0x" + [&] {
                     char b[4];
                     std::snprintf(b, sizeof b, "%02x", in.command);
                     return std::string(b);
                   }());
        break;
    }
    if (!fatal_.ok()) {
      Status s = OnStoreFailure(fatal_, fatal_code_, clock_->NowMs());
      if (!s.ok()) return s;
    }
  }
  // Drained: commit now rather than wait out the group-commit window.
  if (!drained) drained = !(socket_.get(zmq::sockopt::events) & ZMQ_POLLIN);
  now = clock_->NowMs();
  Tick(now);
  if (api_ && api_->pending()) ServeApi();
  if (config_.reload_requested && config_.reload_requested->exchange(false)) {
    std::string message;
    NotifyReloading();  // systemd: `systemctl reload` returns once READY=1 follows
    (void)runs_->Reload(now, &message);  // logged; a bad file keeps the old registry
    (void)ReloadAuthorized(now, &message);  // likewise
    NotifyReady();
  }
  Effects fx;
  // A slot fires with a write; while writes fail it waits (and fires late).
  if (fatal_.ok() && runs_->CronDue(now) && Writable(now)) Apply(runs_->CronTick(now, &fx), fx);
  // Stage ends loaded from the store, applied once writes work.
  if (fatal_.ok() && runs_->HasPendingEvents() && Writable(now)) Apply(Status::Ok(), fx);
  if (fatal_.ok() && jobs_->WantsDispatch(now)) Apply(jobs_->Dispatch(now, &fx), fx);
  if (!fatal_.ok()) {
    Status s = OnStoreFailure(fatal_, fatal_code_, clock_->NowMs());
    if (!s.ok()) return s;
  }
  Status s = CommitIfDue(drained);
  if (!s.ok()) return s;
  PublishMetricsIfDue();
  if (!fatal_.ok()) return OnStoreFailure(fatal_, fatal_code_, clock_->NowMs());
  return Status::Ok();
}

Status Broker::CommitIfDue(bool force) {
  const auto steady_now = std::chrono::steady_clock::now();
  if (store_.in_transaction()) {
    if (!txn_timed_) {
      txn_timed_ = true;
      txn_opened_ = steady_now;
    }
    // Group commit: changes gather for up to commit_interval_us, and their
    // replies wait for the commit that makes them durable.
    const auto age = std::chrono::duration_cast<std::chrono::microseconds>(steady_now - txn_opened_).count();
    if (!force && age < config_.commit_interval_us) return Status::Ok();
    SaveJobCounters();
    Status s = store_.Commit();
    commit_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_now).count());
    if (!s.ok()) {
      const int code = store_.last_error_code();
      txn_timed_ = false;
      return OnStoreFailure(s, code, clock_->NowMs());
    }
    txn_timed_ = false;
    counters_.commits++;
  }
  FlushDeferred();
  return Status::Ok();
}

void Broker::Handle(proto::Incoming& in) {
  if (!Permitted(in)) return;
  if (Worker* w = jobs_->workers().ByRoutingId(in.routing_id)) w->last_seen_ms = clock_->NowMs();
  Dispatch(in.routing_id, in.command, in.body, /*from_http=*/false);
}

void Broker::Dispatch(const std::string& rid, std::uint8_t command, std::string_view body, bool from_http) {
  using C = proto::Command;
  using Handler = void (Broker::*)(const std::string&, std::string_view);
  struct Entry {
    Handler handler;
    bool writes;  // needs the state database to take writes
  };
  // The dispatch table: command -> thin handler. Broker-to-peer commands
  // (JOB, CANCEL, ACK, REPLY, ERROR) are refused.
  static const std::unordered_map<std::uint8_t, Entry> kTable = {
      {static_cast<std::uint8_t>(C::kReady), {&Broker::OnReady, false}},
      {static_cast<std::uint8_t>(C::kHeartbeat), {&Broker::OnHeartbeat, false}},
      {static_cast<std::uint8_t>(C::kResult), {&Broker::OnResult, true}},
      {static_cast<std::uint8_t>(C::kBye), {&Broker::OnBye, true}},
      {static_cast<std::uint8_t>(C::kSubmit), {&Broker::OnSubmit, true}},
      {static_cast<std::uint8_t>(C::kStatus), {&Broker::OnStatus, false}},
      {static_cast<std::uint8_t>(C::kList), {&Broker::OnList, false}},
      {static_cast<std::uint8_t>(C::kRetry), {&Broker::OnRetry, true}},
      {static_cast<std::uint8_t>(C::kCancelJob), {&Broker::OnCancelJob, true}},
      {static_cast<std::uint8_t>(C::kWorkers), {&Broker::OnWorkers, false}},
      {static_cast<std::uint8_t>(C::kStats), {&Broker::OnStats, false}},
      {static_cast<std::uint8_t>(C::kExtractions), {&Broker::OnExtractions, false}},
      {static_cast<std::uint8_t>(C::kRun), {&Broker::OnRun, true}},
      {static_cast<std::uint8_t>(C::kRuns), {&Broker::OnRuns, false}},
      {static_cast<std::uint8_t>(C::kSchedules), {&Broker::OnSchedules, false}},
      {static_cast<std::uint8_t>(C::kPause), {&Broker::OnPause, true}},
      {static_cast<std::uint8_t>(C::kResume), {&Broker::OnResume, true}},
      {static_cast<std::uint8_t>(C::kReload), {&Broker::OnReload, true}},
  };
  const bool client = command >= static_cast<std::uint8_t>(C::kSubmit) && command <= static_cast<std::uint8_t>(C::kReload);
  auto it = kTable.find(command);
  // /api asks only a client's read-only requests: the page changes nothing.
  if (from_http && (it == kTable.end() || it->second.writes || !client))
    return ReplyError(rid, 0, proto::err::kUnknownCommand, "not a read-only request");
  if (it == kTable.end()) {
    counters_.bad_messages++;
    ReplyError(rid, proto::PeekReq(body), proto::err::kUnknownCommand,
               std::string("command ") + proto::CommandName(command) + " is not accepted by the broker");
    return;
  }
  // What a client submits (and /api's query text) is UTF-8 throughout
  // (PROTOCOL.md §2.1); what a worker reports is repaired by its decoder.
  if (client) {
    Status utf8 = proto::FindIllFormedUtf8(body, proto::CommandName(command));
    if (!utf8.ok()) {
      if (!from_http) counters_.bad_messages++;
      return ReplyError(rid, proto::PeekReq(body), proto::err::kBadRequest, utf8.message());
    }
  }
  if (it->second.writes && !Writable(clock_->NowMs())) return RefuseWrite(rid, command, body);
  (this->*(it->second.handler))(rid, body);
}

bool Broker::Permitted(const proto::Incoming& in) {
  peer_name_.clear();
  peer_key_.clear();
  if (!authorized_) return true;  // no CURVE: loopback only, every peer may send everything
  const AuthorizedKey* key = authorized_->Find(in.user_id);
  const char* command = proto::CommandName(in.command);
  if (key == nullptr) {
    counters_.forbidden++;
    ReplyError(in.routing_id, proto::PeekReq(in.body), proto::err::kForbidden,
               "this key is not authorized (any more): " + in.user_id);
    return false;
  }
  if (!RolesAllow(key->roles, in.command)) {
    counters_.forbidden++;
    ReplyError(in.routing_id, proto::PeekReq(in.body), proto::err::kForbidden,
               "key '" + key->name + "' (" + RolesText(key->roles) + ") may not send " +
                   (command ? command : "this command"));
    return false;
  }
  peer_name_ = key->name;
  peer_key_ = in.user_id;
  return true;
}

bool Broker::ReloadAuthorized(std::int64_t now, std::string* message) {
  if (!authorized_) return true;
  auto loaded = AuthorizedKeys::Load(config_.authorized_dir);
  if (!loaded.ok()) {
    *message = "authorized keys not reloaded (the old ones stay): " + loaded.status().message();
    Logf("%s", message->c_str());
    return false;
  }
  authorized_ = std::move(*loaded);
  zap_->SetKeys(authorized_);
  Logf("authorized keys reloaded from %s (%s)", config_.authorized_dir.c_str(), authorized_->Summary().c_str());
  // Connected workers whose key lost the worker role: gone now, their jobs
  // re-queued (their next message gets `forbidden`).
  std::vector<std::pair<std::string, std::string>> revoked;  // routing id, key name
  jobs_->workers().ForEach([&](Worker& w) {
    const AuthorizedKey* k = authorized_->Find(w.key);
    if (k == nullptr || !(k->roles & kRoleWorker)) revoked.emplace_back(w.routing_id, w.key_name);
  });
  Effects fx;
  for (const auto& [rid, name] : revoked) {
    Logf("worker key '%s' is no longer authorized: its worker is removed", name.c_str());
    if (Writable(now)) Apply(jobs_->RemoveWorker(rid, "its key '" + name + "' is no longer authorized", now, &fx), fx);
  }
  return true;
}

bool Broker::SendNow(Worker& w, proto::Command cmd, std::string_view body) {
  w.last_sent_ms = clock_->NowMs();
  return proto::SendMessage(socket_, w.routing_id, cmd, body);
}

bool Broker::SendTo(const std::string& rid, proto::Command cmd, std::string_view body) {
  if (api_ && ApiMailbox::IsMailboxId(rid)) {
    api_->Deliver(rid, cmd, body);
    return true;
  }
  return proto::SendMessage(socket_, rid, cmd, body);
}

void Broker::Defer(const std::string& rid, proto::Command cmd, std::string body, std::uint64_t req) {
  deferred_.push_back({rid, cmd, std::move(body), req});
}

void Broker::FlushDeferred() {
  // A job's latency runs through the JOB and the DONE: JOBs go out first,
  // then replies and DONEs in the order they were made (a DONE never passes
  // the reply that named its job), then the ACKs, gathered per worker into
  // one message each (a worker only drops what it keeps for a resend).
  std::vector<std::string> gone;
  for (auto& o : deferred_) {
    if (o.cmd != proto::Command::kJob) continue;
    // The attempt is written; a worker that vanished since loses it.
    Worker* w = jobs_->workers().ByRoutingId(o.rid);
    if (w != nullptr) w->last_sent_ms = clock_->NowMs();
    if (!SendTo(o.rid, o.cmd, o.body)) gone.push_back(o.rid);
  }
  for (auto& o : deferred_) {
    if (o.cmd == proto::Command::kJob) continue;
    if (!SendTo(o.rid, o.cmd, o.body) && config_.verbose)
      Logf("reply to a vanished peer dropped (%s)", proto::CommandName(static_cast<std::uint8_t>(o.cmd)));
  }
  deferred_.clear();
  jobs_->workers().ForEach([&](Worker& w) {
    if (w.pending_acks.empty()) return;
    std::string body;
    proto::Ack ack;
    ack.acks.swap(w.pending_acks);
    proto::Encode(ack, &body);
    SendNow(w, proto::Command::kAck, body);
  });
  for (const auto& rid : gone) {
    Effects fx;
    Apply(jobs_->RemoveWorker(rid, "worker unreachable", clock_->NowMs(), &fx), fx);
  }
}

// ---- time-driven work -----------------------------------------------------------

void Broker::Tick(std::int64_t now) {
  // Timers write (a retry queued, a lease or orphan ended): they wait while
  // the state database does not take writes.
  if (degraded_) (void)Writable(now);  // the probe: held results are recorded once it succeeds
  Effects fx;
  if (jobs_->TimerDue(now) && fatal_.ok() && Writable(now)) Apply(jobs_->OnTimer(now, &fx), fx);

  std::vector<std::pair<std::string, std::int64_t>> silent;
  jobs_->workers().ForEach([&](Worker& w) {
    const std::int64_t limit = static_cast<std::int64_t>(config_.liveness) * w.heartbeat_ms;
    if (now - w.last_seen_ms > limit) {
      silent.emplace_back(w.routing_id, now - w.last_seen_ms);
    } else if (now - w.last_sent_ms >= w.heartbeat_ms) {
      SendNow(w, proto::Command::kHeartbeat, {});
    }
  });
  for (const auto& [rid, ms] : silent)
    Apply(jobs_->RemoveWorker(rid, "no heartbeat for " + std::to_string(ms) + " ms", now, &fx), fx);

  if (retention_.Due(now) && fatal_.ok() && Writable(now)) {
    JobStore::PrunedCounts by_queue;
    const std::int64_t before = retention_.pruned();
    if (Db(retention_.Run(now, store_, runs_->run_store(), &by_queue))) {
      jobs_->OnPruned(by_queue);
      if (retention_.pruned() > before && config_.verbose)
        Logf("retention: pruned %lld finished jobs", static_cast<long long>(retention_.pruned() - before));
    }
  }
}

}  // namespace sluice::broker
