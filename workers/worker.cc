#include "workers/worker.h"

#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "schemas/protocol.h"
#include "workers/handler_table.h"

namespace sluice::worker {
namespace {

// Messages read per loop turn at most, so that finished jobs and timers get
// their turn even under a flood.
constexpr int kMaxMessagesPerTurn = 4096;
constexpr std::chrono::milliseconds kByeLinger{1000};

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return {};
  return host;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

long long Ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

}  // namespace

Worker::Worker(WorkerOptions options, StopRequests* stop)
    : options_(std::move(options)),
      id_(options_.worker_id.empty() ? DefaultWorkerId() : options_.worker_id),
      host_(HostName()),
      kinds_(AnnouncedKinds(options_.allow_exec)),
      log_(id_),
      settings_(SettingsFrom(options_)),
      stop_(stop),
      context_(1),
      link_(context_, options_.broker, options_.heartbeat, options_.curve),
      pool_(options_.slots, log_, settings_) {
  running_.reserve(options_.slots * 2);
}

Worker::~Worker() {
  for (auto& [key, job] : running_) job->cancel.Cancel(StopReason::kReturned);
  pool_.Stop();
}

int Worker::Run() {
  if (pool_.wakeup_fd() < 0 || (stop_ != nullptr && !stop_->valid())) {
    log_.Info("cannot create the file descriptors the worker needs: %s", std::strerror(errno));
    return 1;
  }
  Clock::time_point now = Clock::now();
  try {
    link_.Reconnect(now);
  } catch (const zmq::error_t& e) {
    log_.Info("cannot connect to '%s': %s", options_.broker.c_str(), e.what());
    return 2;
  }
  log_.Info("starting: broker %s, slots %u, queues %s, kinds %s, heartbeat %lld ms, grace %lld ms, %s%s",
            options_.broker.c_str(), options_.slots, Join(options_.queues).c_str(),
            Join(kinds_).c_str(), Ms(options_.heartbeat), Ms(options_.grace),
            link_.curve() ? "CURVE with public key " : "no CURVE (plain TCP)",
            link_.curve() ? options_.curve.own.public_z85.c_str() : "");
  Introduce(now);

  while (phase_ != Phase::kDone) {
    zmq_pollitem_t items[3] = {
        {static_cast<void*>(link_.socket()), 0, ZMQ_POLLIN, 0},
        {nullptr, pool_.wakeup_fd(), ZMQ_POLLIN, 0},
        {nullptr, stop_ != nullptr ? stop_->fd() : -1, ZMQ_POLLIN, 0},
    };
    const int count = stop_ != nullptr ? 3 : 2;
    int rc = zmq_poll(items, count, PollTimeoutMs(Clock::now(), NextDeadline()));
    if (rc < 0 && errno != EINTR) {
      log_.Info("poll failed: %s", zmq_strerror(errno));
      return 1;
    }
    now = Clock::now();
    if (rc > 0) {
      if (count == 3 && (items[2].revents & ZMQ_POLLIN)) OnStopRequests(stop_->Take(), now);
      if (items[0].revents & ZMQ_POLLIN) ReadMessages(now);
      if (items[1].revents & ZMQ_POLLIN) CollectFinished(now);
    }
    Tick(now);
  }

  pool_.Stop();
  link_.Close(kByeLinger);
  LogLeftOut(Clock::now(), true);
  log_.Info("stopped");
  return 0;
}

Clock::time_point Worker::NextDeadline() const {
  Clock::time_point next = link_.NextDeadline();
  if (phase_ == Phase::kDraining && !returned_running_) next = std::min(next, grace_end_);
  if (phase_ == Phase::kAwaitingAcks) next = std::min(next, ack_end_);
  return next;
}

void Worker::ReadMessages(Clock::time_point now) {
  proto::FrameError error;
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    try {
      if (!proto::ReceiveMessage(link_.socket(), /*has_routing_id=*/false, &incoming_, &error)) return;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) log_.Info("receive failed: %s", e.what());
      return;
    }
    // ERROR forbidden is no sign of life, nor is anything on a refused link.
    if (!link_.refused() && !IsForbidden(error)) {
      if (!link_.heard_since_connect()) {
        if (key_refused_) {
          log_.Info("the broker accepts this worker's key again; connected to %s", link_.endpoint().c_str());
          key_refused_ = false;
        } else {
          log_.Info("connected to %s", link_.endpoint().c_str());
        }
      }
      link_.Heard(now);
    }
    HandleMessage(error, now);
  }
}

