#include "broker/job_lifecycle.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "broker/log.h"
#include "schemas/job_id.h"

namespace sluice::broker {

JobLifecycle::JobLifecycle(JobStore& store, KindHookTable& hooks, LifecycleConfig config)
    : store_(store),
      hooks_(hooks),
      writable_([this](std::int64_t) { return store_.Begin().ok(); }),
      config_(std::move(config)),
      rng_(config_.seed != 0 ? config_.seed : std::random_device{}()) {}

// ---- loading -----------------------------------------------------------------

Result<JobLifecycle::LoadSummary> JobLifecycle::Load(std::int64_t now, bool startup) {
  Status s = hooks_.Prepare(store_.db(), &store_.metrics());
  if (!s.ok()) return s;
  LoadSummary sum;
  s = store_.LoadLive([&](Job&& j) {
    j.gen = 1;
    Job& job = live_[j.seq] = std::move(j);
    switch (job.state) {
      case JobState::kScheduled:
        ArmTimer(job, TimerKind::kRunAt, job.run_at_ms);
        ++sum.scheduled;
        break;
      case JobState::kQueued:
        ready_.Push(job.queue, job.kind, {job.priority, job.seq, job.gen});
        ++sum.queued;
        break;
      case JobState::kRunning:
        // Dispatched (the dispatch is written before its JOB goes out): its
        // worker re-announces it in READY or re-sends its result; else the
        // orphan timer records it lost and it runs again, as the next attempt.
        job.worker.clear();
        job.started_ms = job.updated_ms;  // written at dispatch
        HoldKey(job);
        ArmTimer(job, TimerKind::kOrphan, now + OrphanGraceMs());
        ++sum.running;
        break;
      default:
        break;
    }
  });
  if (!s.ok()) return s;
  s = store_.CountByQueueAndState(
      [&](const std::string& q, JobState st, std::int64_t n) { counts_.Add(q, st, n); });
  if (!s.ok()) return s;
  // A database of a version that did not write dispatches (before 4) may
  // hold running jobs that read 'queued': their workers get time to
  // re-announce them before anything runs twice.
  if (startup && sum.queued > 0 && store_.opened_version() > 0 && store_.opened_version() < 4) {
    legacy_queued_ = true;
    sum.legacy = true;
    dispatch_hold_until_ms_ = now + static_cast<std::int64_t>(config_.liveness) * config_.heartbeat_ms;
  }
  dispatch_more_ = true;
  return sum;
}

void JobLifecycle::OnListening(std::int64_t now) {
  for (auto& [seq, job] : live_)
    if (job.state == JobState::kRunning && job.has_timer && job.timer_kind == TimerKind::kOrphan)
      ArmTimer(job, TimerKind::kOrphan, now + OrphanGraceMs());
  if (dispatch_hold_until_ms_ > 0)
    dispatch_hold_until_ms_ = now + static_cast<std::int64_t>(config_.liveness) * config_.heartbeat_ms;
  dispatch_more_ = true;
}

// ---- state changes -------------------------------------------------------------

Status JobLifecycle::Transition(Job& job, JobState to, std::int64_t now) {
  if (!CanTransition(job.state, to))
    return Status::Internal("job " + FormatJobId(job.seq) + ": illegal state change " +
                            std::string(JobStateName(job.state)) + " -> " + std::string(JobStateName(to)));
  counts_.Move(job.queue, job.state, to);
  job.state = to;
  job.updated_ms = now;
  ++job.gen;
  DisarmTimer(job);  // every timer belongs to the state it was armed in
  return Status::Ok();
}

Status JobLifecycle::MakeQueued(Job& job, std::int64_t now, std::string_view last_error) {
  const std::uint32_t left = job.state == JobState::kRunning ? job.attempt : 0;
  Status s = Transition(job, JobState::kQueued, now);
  if (!s.ok()) return s;
  if (left) ReleaseKeyIfFree(job.seq, left);
  job.run_at_ms = now;
  s = store_.UpdateJob(job, 0, last_error, {});
  if (!s.ok()) return s;
  Enqueue(job);
  return Status::Ok();
}

Status JobLifecycle::MakeScheduled(Job& job, std::int64_t now, std::int64_t run_at_ms,
                                   std::string_view last_error) {
  const std::uint32_t left = job.state == JobState::kRunning ? job.attempt : 0;
  const JobState was = job.state;
  Status s = Transition(job, JobState::kScheduled, now);
  if (!s.ok()) return s;
  if (left) ReleaseKeyIfFree(job.seq, left);
  UnparkIfLeftQueued(job, was);
  job.run_at_ms = run_at_ms;
  ArmTimer(job, TimerKind::kRunAt, run_at_ms);
  return store_.UpdateJob(job, 0, last_error, {});
}

Status JobLifecycle::MakeRunning(Job& job, std::uint32_t attempt, std::int64_t now) {
  Status s = Transition(job, JobState::kRunning, now);
  if (!s.ok()) return s;
  job.attempt = attempt;
  job.started_ms = now;
  HoldKey(job);
  return Status::Ok();
}

Status JobLifecycle::Finish(Job& job, JobState to, std::int64_t now, const std::string& why,
                            std::string_view outputs, Effects* fx) {
  const std::uint32_t left = job.state == JobState::kRunning ? job.attempt : 0;
  const JobState was = job.state;
  Status s = Transition(job, to, now);
  if (!s.ok()) return s;
  if (left) ReleaseKeyIfFree(job.seq, left);
  UnparkIfLeftQueued(job, was);
  s = store_.UpdateJob(job, now, why, outputs);
  if (!s.ok()) return s;
  fx->ended.push_back({job.seq, to, job.kind, job.queue, job.failures, why});
  fx->finished.emplace_back(job.seq, to);
  Forget(job.seq);
  return Status::Ok();
}

void JobLifecycle::ReleaseKeyIfFree(std::int64_t seq, std::uint32_t attempt) {
  if (!gate_.Holds({seq, attempt})) return;
  auto it = live_.find(seq);
  if (it != live_.end() && it->second.state == JobState::kRunning && it->second.attempt == attempt) return;
  bool leased = false;
  workers_.ForEach([&](Worker& w) { leased = leased || w.leases.count({seq, attempt}) != 0; });
  if (leased) return;  // timed out or cancelled, still running on its worker
  std::vector<ParkedJob> unparked;
  gate_.Release({seq, attempt}, QueuedEntry(), &unparked);
  Requeue(unparked);
}

void JobLifecycle::Requeue(const std::vector<ParkedJob>& unparked) {
  for (const ParkedJob& p : unparked) ready_.Push(p.queue, p.kind, p.entry);
  if (!unparked.empty()) dispatch_more_ = true;
}

// A queued job of a concurrency key left without running: were it one
// unparked for a free slot, the next parked job takes its place.
void JobLifecycle::UnparkIfLeftQueued(const Job& job, JobState was) {
  if (was != JobState::kQueued || job.concurrency_key.empty()) return;
  std::vector<ParkedJob> unparked;
  gate_.Unpark(job.concurrency_key, QueuedEntry(), &unparked);
  Requeue(unparked);
}

ConcurrencyGate::Valid JobLifecycle::QueuedEntry() const {
  return [this](const ReadyEntry& e) {
    auto it = live_.find(e.seq);
    return it != live_.end() && it->second.gen == e.gen && it->second.state == JobState::kQueued;
  };
}

void JobLifecycle::ArmTimer(Job& job, TimerKind kind, std::int64_t due_ms) {
  DisarmTimer(job);
  job.has_timer = true;
  job.timer_kind = kind;
  job.timer_due_ms = due_ms;
  timers_.Add({due_ms, kind, job.seq});
}

void JobLifecycle::DisarmTimer(Job& job) {
  if (!job.has_timer) return;
  timers_.Erase({job.timer_due_ms, job.timer_kind, job.seq});
  job.has_timer = false;
}

void JobLifecycle::Enqueue(const Job& job) {
  // Dispatching it in this same transaction is safe: its JOB goes out only
  // after the commit that stores both the job and its dispatch.
  ready_.Push(job.queue, job.kind, {job.priority, job.seq, job.gen});
  dispatch_more_ = true;
}

void JobLifecycle::Forget(std::int64_t seq) {
  auto it = live_.find(seq);
  if (it == live_.end()) return;
  DisarmTimer(it->second);
  live_.erase(it);
}

void JobLifecycle::Orphan(Job& job, std::int64_t now) {
  job.worker.clear();
  ArmTimer(job, TimerKind::kOrphan, now + OrphanGraceMs());  // replaces its lease timer
}

Worker* JobLifecycle::HolderOf(const Job& job) {
  return job.worker.empty() ? nullptr : workers_.ById(job.worker);
}

void JobLifecycle::SendCancel(const Worker& w, std::int64_t seq, std::uint32_t attempt, Effects* fx) {
  std::string body;
  proto::Encode(proto::CancelMsg{FormatJobId(seq), attempt}, &body);
  fx->send_now.push_back({w.routing_id, proto::Command::kCancel, std::move(body)});
}

// ---- submit and dispatch ---------------------------------------------------------

Result<proto::SubmittedJob> JobLifecycle::Submit(const proto::JobSpec& spec, std::int64_t now, Effects* fx) {
  (void)fx;
  Status s = store_.Begin();
  if (!s.ok()) return s;
  if (!spec.key.empty()) {
    auto found = store_.FindKey(spec.key);
    if (!found.ok()) return found.status();
    if (found->has_value()) return proto::SubmittedJob{FormatJobId((*found)->first), false, (*found)->second};
  }
  Job j;
  j.seq = store_.AllocateJobSeq();
  j.kind = spec.kind;
  j.queue = spec.queue;
  j.priority = spec.priority;
  j.params = spec.params;
  j.max_attempts = spec.max_attempts ? spec.max_attempts : config_.retry.max_attempts;
  j.backoff_ms = spec.backoff_ms ? spec.backoff_ms : config_.retry.base_ms;
  j.timeout_ms = spec.timeout_ms ? spec.timeout_ms : config_.default_timeout_ms;
  j.run_at_ms = spec.run_at_ms ? static_cast<std::int64_t>(spec.run_at_ms)
                               : now + static_cast<std::int64_t>(spec.delay_ms);
  j.created_ms = now;
  j.updated_ms = now;
  j.key = spec.key;
  j.concurrency_key = spec.concurrency_key;
  j.concurrency_limit = spec.concurrency_limit;
  if (j.concurrency_key.empty())
    if (KindHooks* h = hooks_.For(j.kind)) h->DefaultConcurrency(j.params, &j.concurrency_key, &j.concurrency_limit);
  if (!j.concurrency_key.empty() && j.concurrency_limit == 0) j.concurrency_limit = 1;
  j.state = j.run_at_ms > now ? JobState::kScheduled : JobState::kQueued;
  j.gen = 1;
  s = store_.InsertJob(j);
  if (!s.ok()) return s;
  counts_.Add(j.queue, j.state, +1);
  counters_.submitted++;
  proto::SubmittedJob out{FormatJobId(j.seq), true, j.state};
  Job& job = live_[j.seq] = std::move(j);
  if (job.state == JobState::kScheduled) ArmTimer(job, TimerKind::kRunAt, job.run_at_ms);
  else Enqueue(job);
  return out;
}

bool JobLifecycle::WantsDispatch(std::int64_t now) const {
  return dispatch_more_ && now >= dispatch_hold_until_ms_;
}

std::int64_t JobLifecycle::NextDueMs(std::int64_t now) const {
  std::int64_t due = std::numeric_limits<std::int64_t>::max();
  if (!timers_.empty()) due = timers_.next_due_ms();
  if (now < dispatch_hold_until_ms_) due = std::min(due, dispatch_hold_until_ms_);
  return due;
}

Status JobLifecycle::Dispatch(std::int64_t now, Effects* fx) {
  if (now < dispatch_hold_until_ms_) return Status::Ok();  // dispatch_more_ stays set
  const std::int64_t now_us = SteadyMicros();
  bool any_credit = false;
  workers_.ForEach([&](Worker& w) { any_credit = any_credit || w.credit(now_us) > 0; });
  if (ready_.size() == 0 || !any_credit) {
    dispatch_more_ = false;
    Recall(fx);
    return Status::Ok();
  }
  if (!writable_(now)) return Status::Ok();  // dispatch_more_ stays set: tried after the next probe
  dispatch_more_ = false;
  const ConcurrencyGate::Valid valid = QueuedEntry();
  Status s;
  // Free slots first, on every worker; prefetch only then: a job never
  // waits behind a busy slot while another worker has one free.
  for (int pass = 0; pass < 2 && s.ok(); ++pass) {
    workers_.ForEach([&](Worker& w) {
      while (s.ok() && (pass == 0 ? w.free_slots() : w.credit(now_us)) > 0) {
        auto e = ready_.PopBest(w.queues, w.kinds, valid);
        if (!e) break;
        Job& job = live_[e->seq];
        if (!gate_.MayRun(job.concurrency_key, job.concurrency_limit)) {
          gate_.Park(job.concurrency_key, {job.queue, job.kind, *e, job.concurrency_limit});
          continue;
        }
        s = DispatchTo(w, job, now_us, now, fx);
      }
    });
  }
  if (s.ok()) Recall(fx);
  return s;
}

void JobLifecycle::Recall(Effects* fx) {
  // Adaptive workers that hold more than their slots: the excess waits there.
  std::vector<Worker*> holders;
  workers_.ForEach([&](Worker& w) {
    // A draining worker (slots 0) holds only what it runs: nothing to ask.
    if (!w.adaptive || w.slots == 0 || w.leases.size() <= w.slots) return;
    std::erase_if(w.recalled, [&](const auto& lease) { return w.leases.count(lease) == 0; });
    if (w.leases.size() > w.slots + w.recalled.size()) holders.push_back(&w);
  });
  if (holders.empty()) return;
  workers_.ForEach([&](Worker& idle) {
    std::uint32_t free = idle.free_slots();
    for (Worker* h : holders) {
      if (free == 0) break;
      if (h == &idle) continue;
      std::size_t waiting = h->leases.size() - h->slots;
      waiting = waiting > h->recalled.size() ? waiting - h->recalled.size() : 0;
      proto::RecallMsg msg;
      // The newest leases: the ones most likely still waiting for a slot.
      for (auto it = h->leases.rbegin(); it != h->leases.rend() && free > 0 && waiting > 0; ++it) {
        if (h->recalled.count(*it) != 0) continue;
        auto job = live_.find(it->first);
        if (job == live_.end() || job->second.state != JobState::kRunning || job->second.attempt != it->second ||
            !idle.Serves(job->second.queue, job->second.kind))
          continue;
        msg.jobs.push_back({FormatJobId(it->first), it->second});
        h->recalled.insert(*it);
        --free;
        --waiting;
      }
      if (msg.jobs.empty()) continue;
      counters_.recalled += msg.jobs.size();
      scratch_.clear();
      proto::Encode(msg, &scratch_);
      // After the commit, like the JOBs it may name.
      fx->after_commit.push_back({h->routing_id, proto::Command::kRecall, scratch_});
    }
  });
}

Status JobLifecycle::DispatchTo(Worker& w, Job& job, std::int64_t now_us, std::int64_t now, Effects* fx) {
  Status s = MakeRunning(job, job.attempt + 1, now);
  if (!s.ok()) return s;
  job.worker = w.id;
  job.host = w.host;
  const std::string* params = &job.params;
  if (KindHooks* h = hooks_.For(job.kind)) {
    s = h->OnDispatch(job, now, &params_);
    if (!s.ok()) return s;
    params = &params_;
  }
  // The dispatch is written, and its JOB sent only after that commit: a
  // restarted broker knows every attempt that may be running.
  s = store_.MarkRunning(job);
  if (!s.ok()) return s;
  scratch_.clear();
  proto::EncodeJob(FormatJobId(job.seq), job.attempt, job.kind, job.queue, *params, job.timeout_ms, &scratch_);
  fx->after_commit.push_back({w.routing_id, proto::Command::kJob, scratch_});
  w.window.OnSend(now_us, w.leases.size());
  w.leases.insert({job.seq, job.attempt});
  if (job.timeout_ms > 0)
    ArmTimer(job, TimerKind::kLease, now + static_cast<std::int64_t>(job.timeout_ms) + LeaseGraceMs());
  counters_.dispatched++;
  return Status::Ok();
}

// ---- ends of attempts ----------------------------------------------------------------

Status JobLifecycle::RecordResult(Worker& from, const proto::JobResult& r, std::int64_t now, Effects* fx) {
  auto seq = ParseJobId(r.job);
  if (seq) {
    if (from.leases.erase({*seq, r.attempt}) != 0) from.window.OnResult(SteadyMicros(), from.leases.size());
    from.recalled.erase({*seq, r.attempt});
    // A timed-out or cancelled attempt ends here, on its worker: its slot
    // of the concurrency key is free now.
    ReleaseKeyIfFree(*seq, r.attempt);
  }
  auto it = seq ? live_.find(*seq) : live_.end();
  Job* job = it != live_.end() ? &it->second : nullptr;
  if (legacy_queued_ && job != nullptr && job->state == JobState::kQueued && r.attempt == job->attempt + 1) {
    // Ran under a broker that did not write its dispatches (a database of
    // an earlier version, loaded as queued): this is that attempt's result.
    Status s = MakeRunning(*job, r.attempt, now);
    if (!s.ok()) return s;
    job->worker.clear();
  }
  // The current attempt of a live job is recorded from the worker holding
  // its lease; when no lease is known (after a restart, or an orphan), from
  // any worker that has sent READY. Anything else was recorded already, or
  // the attempt was declared lost, timed out or cancelled: ACKed, ignored.
  if (job == nullptr || job->state != JobState::kRunning || job->attempt != r.attempt ||
      (!job->worker.empty() && job->worker != from.id)) {
    counters_.duplicate_results++;
    return Status::Ok();
  }
  if (Worker* holder = HolderOf(*job)) holder->leases.erase({job->seq, job->attempt});
  if (job->worker.empty()) {
    job->worker = from.id;
    job->host = from.host;
  }
  AttemptEnd end;
  end.outcome = r.outcome == Outcome::kCancelled ? Outcome::kFailed : r.outcome;
  end.error = r.outcome == Outcome::kCancelled && r.error.empty() ? "cancelled by the worker" : r.error;
  end.retryable = r.retryable;
  end.retry_after_ms = r.retry_after_ms;
  end.exit_code = r.exit_code;
  end.stdout_tail = r.stdout_tail;
  end.stderr_tail = r.stderr_tail;
  end.outputs = r.outputs;
  return EndAttempt(*job, end, now, fx);
}

Status JobLifecycle::EndAttempt(std::int64_t seq, const AttemptEnd& end, std::int64_t now, Effects* fx) {
  auto it = live_.find(seq);
  if (it == live_.end() || it->second.state != JobState::kRunning)
    return Status::Conflict("job " + FormatJobId(seq) + " has no running attempt");
  Job& job = it->second;
  if (Worker* holder = HolderOf(job)) holder->leases.erase({job.seq, job.attempt});
  return EndAttempt(job, end, now, fx);
}

void JobLifecycle::CountAttempt(const Job& job, Outcome outcome, std::int64_t now) {
  // Bounds of the attempt-duration histogram (s): a no-op to an hour-long export.
  static const std::vector<double> kBounds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1,   5,
                                              10,    30,    60,   300,  900, 1800, 3600};
  MetricCounters& m = store_.metrics();
  m.Add("sluice_job_results_total", {{"kind", job.kind}, {"outcome", OutcomeName(outcome)}}, 1);
  if (job.started_ms > 0 && now >= job.started_ms)
    m.Observe("sluice_attempt_duration_seconds", {{"kind", job.kind}}, kBounds,
              static_cast<double>(now - job.started_ms) / 1000.0);
}

