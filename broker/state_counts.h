// StateCounts: how many jobs are in each state, overall and per queue, kept
// in memory so STATS and /metrics cost no table scan. Loaded once from the
// store at start, then moved along with every state change (and pruning).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "schemas/job_state.h"

namespace sluice::broker {

class StateCounts {
 public:
  static constexpr int kStates = kJobStateCount;
  // Per queue: scheduled, queued, running.
  using LiveCounts = std::array<std::int64_t, 3>;
  using Counts = std::array<std::int64_t, kStates>;

  void Add(const std::string& queue, JobState s, std::int64_t delta);
  void Move(const std::string& queue, JobState from, JobState to) {
    Add(queue, from, -1);
    Add(queue, to, +1);
  }
  std::int64_t total(JobState s) const { return totals_[static_cast<int>(s)]; }
  const std::map<std::string, LiveCounts>& live_by_queue() const { return by_queue_; }
  // Every state, per queue that has a job in any state.
  const std::map<std::string, Counts>& all_by_queue() const { return all_by_queue_; }

 private:
  std::array<std::int64_t, kStates> totals_{};
  std::map<std::string, LiveCounts> by_queue_;
  std::map<std::string, Counts> all_by_queue_;
};

}  // namespace sluice::broker