bool Worker::IsForbidden(proto::FrameError error) const {
  if (error != proto::FrameError::kNone || incoming_.command != static_cast<std::uint8_t>(proto::Command::kError))
    return false;
  proto::ErrorMsg decoded;
  return proto::Decode(incoming_.body, &decoded).ok() && decoded.code == proto::err::kForbidden;
}

void Worker::HandleMessage(proto::FrameError error, Clock::time_point now) {
  switch (error) {
    case proto::FrameError::kNone: break;
    case proto::FrameError::kGarbage:
      return LogThrottled(now, "dropped a message from the broker that is not sluice framing (%zu frames)",
                          incoming_.frames.size());
    case proto::FrameError::kVersion:
      return LogThrottled(now, "dropped a message from the broker in another protocol version '%.16s'",
                          incoming_.frames[0].to_string().c_str());
    case proto::FrameError::kUnknownCommand:
      return LogThrottled(now, "dropped a message from the broker with unknown command 0x%02x",
                          incoming_.command);
  }
  const std::string_view body = incoming_.body;
  switch (static_cast<proto::Command>(incoming_.command)) {
    case proto::Command::kJob: return OnJob(body, now);
    case proto::Command::kCancel: return OnCancel(body, now);
    case proto::Command::kRecall: return OnRecall(body, now);
    case proto::Command::kAck: return OnAck(body, now);
    case proto::Command::kHeartbeat: return;  // a sign of life, already counted
    case proto::Command::kBye: return OnBrokerBye(body, now);
    case proto::Command::kError: return OnError(body, now);
    default:
      return LogThrottled(now, "dropped %s from the broker: not a broker-to-worker command",
                          proto::CommandName(incoming_.command));
  }
}

void Worker::OnJob(std::string_view body, Clock::time_point now) {
  job_ = proto::JobMsg{};
  Status decoded = proto::Decode(body, &job_);
  if (!decoded.ok()) {
    // Answer if the attempt can be named at all, so the broker does not
    // wait for a lease to expire; the same message would fail anywhere.
    proto::JobAttempt named;
    if (proto::PeekAttempt(body, &named).ok())
      Refuse(named.job, named.attempt, Outcome::kFailed, false, "bad JOB: " + decoded.message(), now);
    return LogThrottled(now, "rejected a JOB: %s", decoded.message().c_str());
  }
  const JobKeyView key{job_.job, job_.attempt};
  if (running_.find(key) != running_.end() || IsWaiting(job_.job, job_.attempt)) {
    return LogThrottled(now, "JOB %s attempt %u is already running here; duplicate ignored",
                        job_.job.c_str(), job_.attempt);
  }
  if (const std::string* done = unacked_.Find(key)) {
    // Already run and not yet acknowledged: the answer is the same.
    link_.Send(proto::Command::kResult, *done, now);
    return;
  }
  if (phase_ != Phase::kServing)
    return Refuse(job_.job, job_.attempt, Outcome::kReturned, true, "worker is shutting down", now);
  if (link_.refused()) {
    // Kept, and reported once the broker accepts the key again.
    return Refuse(job_.job, job_.attempt, Outcome::kReturned, true,
                  "the broker refused the key of worker " + id_ + " (forbidden)", now);
  }
  const HandlerSpec* handler = FindHandler(job_.kind);
  if (handler == nullptr) {
    return Refuse(job_.job, job_.attempt, Outcome::kFailed, false,
                  "no handler for kind '" + job_.kind + "' on worker " + id_ + " (it runs " +
                      Join(kinds_) + ")",
                  now);
  }
  if (handler->needs_allow_exec && !options_.allow_exec) {
    return Refuse(job_.job, job_.attempt, Outcome::kFailed, false,
                  std::string(handler->kind) + ": refused: worker " + id_ +
                      " was not started with --allow-exec",
                  now);
  }
  if (handler->execution == Execution::kInline) {
    LogStart(job_, now);
    ExecuteJob(*handler, job_, never_cancelled_, &params_, log_, settings_, &result_);
    LogEnd(job_, result_, now, Clock::now());
    return SendResult(result_, now);
  }
  if (running_.size() >= options_.slots) {
    if (waiting_.size() < options_.prefetch) {
      waiting_.push_back({std::move(job_), handler});
      return;
    }
    return Refuse(job_.job, job_.attempt, Outcome::kReturned, true,
                  "no free slot: all " + std::to_string(options_.slots) + " slots of worker " + id_ +
                      " are busy",
                  now);
  }
  StartJob(std::move(job_), handler, now);
}