Status JobLifecycle::EndAttempt(Job& job, const AttemptEnd& end, std::int64_t now, Effects* fx) {
  Status s = store_.Begin();
  if (s.ok())
    s = store_.InsertAttempt(job.seq, job.attempt, job.worker, job.host, job.started_ms, now, end.outcome,
                             end.error, end.exit_code, end.stdout_tail, end.stderr_tail);
  if (s.ok()) CountAttempt(job, end.outcome, now);
  if (s.ok())
    if (KindHooks* h = hooks_.For(job.kind)) s = h->OnEnd(job, end.outcome, end.error, end.outputs, now);
  if (!s.ok()) return s;
  job.worker.clear();
  switch (end.outcome) {
    case Outcome::kSucceeded:
      counters_.succeeded++;
      return Finish(job, JobState::kSucceeded, now, {}, end.outputs.empty() ? proto::kEmptyMap : end.outputs, fx);
    case Outcome::kReturned:
      counters_.returned++;
      return MakeQueued(job, now, {});
    case Outcome::kCancelled:  // only by request, which ends the job itself
      return Status::Internal("job " + FormatJobId(job.seq) + ": an attempt ends cancelled only by Cancel");
    case Outcome::kFailed:
    case Outcome::kTimedOut:
    case Outcome::kLost:
      break;
  }
  if (end.outcome == Outcome::kFailed) counters_.failed++;
  if (end.outcome == Outcome::kTimedOut) counters_.timed_out++;
  if (end.outcome == Outcome::kLost) counters_.lost++;
  if (end.counts) job.failures++;
  const std::string error = end.error.empty() ? std::string(OutcomeName(end.outcome)) : end.error;
  if (!end.retryable || job.failures >= job.max_attempts) {
    counters_.dead++;
    store_.metrics().Add("sluice_jobs_dead_total", {{"kind", job.kind}}, 1);
    const std::string why = end.retryable ? error : (end.error + " (not retryable)");
    LogFieldsf(LogLevel::kWarn,
               {{"job", FormatJobId(job.seq)}, {"attempt", std::to_string(job.attempt), true}, {"kind", job.kind}},
               "job %s (%s) is dead after %u attempts: %s", FormatJobId(job.seq).c_str(), job.kind.c_str(), job.attempt,
               why.c_str());
    return Finish(job, JobState::kDead, now, why, {}, fx);
  }
  counters_.retried++;
  store_.metrics().Add("sluice_job_retries_total", {{"kind", job.kind}}, 1);
  // The worker vanished: nothing to wait for, queued again at once.
  if (end.outcome == Outcome::kLost) return MakeQueued(job, now, error);
  const std::uint64_t delay =
      BackoffDelayMs(job.failures, job.backoff_ms, config_.retry.cap_ms, end.retry_after_ms, rng_);
  return MakeScheduled(job, now, now + static_cast<std::int64_t>(delay), error);
}

