#include "broker/state_counts.h"

namespace sluice::broker {

void StateCounts::Add(const std::string& queue, JobState s, std::int64_t delta) {
  totals_[static_cast<int>(s)] += delta;
  auto& all = all_by_queue_[queue];
  all[static_cast<int>(s)] += delta;
  bool any = false;
  for (std::int64_t n : all) any = any || n != 0;
  if (!any) all_by_queue_.erase(queue);
  int live = s == JobState::kScheduled ? 0 : s == JobState::kQueued ? 1 : s == JobState::kRunning ? 2 : -1;
  if (live < 0) return;
  auto& q = by_queue_[queue];
  q[live] += delta;
  if (q[0] == 0 && q[1] == 0 && q[2] == 0) by_queue_.erase(queue);
}

}  // namespace sluice::broker
