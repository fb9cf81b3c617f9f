#include "broker/ready_queue.h"

namespace sluice::broker {

void ReadyQueues::Push(const std::string& queue, const std::string& kind, ReadyEntry e) {
  queues_[queue][kind].push(e);
  ++size_;
}

std::optional<ReadyEntry> ReadyQueues::PopBest(const std::vector<std::string>& queues,
                                               const std::unordered_set<std::string>& kinds,
                                               const Valid& valid) {
  Heap* best = nullptr;
  Worse worse;
  for (const auto& q : queues) {
    auto qit = queues_.find(q);
    if (qit == queues_.end()) continue;
    for (auto& [kind, heap] : qit->second) {
      if (!kinds.count(kind)) continue;
      while (!heap.empty() && !valid(heap.top())) {
        heap.pop();
        --size_;
      }
      if (heap.empty()) continue;
      if (best == nullptr || worse(best->top(), heap.top())) best = &heap;
    }
  }
  if (best == nullptr) return std::nullopt;
  ReadyEntry e = best->top();
  best->pop();
  --size_;
  return e;
}

void ReadyQueues::Clear() {
  queues_.clear();
  size_ = 0;
}

}  // namespace sluice::broker