// ---- requests ------------------------------------------------------------------------

Status JobLifecycle::Retry(std::int64_t seq, std::int64_t now, Effects* fx) {
  (void)fx;
  Status s = store_.Begin();
  if (!s.ok()) return s;
  auto it = live_.find(seq);
  if (it != live_.end()) {
    Job& job = it->second;
    if (job.state != JobState::kScheduled)
      return Status::Conflict("job " + FormatJobId(seq) + " is " + std::string(JobStateName(job.state)) +
                              "; only dead, cancelled or scheduled jobs can be retried");
    job.failures = 0;
    counters_.retried++;
    return MakeQueued(job, now, {});
  }
  auto rec = store_.Load(seq, false);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return Status::NotFound("no job " + FormatJobId(seq));
  Job job = std::move((*rec)->job);
  if (job.state == JobState::kSucceeded) return Status::Conflict("job " + FormatJobId(seq) + " already succeeded");
  job.failures = 0;
  job.gen = 1;
  Job& revived = live_[seq] = std::move(job);
  counters_.retried++;
  LogFieldsf(LogLevel::kInfo, {{"job", FormatJobId(seq)}, {"kind", revived.kind}}, "job %s retried by request",
             FormatJobId(seq).c_str());
  return MakeQueued(revived, now, {});  // clears finished_ms
}

