#include "broker/broker.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "broker/log.h"
#include "schemas/protocol.h"

namespace sluice::broker {

Broker::Broker(BrokerConfig config, const Clock* clock)
    : config_(std::move(config)), clock_(clock), ctx_(1), rng_(std::random_device{}()) {}

Broker::~Broker() {
  checkpointer_.reset();
  store_.Close();
}

Status Broker::Start() {
  started_ms_ = clock_->NowMs();
  Status s = store_.Open(config_.state_path, config_.sync);
  if (!s.ok()) return s;
  s = extract_.Prepare(store_.db());
  if (!s.ok()) return s;
  const std::int64_t now = clock_->NowMs();
  std::size_t n_sched = 0, n_queued = 0, n_running = 0;
  s = store_.LoadLive([&](Job&& j) {
    j.gen = 1;
    Job& job = live_[j.seq] = std::move(j);
    switch (job.state) {
      case JobState::kScheduled:
        ArmTimer(job, TimerKind::kRunAt, job.run_at_ms);
        ++n_sched;
        break;
      case JobState::kQueued:
        ready_.Push(job.queue, job.kind, {job.priority, job.seq, job.gen});
        ++n_queued;
        break;
      case JobState::kRunning:
        // Its worker, if alive, re-announces it in READY; else it is lost.
        job.worker.clear();
        if (!job.concurrency_key.empty()) gate_.Started(job.concurrency_key);
        ArmTimer(job, TimerKind::kOrphan, now + OrphanGraceMs());
        ++n_running;
        break;
      default:
        break;
    }
  });
  if (!s.ok()) return s;
  s = store_.CountByQueueAndState(
      [&](const std::string& q, JobState st, std::int64_t n) { counts_.Add(q, st, n); });
  if (!s.ok()) return s;
  if (AlertSenderConfig alerts = AlertSender::FromEnv(); !alerts.url.empty()) {
    alerts_ = std::make_unique<AlertSender>(alerts);
    Logf("alerts: failed runs and dead jobs are posted to ALERT_WEBHOOK_URL");
  }
  s = LoadWorkflows(now);  // after the counts: a catch-up fire submits jobs
  if (!s.ok()) return s;
  Logf("state %s: %zu scheduled, %zu queued, %zu running (awaiting re-adoption), next id j%lld",
       config_.state_path.c_str(), n_sched, n_queued, n_running,
       static_cast<long long>(store_.next_job_seq()));
  checkpointer_ = std::make_unique<Checkpointer>(config_.state_path, 1000);

  try {
    socket_ = zmq::socket_t(ctx_, zmq::socket_type::router);
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
  dispatch_more_ = true;
  if (n_queued > 0 || n_running > 0) dispatch_hold_until_ms_ = now + config_.heartbeat_ms * 3 / 2;
  retention_task_.next_ms = now + 10000;
  return WriteEndpointFile();
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
  if (!s.ok() && fatal_.ok()) fatal_ = s;
  return s.ok();
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
  s = store_.Commit();  // the last dispatches' writes
  if (!s.ok()) return s;
  workers_.ForEach([&](Worker& w) {
    std::string body;
    proto::Encode(proto::Bye{"broker shutting down"}, &body);
    SendNow(w, proto::Command::kBye, body);
  });
  checkpointer_.reset();
  store_.Close();
  Logf("stopped cleanly");
  return Status::Ok();
}

int Broker::PollTimeoutMs(std::int64_t now) {
  const bool held = now < dispatch_hold_until_ms_;
  if ((dispatch_more_ && !held) || (!deferred_.empty() && !store_.in_transaction())) return 0;
  std::int64_t due = now + config_.heartbeat_ms;
  if (store_.in_transaction()) {
    // Wake for the group commit (rounded up: never spin for a fraction of a ms).
    auto left = config_.commit_interval_us -
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - txn_opened_).count();
    if (left <= 0) return 0;
    due = std::min<std::int64_t>(due, now + (left + 999) / 1000);
  }
  if (held) due = std::min(due, dispatch_hold_until_ms_);
  if (!timers_.empty()) due = std::min(due, timers_.next_due_ms());
  due = std::min(due, NextTaskDueMs());
  due = std::min(due, NextCronDueMs());
  workers_.ForEach([&](Worker& w) {
    due = std::min(due, w.last_sent_ms + w.heartbeat_ms);
    due = std::min(due, w.last_seen_ms + static_cast<std::int64_t>(config_.liveness) * w.heartbeat_ms + 1);
  });
  return static_cast<int>(std::clamp<std::int64_t>(due - now, 0, 1000));
}

Status Broker::Turn(bool* stop_requested) {
  zmq_pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  int rc = zmq_poll(&item, 1, PollTimeoutMs(clock_->NowMs()));
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
  for (int i = 0; i < config_.max_messages_per_turn; ++i) {
    bool got;
    try {
      got = proto::ReceiveMessage(socket_, true, &in, &ferr);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) break;
      return Status::Internal(std::string("recv: ") + e.what());
    }
    if (!got) break;
    switch (ferr) {
      case proto::FrameError::kNone:
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
    if (!fatal_.ok()) return fatal_;
  }
  now = clock_->NowMs();
  Tick(now);
  if (config_.reload_requested && config_.reload_requested->exchange(false)) {
    std::string message;
    (void)ReloadRegistry(&message);  // logged; a bad file keeps the old registry
  }
  CronTick(now);
  ProcessRunEvents(now);
  Dispatch(now);
  if (!fatal_.ok()) return fatal_;
  return CommitIfDue(false);
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
    Status s = store_.Commit();
    if (!s.ok()) return s;
    txn_timed_ = false;
    counters_.commits++;
  }
  FlushDeferred();
  // Jobs created or re-queued in this turn are committed now: make them
  // dispatchable, and dispatch at once (those writes commit next turn).
  if (!enqueue_after_commit_.empty()) {
    for (std::int64_t seq : enqueue_after_commit_) {
      auto it = live_.find(seq);
      if (it != live_.end() && it->second.state == JobState::kQueued)
        ready_.Push(it->second.queue, it->second.kind, {it->second.priority, seq, it->second.gen});
    }
    enqueue_after_commit_.clear();
    Dispatch(clock_->NowMs());
    if (!fatal_.ok()) return fatal_;
  }
  return Status::Ok();
}