void Worker::StartJob(proto::JobMsg msg, const HandlerSpec* handler, Clock::time_point now) {
  const Clock::time_point deadline = AttemptDeadline(now, msg.timeout_ms);
  auto job = std::make_unique<RunningJob>(std::move(msg), handler, deadline);
  RunningJob* started = job.get();
  started->started = now;
  LogStart(started->msg, now);
  running_.emplace(JobKey{started->msg.job, started->msg.attempt}, std::move(job));
  pool_.Start(started);
}

bool Worker::IsWaiting(std::string_view job, std::uint32_t attempt) const {
  for (const WaitingJob& w : waiting_)
    if (w.msg.job == job && w.msg.attempt == attempt) return true;
  return false;
}

void Worker::StartWaiting(Clock::time_point now) {
  while (phase_ == Phase::kServing && running_.size() < options_.slots && !waiting_.empty()) {
    WaitingJob next = std::move(waiting_.front());
    waiting_.pop_front();
    StartJob(std::move(next.msg), next.handler, now);
  }
}

void Worker::ReturnWaiting(const char* why, Clock::time_point now) {
  while (!waiting_.empty()) {
    WaitingJob w = std::move(waiting_.front());
    waiting_.pop_front();
    Refuse(w.msg.job, w.msg.attempt, Outcome::kReturned, true, why, now);
  }
}

void Worker::OnRecall(std::string_view body, Clock::time_point now) {
  proto::RecallMsg recall;
  Status decoded = proto::Decode(body, &recall);
  if (!decoded.ok()) return LogThrottled(now, "rejected a RECALL: %s", decoded.message().c_str());
  // Only what still waits for a slot goes back; what has started (or
  // finished) stays, and the broker learns of it from its RESULT.
  for (const proto::JobAttempt& a : recall.jobs) {
    auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const WaitingJob& w) {
      return w.msg.job == a.job && w.msg.attempt == a.attempt;
    });
    if (it == waiting_.end()) continue;
    WaitingJob back = std::move(*it);
    waiting_.erase(it);
    Refuse(back.msg.job, back.msg.attempt, Outcome::kReturned, true,
           "recalled by the broker unstarted: another worker has a free slot", now);
  }
}

void Worker::OnCancel(std::string_view body, Clock::time_point now) {
  proto::CancelMsg cancel;
  Status decoded = proto::Decode(body, &cancel);
  if (!decoded.ok()) return LogThrottled(now, "ignored a CANCEL: %s", decoded.message().c_str());
  for (auto w = waiting_.begin(); w != waiting_.end(); ++w) {
    if (w->msg.job == cancel.job && w->msg.attempt == cancel.attempt) {
      waiting_.erase(w);
      return Refuse(cancel.job, cancel.attempt, Outcome::kCancelled, true,
                    "cancelled before it started", now);
    }
  }
  auto it = running_.find(JobKeyView{cancel.job, cancel.attempt});
  if (it == running_.end()) return;  // finished already, or never here: nothing to stop
  log_.Info("CANCEL: stopping job %s attempt %u", cancel.job.c_str(), cancel.attempt);
  it->second->cancel.Cancel(StopReason::kCancelled);
}

