// The job lifecycle: every state change of a job happens here, checked
// against the transition table (schemas/job_state.h) and written to the
// store in the turn's transaction.
#include <cassert>

#include "broker/alert_error.h"
#include "broker/broker.h"
#include "broker/log.h"
#include "schemas/job_id.h"

namespace sluice::broker {
void Broker::SetState(Job& job, JobState to, std::int64_t now) {
  assert(CanTransition(job.state, to));
  counts_.Move(job.queue, job.state, to);
  const bool left_running = job.state == JobState::kRunning && to != JobState::kRunning;
  job.state = to;
  job.updated_ms = now;
  ++job.gen;
  DisarmTimer(job);  // every timer belongs to the state it was armed in
  // Its key's slot is taken by the caller once the attempt number is set
  // (HoldKey), and freed here only when no worker still runs the attempt.
  if (left_running) ReleaseKeyIfFree(job.seq, job.attempt);
  // A stage of a workflow run: its run moves on after this turn's handling
  // (not here: that may submit jobs while `job` is referenced).
  if (IsTerminal(to) && run_of_job_.count(job.seq)) run_events_.push_back({job.seq, to});
}

void Broker::ReleaseKeyIfFree(std::int64_t seq, std::uint32_t attempt) {
  if (!gate_.Holds({seq, attempt})) return;
  auto it = live_.find(seq);
  if (it != live_.end() && it->second.state == JobState::kRunning && it->second.attempt == attempt) return;
  bool leased = false;
  workers_.ForEach([&](Worker& w) { leased = leased || w.leases.count({seq, attempt}) != 0; });
  if (leased) return;  // timed out or cancelled, still running on its worker
  std::vector<ParkedJob> unparked;
  gate_.Release({seq, attempt}, &unparked);
  for (auto& p : unparked) ready_.Push(p.queue, p.kind, p.entry);
  if (!unparked.empty()) dispatch_more_ = true;
}

void Broker::ArmTimer(Job& job, TimerKind kind, std::int64_t due_ms) {
  DisarmTimer(job);
  job.has_timer = true;
  job.timer_kind = kind;
  job.timer_due_ms = due_ms;
  timers_.Add({due_ms, kind, job.seq});
}

void Broker::DisarmTimer(Job& job) {
  if (!job.has_timer) return;
  timers_.Erase({job.timer_due_ms, job.timer_kind, job.seq});
  job.has_timer = false;
}

proto::SubmittedJob Broker::SubmitOne(const proto::JobSpec& spec, std::int64_t now) {
  if (!spec.key.empty()) {
    auto found = store_.FindKey(spec.key);
    if (!Db(found.status())) return {};
    if (found->has_value()) return {FormatJobId((*found)->first), false, (*found)->second};
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
  if (j.concurrency_key.empty() && j.kind == kExtractKind)
    DefaultExtractConcurrency(j.params, &j.concurrency_key, &j.concurrency_limit);
  if (j.concurrency_key.empty() && IsLakehouseKind(j.kind)) {
    j.concurrency_key = kLakehouseConcurrencyKey;
    j.concurrency_limit = 1;
  }
  if (!j.concurrency_key.empty() && j.concurrency_limit == 0) j.concurrency_limit = 1;
  j.state = j.run_at_ms > now ? JobState::kScheduled : JobState::kQueued;
  j.gen = 1;
  if (!Db(store_.InsertJob(j))) return {};
  counts_.Add(j.queue, j.state, +1);
  counters_.submitted++;
  proto::SubmittedJob out{FormatJobId(j.seq), true, j.state};
  Job& job = live_[j.seq] = std::move(j);
  if (job.state == JobState::kScheduled) ArmTimer(job, TimerKind::kRunAt, job.run_at_ms);
  else Enqueue(job);
  return out;
}

void Broker::Enqueue(const Job& job) {
  // Dispatching it in this same transaction is safe: its JOB goes out only
  // after the commit that stores both the job and its dispatch.
  ready_.Push(job.queue, job.kind, {job.priority, job.seq, job.gen});
  dispatch_more_ = true;
}

void Broker::Dispatch(std::int64_t now) {
  if (now < dispatch_hold_until_ms_) return;  // dispatch_more_ stays set
  if (ready_.size() == 0) {
    dispatch_more_ = false;
    return;
  }
  bool any_credit = false;
  workers_.ForEach([&](Worker& w) { any_credit = any_credit || w.credit() > 0; });
  if (!any_credit) {
    dispatch_more_ = false;
    return;
  }
  if (!Writable(now)) return;  // dispatch_more_ stays set: tried again after the next probe
  dispatch_more_ = false;
  auto valid = [this](const ReadyEntry& e) {
    auto it = live_.find(e.seq);
    return it != live_.end() && it->second.gen == e.gen && it->second.state == JobState::kQueued;
  };
  workers_.ForEach([&](Worker& w) {
    while (w.credit() > 0 && fatal_.ok()) {
      auto e = ready_.PopBest(w.queues, w.kinds, valid);
      if (!e) break;
      Job& job = live_[e->seq];
      if (!gate_.MayRun(job.concurrency_key, job.concurrency_limit)) {
        gate_.Park(job.concurrency_key, {job.queue, job.kind, *e});
        continue;
      }
      const std::string* params = &job.params;
      if (job.kind == kExtractKind) {
        // Kind-specific: the run row, and the cursor and period in the params.
        Job next = job;
        next.attempt = job.attempt + 1;
        if (!Db(extract_.OnDispatch(next, now, &extract_params_))) return;
        params = &extract_params_;
      }
      scratch_.clear();
      proto::EncodeJob(FormatJobId(job.seq), job.attempt + 1, job.kind, job.queue, *params,
                       job.timeout_ms, &scratch_);
      SetState(job, JobState::kRunning, now);
      job.attempt++;
      job.worker = w.id;
      job.host = w.host;
      job.started_ms = now;
      HoldKey(job);
      // The dispatch is written, and its JOB sent only after that commit:
      // a restarted broker knows every attempt that may be running.
      if (!Db(store_.UpdateJob(job, 0, {}, {}))) return;
      Defer(w.routing_id, proto::Command::kJob, scratch_);
      w.leases.insert({job.seq, job.attempt});
      if (job.timeout_ms > 0)
        ArmTimer(job, TimerKind::kLease,
                 now + static_cast<std::int64_t>(job.timeout_ms) + LeaseGraceMs());
      counters_.dispatched++;
    }
  });
}

void Broker::RecordResult(Worker& from, const proto::JobResult& r, std::int64_t now) {
  auto seq = ParseJobId(r.job);
  if (seq) {
    from.leases.erase({*seq, r.attempt});
    // A timed-out or cancelled attempt ends here, on its worker: its slot
    // of the concurrency key is free now.
    ReleaseKeyIfFree(*seq, r.attempt);
  }
  auto it = seq ? live_.find(*seq) : live_.end();
  Job* job = it != live_.end() ? &it->second : nullptr;
  if (legacy_queued_ && job != nullptr && job->state == JobState::kQueued && r.attempt == job->attempt + 1) {
    // Ran under a broker that did not write its dispatches (a database of
    // an earlier version, loaded as queued): this is that attempt's result.
    SetState(*job, JobState::kRunning, now);
    job->attempt = r.attempt;
    job->started_ms = now;
    job->worker.clear();
    HoldKey(*job);
  }
  // The current attempt of a live job is recorded from the worker holding
  // its lease; when no lease is known (after a restart, or an orphan), from
  // any worker that has sent READY. Anything else was recorded already, or
  // the attempt was declared lost, timed out or cancelled: ACKed, ignored.
  if (job == nullptr || job->state != JobState::kRunning || job->attempt != r.attempt ||
      (!job->worker.empty() && job->worker != from.id)) {
    counters_.duplicate_results++;
    return;
  }
  if (Worker* holder = job->worker.empty() ? nullptr : workers_.ById(job->worker))
    holder->leases.erase({job->seq, job->attempt});
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
  EndAttempt(*job, end, now);
}

void Broker::EndAttempt(Job& job, const AttemptEnd& end, std::int64_t now) {
  if (!Db(store_.Begin())) return;
  if (!Db(store_.InsertAttempt(job.seq, job.attempt, job.worker, job.host, job.started_ms, now,
                               end.outcome, end.error, end.exit_code, end.stdout_tail,
                               end.stderr_tail)))
    return;
  if (job.kind == kExtractKind && !Db(extract_.OnEnd(job, end.outcome, end.error, end.outputs, now)))
    return;
  job.worker.clear();
  switch (end.outcome) {
    case Outcome::kSucceeded:
      SetState(job, JobState::kSucceeded, now);
      counters_.succeeded++;
      Db(store_.UpdateJob(job, now, {}, end.outputs.empty() ? proto::kEmptyMap : end.outputs));
      Forget(job.seq);
      return;
    case Outcome::kReturned:
      counters_.returned++;
      MakeQueued(job, now);
      return;
    case Outcome::kCancelled:  // only by request; the job is already handled
      return;
    case Outcome::kFailed:
    case Outcome::kTimedOut:
    case Outcome::kLost:
      break;
  }
  if (end.outcome == Outcome::kFailed) counters_.failed++;
  if (end.outcome == Outcome::kTimedOut) counters_.timed_out++;
  if (end.outcome == Outcome::kLost) counters_.lost++;
  if (end.counts) job.failures++;
  if (!end.retryable || job.failures >= job.max_attempts) {
    SetState(job, JobState::kDead, now);
    counters_.dead++;
    std::string why = end.error;
    if (!end.retryable) why += " (not retryable)";
    Db(store_.UpdateJob(job, now, why.empty() ? std::string(OutcomeName(end.outcome)) : why, {}));
    Logf("job %s (%s) is dead after %u attempts: %s", FormatJobId(job.seq).c_str(),
         job.kind.c_str(), job.attempt, why.c_str());
    // A stage of a workflow run: its run's alert says which stage died and
    // why (FinishRun); one failure, one post.
    if (!run_of_job_.count(job.seq)) {
      const std::string error = AlertErrorExcerpt(why.empty() ? std::string(OutcomeName(end.outcome)) : why);
      Alert("sluice: job " + FormatJobId(job.seq) + " (" + job.kind + ") is dead",
            "Job " + FormatJobId(job.seq) + " of kind " + job.kind + " on queue " + job.queue + " failed " +
                std::to_string(job.failures) + " times and will not be retried. Last error: " + error);
    }
    Forget(job.seq);
    return;
  }
  counters_.retried++;
  const std::string error = end.error.empty() ? std::string(OutcomeName(end.outcome)) : end.error;
  if (end.outcome == Outcome::kLost) {
    // The worker vanished; nothing to wait for: re-queued at once.
    MakeQueued(job, now, error);
    return;
  }
  std::uint64_t delay = BackoffDelayMs(job.failures, job.backoff_ms, config_.retry.cap_ms,
                                       end.retry_after_ms, rng_);
  MakeScheduled(job, now, now + static_cast<std::int64_t>(delay));
  Db(store_.UpdateJob(job, 0, error, {}));
}

void Broker::MakeQueued(Job& job, std::int64_t now, std::string_view last_error) {
  SetState(job, JobState::kQueued, now);
  job.run_at_ms = now;
  Db(store_.UpdateJob(job, 0, last_error, {}));
  Enqueue(job);
}

void Broker::MakeScheduled(Job& job, std::int64_t now, std::int64_t run_at_ms) {
  SetState(job, JobState::kScheduled, now);
  job.run_at_ms = run_at_ms;
  ArmTimer(job, TimerKind::kRunAt, run_at_ms);
}

void Broker::Forget(std::int64_t seq) {
  auto it = live_.find(seq);
  if (it == live_.end()) return;
  DisarmTimer(it->second);
  live_.erase(it);
}

void Broker::Orphan(Job& job, std::int64_t now) {
  job.worker.clear();
  ArmTimer(job, TimerKind::kOrphan, now + OrphanGraceMs());  // replaces its lease timer
}

void Broker::AdoptRunning(Worker& w, const std::vector<proto::JobAttempt>& running,
                          std::int64_t now) {
  for (const auto& p : running) {
    auto seq = ParseJobId(p.job);
    auto it = seq ? live_.find(*seq) : live_.end();
    bool adopt = false;
    if (it != live_.end()) {
      Job& job = it->second;
      Worker* holder = job.worker.empty() ? nullptr : workers_.ById(job.worker);
      if (job.state == JobState::kRunning && job.attempt == p.attempt &&
          (holder == nullptr || holder == &w)) {
        adopt = true;
      } else if (legacy_queued_ && job.state == JobState::kQueued && p.attempt == job.attempt + 1 &&
                 Writable(now)) {
        // Running on this worker under a broker that did not write its
        // dispatches (a database of an earlier version): adopt that attempt,
        // and write it as this version writes a dispatch.
        SetState(job, JobState::kRunning, now);
        job.attempt = p.attempt;
        job.started_ms = now;
        HoldKey(job);
        Db(store_.UpdateJob(job, 0, {}, {}));
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
      // Finished, re-run elsewhere, or unknown: tell the worker to drop it.
      std::string body;
      proto::Encode(proto::CancelMsg{p.job, p.attempt}, &body);
      SendNow(w, proto::Command::kCancel, body);
    }
  }
}

void Broker::RemoveWorker(const std::string& rid, const std::string& why, std::int64_t now) {
  auto w = workers_.Remove(rid);
  if (!w) return;
  const bool writable = Writable(now);
  Logf("worker %s (host %s) removed: %s; %zu attempts %s", w->id.c_str(), w->host.c_str(),
       why.c_str(), w->leases.size(), writable ? "lost" : "orphaned (the state database does not take writes)");
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
    EndAttempt(job, end, now);
  }
  dispatch_more_ = true;
}

Status Broker::RetryJob(std::int64_t seq, std::int64_t now) {
  Status s = store_.Begin();
  if (!Db(s)) return s;
  auto it = live_.find(seq);
  if (it != live_.end()) {
    Job& job = it->second;
    if (job.state != JobState::kScheduled)
      return Status::Conflict("job " + FormatJobId(seq) + " is " +
                              std::string(JobStateName(job.state)) + "; only dead, cancelled, "
                              "upstream_failed or scheduled jobs can be retried");
    job.failures = 0;
    MakeQueued(job, now);
    counters_.retried++;
    return Status::Ok();
  }
  auto rec = store_.Load(seq, false);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return Status::NotFound("no job " + FormatJobId(seq));
  Job job = std::move((*rec)->job);
  if (job.state == JobState::kSucceeded)
    return Status::Conflict("job " + FormatJobId(seq) + " already succeeded");
  job.failures = 0;
  job.gen = 1;
  Job& live = live_[seq] = std::move(job);
  MakeQueued(live, now);  // clears finished_ms
  counters_.retried++;
  Logf("job %s retried by request", FormatJobId(seq).c_str());
  return Status::Ok();
}

Status Broker::CancelJob(std::int64_t seq, std::int64_t now) {
  Status s = store_.Begin();
  if (!Db(s)) return s;
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
    Db(store_.InsertAttempt(job.seq, job.attempt, job.worker, job.host, job.started_ms, now,
                            Outcome::kCancelled, "cancelled by request", std::nullopt, {}, {}));
    if (job.kind == kExtractKind)
      Db(extract_.OnEnd(job, Outcome::kCancelled, "cancelled by request", {}, now));
    // The lease stays with the worker until it reports the attempt.
    if (Worker* w = job.worker.empty() ? nullptr : workers_.ById(job.worker)) {
      std::string body;
      proto::Encode(proto::CancelMsg{FormatJobId(job.seq), job.attempt}, &body);
      SendNow(*w, proto::Command::kCancel, body);
    }
  }
  SetState(job, JobState::kCancelled, now);
  counters_.cancelled++;
  Db(store_.UpdateJob(job, now, "cancelled by request", {}));
  Forget(seq);
  return Status::Ok();
}

void Broker::OnTimer(const Deadline& d, std::int64_t now) {
  auto it = live_.find(d.seq);
  if (it == live_.end()) return;
  Job& job = it->second;
  if (!job.has_timer || !(Deadline{job.timer_due_ms, job.timer_kind, job.seq} == d)) return;
  job.has_timer = false;  // fired: TimerSet::PopDue removed it
  switch (d.kind) {
    case TimerKind::kRunAt:
      if (job.state != JobState::kScheduled) return;
      if (!Db(store_.Begin())) return;
      SetState(job, JobState::kQueued, now);
      Db(store_.UpdateJob(job, 0, {}, {}));
      ready_.Push(job.queue, job.kind, {job.priority, job.seq, job.gen});
      dispatch_more_ = true;
      return;
    case TimerKind::kLease: {
      if (job.state != JobState::kRunning) return;
      // The worker keeps its lease (it is still running it) until it reports.
      if (Worker* w = job.worker.empty() ? nullptr : workers_.ById(job.worker)) {
        std::string body;
        proto::Encode(proto::CancelMsg{FormatJobId(job.seq), job.attempt}, &body);
        SendNow(*w, proto::Command::kCancel, body);
      }
      AttemptEnd end;
      end.outcome = Outcome::kTimedOut;
      end.error = "timed out: no result " + std::to_string(job.timeout_ms) + " ms after dispatch";
      EndAttempt(job, end, now);
      return;
    }
    case TimerKind::kOrphan: {
      if (job.state != JobState::kRunning || !job.worker.empty()) return;
      AttemptEnd end;
      end.outcome = Outcome::kLost;
      // Its JOB may never have left a broker that died right after sending
      // it; a worker that died with it is counted when it is removed.
      end.error = "worker lost: no worker re-announced this attempt within " +
                  std::to_string(OrphanGraceMs()) + " ms (not counted against max_attempts)";
      end.counts = false;
      EndAttempt(job, end, now);
      dispatch_more_ = true;
      return;
    }
  }
}

}  // namespace sluice::broker