void Broker::Handle(proto::Incoming& in) {
  using C = proto::Command;
  using Handler = void (Broker::*)(const std::string&, std::string_view);
  // The dispatch table: command -> thin handler. Broker-to-peer commands
  // (JOB, CANCEL, ACK, REPLY, ERROR) are refused.
  static const std::unordered_map<std::uint8_t, Handler> kTable = {
      {static_cast<std::uint8_t>(C::kReady), &Broker::OnReady},
      {static_cast<std::uint8_t>(C::kHeartbeat), &Broker::OnHeartbeat},
      {static_cast<std::uint8_t>(C::kResult), &Broker::OnResult},
      {static_cast<std::uint8_t>(C::kBye), &Broker::OnBye},
      {static_cast<std::uint8_t>(C::kSubmit), &Broker::OnSubmit},
      {static_cast<std::uint8_t>(C::kStatus), &Broker::OnStatus},
      {static_cast<std::uint8_t>(C::kList), &Broker::OnList},
      {static_cast<std::uint8_t>(C::kRetry), &Broker::OnRetry},
      {static_cast<std::uint8_t>(C::kCancelJob), &Broker::OnCancelJob},
      {static_cast<std::uint8_t>(C::kWorkers), &Broker::OnWorkers},
      {static_cast<std::uint8_t>(C::kStats), &Broker::OnStats},
      {static_cast<std::uint8_t>(C::kExtractions), &Broker::OnExtractions},
      {static_cast<std::uint8_t>(C::kRun), &Broker::OnRun},
      {static_cast<std::uint8_t>(C::kRuns), &Broker::OnRuns},
      {static_cast<std::uint8_t>(C::kSchedules), &Broker::OnSchedules},
      {static_cast<std::uint8_t>(C::kPause), &Broker::OnPause},
      {static_cast<std::uint8_t>(C::kResume), &Broker::OnResume},
      {static_cast<std::uint8_t>(C::kReload), &Broker::OnReload},
  };
  if (Worker* w = workers_.ByRoutingId(in.routing_id)) w->last_seen_ms = clock_->NowMs();
  auto it = kTable.find(in.command);
  if (it == kTable.end()) {
    counters_.bad_messages++;
    ReplyError(in.routing_id, proto::PeekReq(in.body), proto::err::kUnknownCommand,
               std::string("command ") + proto::CommandName(in.command) +
                   " is not accepted by the broker");
    return;
  }
  (this->*(it->second))(in.routing_id, in.body);
}

bool Broker::SendNow(Worker& w, proto::Command cmd, std::string_view body) {
  w.last_sent_ms = clock_->NowMs();
  return proto::SendMessage(socket_, w.routing_id, cmd, body);
}

bool Broker::SendTo(const std::string& rid, proto::Command cmd, std::string_view body) {
  return proto::SendMessage(socket_, rid, cmd, body);
}

void Broker::Defer(const std::string& rid, proto::Command cmd, std::string body) {
  deferred_.push_back({rid, cmd, std::move(body)});
}

void Broker::FlushDeferred() {
  // ACKs gathered per worker go out as one message each.
  workers_.ForEach([&](Worker& w) {
    if (w.pending_acks.empty()) return;
    std::string body;
    proto::Ack ack;
    ack.acks.swap(w.pending_acks);
    proto::Encode(ack, &body);
    SendNow(w, proto::Command::kAck, body);
  });
  for (auto& o : deferred_) {
    if (!SendTo(o.rid, o.cmd, o.body) && config_.verbose)
      Logf("reply to a vanished peer dropped (%s)", proto::CommandName(static_cast<std::uint8_t>(o.cmd)));
  }
  deferred_.clear();
}

}  // namespace sluice::broker