void Worker::OnAck(std::string_view body, Clock::time_point now) {
  ack_.acks.clear();
  Status decoded = proto::Decode(body, &ack_);
  if (!decoded.ok()) return LogThrottled(now, "ignored an ACK: %s", decoded.message().c_str());
  for (const proto::JobAttempt& a : ack_.acks) unacked_.Ack(JobKeyView{a.job, a.attempt});
}

void Worker::OnError(std::string_view body, Clock::time_point now) {
  proto::ErrorMsg error;
  Status decoded = proto::Decode(body, &error);
  if (!decoded.ok()) return LogThrottled(now, "ignored an ERROR: %s", decoded.message().c_str());
  if (error.code == proto::err::kForbidden) return OnForbidden(error.message, now);
  if (error.code == proto::err::kUnknownWorker) {
    // Every message sent before the broker hears our READY earns one of
    // these; one READY answers them all.
    if (now - last_ready_ < options_.heartbeat) return;
    log_.Info("the broker does not know this worker (unknown_worker); sending READY again");
    return Introduce(now);
  }
  if (error.code == proto::err::kBadRequest && !error.job.empty() && error.attempt > 0) {
    // A RESULT the broker refused: sent again it would be refused again
    // (PROTOCOL.md §5.3), so it is dropped.
    if (unacked_.Ack(JobKeyView{error.job, error.attempt}))
      log_.Info("the broker refused the result of job %s attempt %u (%s); not sending it again",
                error.job.c_str(), error.attempt, error.message.c_str());
    return;
  }
  LogThrottled(now, "broker error %s: %s", error.code.c_str(), error.message.c_str());
}

void Worker::OnForbidden(const std::string& message, Clock::time_point now) {
  // The answers to everything else already sent on this connection (READY,
  // the re-sent RESULTs) say the same: one refusal per connection, so at
  // most one line per backoff period.
  if (link_.refused()) return;
  link_.Refuse(now);
  key_refused_ = true;
  const std::string key =
      link_.curve() ? " (its public key: " + options_.curve.own.public_z85 + ")" : std::string(" (no CURVE key)");
  log_.Info("the broker refused this worker's key (forbidden): %s%s; taking no jobs, keeping %zu "
            "unacknowledged results and %zu jobs here, trying again in %lld ms (failed connections in a "
            "row: %llu)",
            message.empty() ? "no reason given" : message.c_str(), key.c_str(), unacked_.size(),
            running_.size() + waiting_.size(), Ms(link_.patience()),
            static_cast<unsigned long long>(link_.failures()));
}

void Worker::OnBrokerBye(std::string_view body, Clock::time_point now) {
  proto::Bye bye;
  (void)proto::Decode(body, &bye);  // the reason is only for the log
  if (link_.refused()) {
    // Not a reason to try before the backoff is over.
    log_.Info("the broker said BYE (%s); trying again as planned", bye.reason.empty() ? "no reason given" : bye.reason.c_str());
    return;
  }
  log_.Info("the broker said BYE (%s); keeping %zu unacknowledged results and reconnecting",
            bye.reason.empty() ? "no reason given" : bye.reason.c_str(), unacked_.size());
  Reconnect(now);
}

void Worker::CollectFinished(Clock::time_point now) {
  finished_.clear();
  pool_.TakeFinished(&finished_);
  for (RunningJob* job : finished_) {
    LogEnd(job->msg, job->result, job->started, now);
    auto it = running_.find(job->key());
    SendResult(job->result, now);
    if (it != running_.end()) running_.erase(it);
  }
  StartWaiting(now);
}

