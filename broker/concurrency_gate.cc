#include "broker/concurrency_gate.h"

namespace sluice::broker {

bool ConcurrencyGate::MayRun(const std::string& key, std::uint32_t limit) const {
  if (key.empty()) return true;
  return running(key) < static_cast<std::int64_t>(limit == 0 ? 1 : limit);
}

void ConcurrencyGate::Hold(const std::string& key, Attempt attempt) {
  if (key.empty()) return;
  if (holders_.emplace(attempt, key).second) ++running_[key];
}

bool ConcurrencyGate::Release(Attempt attempt, const Valid& valid, std::vector<ParkedJob>* unparked) {
  auto h = holders_.find(attempt);
  if (h == holders_.end()) return false;
  const std::string key = std::move(h->second);
  holders_.erase(h);
  auto it = running_.find(key);
  if (it != running_.end() && --it->second <= 0) running_.erase(it);
  Unpark(key, valid, unparked);
  return true;
}

void ConcurrencyGate::Unpark(const std::string& key, const Valid& valid, std::vector<ParkedJob>* unparked) {
  auto p = parked_.find(key);
  if (p == parked_.end()) return;
  Heap& heap = p->second;
  std::int64_t taken = running(key);  // plus the ones unparked here
  while (!heap.empty()) {
    const ParkedJob& best = heap.top();
    if (!valid(best.entry)) {  // cancelled while parked
      heap.pop();
      continue;
    }
    if (taken >= static_cast<std::int64_t>(best.limit == 0 ? 1 : best.limit)) break;
    unparked->push_back(best);
    heap.pop();
    ++taken;
  }
  if (heap.empty()) parked_.erase(p);
}

void ConcurrencyGate::Park(const std::string& key, ParkedJob job) { parked_[key].push(std::move(job)); }

std::int64_t ConcurrencyGate::running(const std::string& key) const {
  auto it = running_.find(key);
  return it == running_.end() ? 0 : it->second;
}

std::size_t ConcurrencyGate::parked() const {
  std::size_t n = 0;
  for (const auto& [k, v] : parked_) n += v.size();
  return n;
}

}  // namespace sluice::broker
