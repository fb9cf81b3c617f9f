// Time-driven work: due timers, silent workers, heartbeats, and the named
// periodic tasks (retention). WAL checkpoints run on their own thread
// (checkpointer.h).
#include "broker/broker.h"
#include "broker/log.h"

namespace sluice::broker {
namespace {
constexpr std::int64_t kRetentionPeriodMs = 60 * 1000;
constexpr int kPruneChunk = 2000;
}  // namespace

void Broker::Tick(std::int64_t now) {
  // Timers write (a retry queued, a lease or orphan ended): they wait while
  // the state database does not take writes.
  Deadline d;
  if (degraded_) (void)Writable(now);  // the probe: held results are recorded once it succeeds
  if (!timers_.empty() && timers_.next_due_ms() <= now && Writable(now))
    while (fatal_.ok() && timers_.PopDue(now, &d)) OnTimer(d, now);

  std::vector<std::pair<std::string, std::int64_t>> silent;
  workers_.ForEach([&](Worker& w) {
    const std::int64_t limit = static_cast<std::int64_t>(config_.liveness) * w.heartbeat_ms;
    if (now - w.last_seen_ms > limit) {
      silent.emplace_back(w.routing_id, now - w.last_seen_ms);
    } else if (now - w.last_sent_ms >= w.heartbeat_ms) {
      SendNow(w, proto::Command::kHeartbeat, {});
    }
  });
  for (const auto& [rid, ms] : silent)
    RemoveWorker(rid, "no heartbeat for " + std::to_string(ms) + " ms", now);

  RunPeriodicTasks(now);
}

std::int64_t Broker::NextTaskDueMs() const { return retention_task_.next_ms; }

void Broker::RunPeriodicTasks(std::int64_t now) {
  if (now >= retention_task_.next_ms && fatal_.ok() && Writable(now)) {
    // Prune finished jobs past the retention age, a chunk per turn so the
    // loop never stalls; come back soon while there is more.
    if (!Db(store_.Begin())) return;
    std::array<std::int64_t, 7> by_state{};
    if (!Db(store_.Prune(now - config_.retention_ms, kPruneChunk, &prune_cursor_, &by_state))) return;
    std::int64_t deleted = 0;
    for (int i = 0; i < 7; ++i) {
      // Pruned jobs leave the totals; terminal states have no per-queue counts.
      counts_.Add({}, static_cast<JobState>(i), -by_state[i]);
      deleted += by_state[i];
    }
    counters_.pruned += deleted;
    // Finished workflow runs age out with their jobs (runs still in memory
    // have live stage jobs and are not finished long enough ago).
    auto runs = run_store_.Prune(now - config_.retention_ms, kPruneChunk);
    if (!Db(runs.status())) return;
    deleted += *runs;
    retention_task_.runs++;
    retention_task_.last_ms = now;
    retention_task_.next_ms = now + (prune_cursor_ != 0 || deleted > 0 ? 50 : kRetentionPeriodMs);
    if (deleted > 0 && config_.verbose)
      Logf("retention: pruned %lld finished jobs", static_cast<long long>(deleted));
  }
}

}  // namespace sluice::broker