void Worker::OnStopRequests(unsigned count, Clock::time_point now) {
  for (unsigned i = 0; i < count; ++i) {
    ++stop_requests_;
    if (stop_requests_ == 1) {
      phase_ = Phase::kDraining;
      grace_end_ = now + options_.grace;
      log_.Info("stop requested: taking no new jobs; %zu running jobs get %lld ms to finish",
                running_.size(), Ms(options_.grace));
      SendHeartbeat(now);  // slots: 0
      ReturnWaiting("worker is shutting down", now);
    } else if (stop_requests_ == 2) {
      if (phase_ == Phase::kDraining && !returned_running_) ReturnRunningJobs("second stop request");
    } else {
      log_.Info("stop requested again: not waiting for ACKs");
      skip_ack_wait_ = true;
      if (phase_ == Phase::kAwaitingAcks) ack_end_ = now;
    }
  }
}

void Worker::Tick(Clock::time_point now) {
  if (link_.ReconnectDue(now)) {
    if (!link_.refused()) {
      const std::chrono::milliseconds silent_for = link_.patience();
      link_.CountFailure();
      const std::uint64_t n = link_.failures();
      // Only the 1st, 2nd, 4th, 8th... in a row are logged.
      if ((n & (n - 1)) == 0) {
        log_.Info("no message from the broker for %lld ms; reconnecting to %s (attempt %llu; the broker "
                  "gets %lld ms to answer)%s",
                  Ms(silent_for), link_.endpoint().c_str(), static_cast<unsigned long long>(n),
                  Ms(link_.next_patience()),
                  link_.curve() && n == 1 ? " (CURVE: is --broker-key the broker's public key?)" : "");
      }
    }
    Reconnect(now);
  }
  if (link_.HeartbeatDue(now)) SendHeartbeat(now);
  AdvanceShutdown(now);
  LogLeftOut(now, false);
}

void Worker::LogLeftOut(Clock::time_point now, bool force) {
  const std::uint64_t left_out = job_lines_.TakeLeftOut(now, force) + failure_lines_.TakeLeftOut(now, force);
  if (left_out > 0)
    log_.Line(LogLevel::kInfo, {{"left_out", std::to_string(left_out), true}},
              std::to_string(left_out) + " job lines left out (more jobs than a readable log shows; "
                                         "sluice stats and /metrics count them all)");
}

void Worker::LogStart(const proto::JobMsg& job, Clock::time_point now) {
  if (!job_lines_.Admit(now)) return;
  log_.Line(LogLevel::kInfo, {{"job", job.job}, {"attempt", std::to_string(job.attempt), true}, {"kind", job.kind}},
            "job started");
}

void Worker::LogEnd(const proto::JobMsg& job, const proto::JobResult& result, Clock::time_point started,
                    Clock::time_point now) {
  const bool ok = result.outcome == Outcome::kSucceeded;
  if (!(ok ? job_lines_ : failure_lines_).Admit(now)) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - started).count();
  std::vector<LogField> fields = {{"job", job.job},
                                  {"attempt", std::to_string(job.attempt), true},
                                  {"kind", job.kind},
                                  {"outcome", std::string(OutcomeName(result.outcome))},
                                  {"duration_ms", std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100), true}};
  if (!ok && !result.error.empty()) fields.push_back({"error", result.error});
  log_.Line(ok ? LogLevel::kInfo : LogLevel::kWarn, fields, "job ended");
}

void Worker::AdvanceShutdown(Clock::time_point now) {
  if (phase_ == Phase::kDraining) {
    if (!returned_running_ && now >= grace_end_ && !running_.empty())
      ReturnRunningJobs("the grace period is over");
    if (running_.empty()) {
      phase_ = Phase::kAwaitingAcks;
      ack_end_ = skip_ack_wait_ ? now : now + options_.ack_wait;
    }
  }
  if (phase_ == Phase::kAwaitingAcks && (unacked_.empty() || now >= ack_end_)) {
    if (!unacked_.empty())
      log_.Info("leaving with %zu results the broker has not acknowledged", unacked_.size());
    std::string body;
    proto::Encode(proto::Bye{"worker shutting down"}, &body);
    link_.Send(proto::Command::kBye, body, now);
    phase_ = Phase::kDone;
  }
}

