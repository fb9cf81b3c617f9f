// ReadyQueues: the queued jobs, in memory, per (queue, kind): higher
// priority first, then older (lower seq) first. Entries are not removed when
// a job leaves the queued state; they carry the job's generation and are
// dropped when found stale (the caller's `valid` predicate says so).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sluice::broker {

struct ReadyEntry {
  std::int64_t priority = 0;
  std::int64_t seq = 0;
  std::uint64_t gen = 0;
};

class ReadyQueues {
 public:
  using Valid = std::function<bool(const ReadyEntry&)>;

  void Push(const std::string& queue, const std::string& kind, ReadyEntry e);
  // Removes and returns the best valid entry among `queues` x `kinds`.
  std::optional<ReadyEntry> PopBest(const std::vector<std::string>& queues,
                                    const std::unordered_set<std::string>& kinds, const Valid& valid);
  // Entries held, stale ones included.
  std::size_t size() const { return size_; }
  void Clear();

 private:
  struct Worse {
    bool operator()(const ReadyEntry& a, const ReadyEntry& b) const {
      if (a.priority != b.priority) return a.priority < b.priority;
      return a.seq > b.seq;
    }
  };
  using Heap = std::priority_queue<ReadyEntry, std::vector<ReadyEntry>, Worse>;
  std::unordered_map<std::string, std::unordered_map<std::string, Heap>> queues_;
  std::size_t size_ = 0;
};

}  // namespace sluice::broker
