#include "workers/unacked_results.h"

#include <algorithm>
#include <utility>

namespace sluice::worker {

const std::string& UnackedResults::Add(JobKeyView key, std::string body) {
  auto it = results_.find(key);
  if (it == results_.end())
    it = results_.emplace(JobKey{std::string(key.job), key.attempt}, Entry{}).first;
  it->second.seq = next_seq_++;
  it->second.body = std::move(body);
  return it->second.body;
}

bool UnackedResults::Ack(JobKeyView key) {
  auto it = results_.find(key);
  if (it == results_.end()) return false;
  results_.erase(it);
  return true;
}

const std::string* UnackedResults::Find(JobKeyView key) const {
  auto it = results_.find(key);
  return it == results_.end() ? nullptr : &it->second.body;
}

std::vector<const std::string*> UnackedResults::InOrder() const {
  std::vector<std::pair<std::uint64_t, const std::string*>> v;
  v.reserve(results_.size());
  for (const auto& [key, entry] : results_) v.emplace_back(entry.seq, &entry.body);
  std::sort(v.begin(), v.end());
  std::vector<const std::string*> out;
  out.reserve(v.size());
  for (const auto& [seq, body] : v) out.push_back(body);
  return out;
}

}  // namespace sluice::worker