void Worker::ReturnRunningJobs(const char* why) {
  returned_running_ = true;
  if (running_.empty()) return;
  log_.Info("%s: returning %zu running jobs to the broker", why, running_.size());
  for (auto& [key, job] : running_) job->cancel.Cancel(StopReason::kReturned);
}

void Worker::Reconnect(Clock::time_point now) {
  try {
    link_.Reconnect(now);
  } catch (const zmq::error_t& e) {
    // The endpoint worked before; keep the old state and try again on the
    // next liveness expiry.
    log_.Info("reconnecting to %s failed: %s", link_.endpoint().c_str(), e.what());
    return;
  }
  Introduce(now);
}

void Worker::Introduce(Clock::time_point now) {
  if (link_.refused()) return;  // the next connection introduces itself
  proto::Ready ready;
  ready.worker = id_;
  ready.host = host_.substr(0, proto::kMaxNameBytes * 4);
  ready.pid = ::getpid();
  ready.queues = options_.queues;
  ready.kinds = kinds_;
  ready.slots = phase_ == Phase::kServing ? options_.slots : 0;
  ready.prefetch = phase_ == Phase::kServing ? options_.prefetch : 0;
  ready.adaptive = options_.adaptive && ready.prefetch > 0;
  ready.heartbeat_ms = static_cast<std::uint32_t>(options_.heartbeat.count());
  ready.version = kWorkerVersion;
  ready.running.reserve(running_.size());
  for (const auto& [key, job] : running_) ready.running.push_back({key.job, key.attempt});
  for (const WaitingJob& w : waiting_) ready.running.push_back({w.msg.job, w.msg.attempt});
  std::string body;
  proto::Encode(ready, &body);
  link_.Send(proto::Command::kReady, body, now);
  last_ready_ = now;
  const std::vector<const std::string*> pending = unacked_.InOrder();
  for (const std::string* result : pending) link_.Send(proto::Command::kResult, *result, now);
  if (!pending.empty()) log_.Info("re-sent %zu unacknowledged results", pending.size());
}

void Worker::SendHeartbeat(Clock::time_point now) {
  if (phase_ == Phase::kServing) {
    link_.Send(proto::Command::kHeartbeat, {}, now);
    return;
  }
  std::string body;
  proto::Encode(proto::Heartbeat{0}, &body);
  link_.Send(proto::Command::kHeartbeat, body, now);
}

void Worker::SendResult(const proto::JobResult& result, Clock::time_point now) {
  std::string body;
  proto::Encode(result, &body);
  const std::string& kept = unacked_.Add(JobKeyView{result.job, result.attempt}, std::move(body));
  if (!link_.Send(proto::Command::kResult, kept, now) && !link_.refused())
    LogThrottled(now, "could not send the RESULT of job %s attempt %u; it is re-sent after reconnecting",
                 result.job.c_str(), result.attempt);
}

void Worker::Refuse(std::string_view job, std::uint32_t attempt, Outcome outcome, bool retryable,
                    std::string error, Clock::time_point now) {
  proto::JobResult result;
  result.job = job;
  result.attempt = attempt;
  result.outcome = outcome;
  result.retryable = retryable;
  result.error = std::move(error);
  if (result.error.size() > proto::kMaxErrorBytes) result.error.resize(proto::kMaxErrorBytes);
  SendResult(result, now);
}

void Worker::LogThrottled(Clock::time_point now, const char* format, ...) {
  if (last_throttled_log_ != Clock::time_point{} && now - last_throttled_log_ < std::chrono::seconds(1)) {
    ++suppressed_logs_;
    return;
  }
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (suppressed_logs_ > 0) {
    log_.Info("%s (and %llu similar events in the last second)", line,
              static_cast<unsigned long long>(suppressed_logs_));
  } else {
    log_.Info("%s", line);
  }
  suppressed_logs_ = 0;
  last_throttled_log_ = now;
}

}  // namespace sluice::worker