Status JobLifecycle::Cancel(std::int64_t seq, std::int64_t now, Effects* fx) {
  Status s = store_.Begin();
  if (!s.ok()) return s;
  auto it = live_.find(seq);
  if (it == live_.end()) {
    auto rec = store_.Load(seq, false);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) return Status::NotFound("no job " + FormatJobId(seq));
    return Status::Conflict("job " + FormatJobId(seq) + " is already " +
                            std::string(JobStateName((*rec)->job.state)));
  }
  Job& job = it->second;
  if (job.state == JobState::kRunning) {
    s = store_.InsertAttempt(job.seq, job.attempt, job.worker, job.host, job.started_ms, now,
                             Outcome::kCancelled, "cancelled by request", std::nullopt, {}, {});
    if (s.ok()) CountAttempt(job, Outcome::kCancelled, now);
    if (s.ok())
      if (KindHooks* h = hooks_.For(job.kind)) s = h->OnEnd(job, Outcome::kCancelled, "cancelled by request", {}, now);
    if (!s.ok()) return s;
    // The lease stays with the worker until it reports the attempt.
    if (Worker* w = HolderOf(job)) SendCancel(*w, job.seq, job.attempt, fx);
  }
  counters_.cancelled++;
  return Finish(job, JobState::kCancelled, now, "cancelled by request", {}, fx);
}

