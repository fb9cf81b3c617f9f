#include "broker/retention.h"

namespace sluice::broker {
namespace {
constexpr std::int64_t kPeriodMs = 60 * 1000;
constexpr std::int64_t kSoonMs = 50;
constexpr int kChunk = 2000;
}  // namespace

Status Retention::Run(std::int64_t now, JobStore& jobs, RunStore& runs, JobStore::PrunedCounts* by_queue) {
  Status s = jobs.Prune(now - retention_ms_, kChunk, &cursor_, by_queue);
  if (!s.ok()) return s;
  std::int64_t deleted = 0;
  for (const auto& [queue, by_state] : *by_queue)
    for (std::int64_t n : by_state) deleted += n;
  pruned_ += deleted;
  // Finished workflow runs age out with their jobs (runs still in memory
  // have live stage jobs and are not finished long enough ago).
  auto pruned_runs = runs.Prune(now - retention_ms_, kChunk);
  if (!pruned_runs.ok()) return pruned_runs.status();
  runs_++;
  last_ms_ = now;
  next_ms_ = now + (cursor_ != 0 || deleted > 0 || *pruned_runs > 0 ? kSoonMs : kPeriodMs);
  return Status::Ok();
}

}  // namespace sluice::broker