// ---- timers ----------------------------------------------------------------------------

Status JobLifecycle::OnTimer(std::int64_t now, Effects* fx) {
  Deadline d;
  while (timers_.PopDue(now, &d)) {
    Status s = FireTimer(d, now, fx);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status JobLifecycle::FireTimer(const Deadline& d, std::int64_t now, Effects* fx) {
  auto it = live_.find(d.seq);
  if (it == live_.end()) return Status::Ok();
  Job& job = it->second;
  if (!job.has_timer || !(Deadline{job.timer_due_ms, job.timer_kind, job.seq} == d)) return Status::Ok();
  job.has_timer = false;  // fired: TimerSet::PopDue removed it
  Status s = store_.Begin();
  if (!s.ok()) return s;
  switch (d.kind) {
    case TimerKind::kRunAt: {
      if (job.state != JobState::kScheduled) return Status::Ok();
      s = Transition(job, JobState::kQueued, now);
      if (s.ok()) s = store_.UpdateJob(job, 0, {}, {});
      if (s.ok()) Enqueue(job);
      return s;
    }
    case TimerKind::kLease: {
      if (job.state != JobState::kRunning) return Status::Ok();
      // The worker keeps its lease (it is still running it) until it reports.
      if (Worker* w = HolderOf(job)) SendCancel(*w, job.seq, job.attempt, fx);
      AttemptEnd end;
      end.outcome = Outcome::kTimedOut;
      end.error = "timed out: no result " + std::to_string(job.timeout_ms) + " ms after dispatch";
      return EndAttempt(job, end, now, fx);
    }
    case TimerKind::kOrphan: {
      if (job.state != JobState::kRunning || !job.worker.empty()) return Status::Ok();
      AttemptEnd end;
      end.outcome = Outcome::kLost;
      // Its JOB may never have left a broker that died right after sending
      // it; a worker that died with it is counted when it is removed.
      end.error = "worker lost: no worker re-announced this attempt within " + std::to_string(OrphanGraceMs()) +
                  " ms (not counted against max_attempts)";
      end.counts = false;
      dispatch_more_ = true;
      return EndAttempt(job, end, now, fx);
    }
  }
  return Status::Ok();
}

// ---- workers ---------------------------------------------------------------------------

Status JobLifecycle::AddWorker(std::unique_ptr<Worker> w, const std::vector<proto::JobAttempt>& running,
                               std::int64_t now, Effects* fx, Worker** added_out) {
  std::unique_ptr<Worker> replaced;
  Worker* added = workers_.Add(std::move(w), &replaced);
  *added_out = added;
  if (replaced) {
    // An old connection of the same worker: its leases that the worker does
    // not list as running either have a result on its way or are gone.
    for (const auto& [seq, attempt] : replaced->leases) {
      bool listed = false;
      for (const auto& p : running)
        if (ParseJobId(p.job) == seq && p.attempt == attempt) listed = true;
      auto it = live_.find(seq);
      if (it == live_.end() || it->second.state != JobState::kRunning || it->second.attempt != attempt) {
        // Timed out or cancelled before: the worker is told to stop it
        // (AdoptRunning) and keeps the lease until it reports; not listed,
        // it is gone, and so is its slot of a concurrency key.
        if (listed)
          added->leases.insert({seq, attempt});
        else
          ReleaseKeyIfFree(seq, attempt);
        continue;
      }
      if (!listed) Orphan(it->second, now);
    }
  }
  dispatch_more_ = true;
  return AdoptRunning(*added, running, now, fx);
}

Status JobLifecycle::AdoptRunning(Worker& w, const std::vector<proto::JobAttempt>& running, std::int64_t now,
                                  Effects* fx) {
  for (const auto& p : running) {
    auto seq = ParseJobId(p.job);
    auto it = seq ? live_.find(*seq) : live_.end();
    bool adopt = false;
    if (it != live_.end()) {
      Job& job = it->second;
      Worker* holder = HolderOf(job);
      if (job.state == JobState::kRunning && job.attempt == p.attempt && (holder == nullptr || holder == &w)) {
        adopt = true;
      } else if (legacy_queued_ && job.state == JobState::kQueued && p.attempt == job.attempt + 1 &&
                 writable_(now)) {
        // Running on this worker under a broker that did not write its
        // dispatches (a database of an earlier version): adopt that attempt,
        // and write it as this version writes a dispatch.
        Status s = MakeRunning(job, p.attempt, now);
        if (s.ok()) s = store_.UpdateJob(job, 0, {}, {});
        if (!s.ok()) return s;
        adopt = true;
      }
      if (adopt) {
        job.worker = w.id;
        job.host = w.host;
        DisarmTimer(job);  // the orphan timer
        w.leases.insert({job.seq, job.attempt});
        if (job.timeout_ms > 0)
          ArmTimer(job, TimerKind::kLease,
                   job.started_ms + static_cast<std::int64_t>(job.timeout_ms) + LeaseGraceMs());
      }
    }
    if (!adopt) {
      // Finished, re-run elsewhere, or unknown: the worker is told to drop it.
      std::string body;
      proto::Encode(proto::CancelMsg{p.job, p.attempt}, &body);
      fx->send_now.push_back({w.routing_id, proto::Command::kCancel, std::move(body)});
    }
  }
  return Status::Ok();
}

Status JobLifecycle::RemoveWorker(const std::string& rid, const std::string& why, std::int64_t now, Effects* fx) {
  auto w = workers_.Remove(rid);
  if (!w) return Status::Ok();
  dispatch_more_ = true;
  const bool writable = writable_(now);
  Logf("worker %s (host %s) removed: %s; %zu attempts %s", w->id.c_str(), w->host.c_str(), why.c_str(),
       w->leases.size(), writable ? "lost" : "orphaned (the state database does not take writes)");
  for (const auto& [seq, attempt] : w->leases) {
    auto it = live_.find(seq);
    if (it == live_.end() || it->second.state != JobState::kRunning || it->second.attempt != attempt ||
        it->second.worker != w->id) {
      ReleaseKeyIfFree(seq, attempt);  // an attempt it still ran after a timeout or a cancel
      continue;
    }
    Job& job = it->second;
    if (!writable) {
      // Recorded lost by its orphan timer, once writes work again (unless
      // the worker comes back with it first).
      Orphan(job, now);
      continue;
    }
    AttemptEnd end;
    end.outcome = Outcome::kLost;
    end.error = "worker lost: " + why + " (worker " + w->id + " on " + w->host + ")";
    Status s = EndAttempt(job, end, now, fx);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

void JobLifecycle::SetSlots(Worker& w, std::uint32_t slots) {
  w.slots = slots;
  dispatch_more_ = true;
}

// ---- reads -----------------------------------------------------------------------------

const Job* JobLifecycle::Find(std::int64_t seq) const {
  auto it = live_.find(seq);
  return it == live_.end() ? nullptr : &it->second;
}

std::vector<std::int64_t> JobLifecycle::RunningSeqs(const std::string& queue, const std::string& kind) const {
  std::vector<std::int64_t> seqs;
  for (const auto& [seq, j] : live_)
    if (j.state == JobState::kRunning && (queue.empty() || j.queue == queue) && (kind.empty() || j.kind == kind))
      seqs.push_back(seq);
  std::sort(seqs.rbegin(), seqs.rend());
  return seqs;
}

std::size_t JobLifecycle::running_count() const {
  std::size_t n = 0;
  for (const auto& [seq, j] : live_) n += j.state == JobState::kRunning;
  return n;
}

void JobLifecycle::OverlayLive(JobRecord* r) const {
  const Job* j = Find(r->job.seq);
  if (j == nullptr) return;
  r->job.state = j->state;
  r->job.attempt = j->attempt;
  if (j->state != JobState::kRunning) return;
  AttemptRecord a;
  a.attempt = j->attempt;
  a.worker = j->worker;
  a.host = j->host;
  a.started_ms = j->started_ms;
  r->attempts.push_back(std::move(a));
}

std::string JobLifecycle::WaitingReason(const Job& job) const {
  if (job.state != JobState::kQueued) return {};
  if (!workers_.AnyServes(job.queue, job.kind))
    return "no connected worker runs kind '" + job.kind + "' on queue '" + job.queue + "'";
  return "waiting for a free worker slot";
}

void JobLifecycle::OnPruned(const JobStore::PrunedCounts& by_queue) {
  for (const auto& [queue, by_state] : by_queue)
    for (int i = 0; i < kJobStateCount; ++i) counts_.Add(queue, static_cast<JobState>(i), -by_state[i]);
}

std::map<std::string, std::int64_t> JobLifecycle::OldestQueued() const {
  std::map<std::string, std::int64_t> out;
  for (const auto& [seq, job] : live_) {
    if (job.state != JobState::kQueued) continue;
    auto [it, inserted] = out.emplace(job.queue, job.run_at_ms);
    if (!inserted) it->second = std::min(it->second, job.run_at_ms);
  }
  return out;
}

}  // namespace sluice::broker
