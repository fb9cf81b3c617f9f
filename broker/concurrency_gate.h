// ConcurrencyGate: at most `limit` attempts per concurrency key may be
// running anywhere. An attempt holds one slot of its key from its dispatch
// until both its job has left it (succeeded, failed, timed out, cancelled,
// lost) and no worker holds its lease any more: a timed-out or cancelled
// attempt may still run on its worker until that worker reports it, so its
// slot is not free before then (a lakehouse "single writer" that timed out
// must not overlap the next one). The broker asks MayRun() before
// dispatching and parks jobs that may not run yet; when a slot of the key is
// released, its parked jobs go back to the ready queues (those over the
// limit park again).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/ready_queue.h"

namespace sluice::broker {

struct ParkedJob {
  std::string queue;
  std::string kind;
  ReadyEntry entry;
};

class ConcurrencyGate {
 public:
  using Attempt = std::pair<std::int64_t, std::uint32_t>;  // (job seq, attempt)

  bool MayRun(const std::string& key, std::uint32_t limit) const;
  // The attempt takes a slot of `key` (an empty key: nothing). Holding it
  // already is a no-op.
  void Hold(const std::string& key, Attempt attempt);
  bool Holds(Attempt attempt) const { return holders_.count(attempt) != 0; }
  // Frees the attempt's slot, if it holds one, and moves the jobs parked on
  // its key into `unparked`. Returns whether a slot was freed.
  bool Release(Attempt attempt, std::vector<ParkedJob>* unparked);
  void Park(const std::string& key, ParkedJob job) { parked_[key].push_back(std::move(job)); }
  std::int64_t running(const std::string& key) const;
  std::size_t parked() const;
  std::size_t holders() const { return holders_.size(); }

 private:
  std::map<Attempt, std::string> holders_;
  std::unordered_map<std::string, std::int64_t> running_;
  std::unordered_map<std::string, std::vector<ParkedJob>> parked_;
};

}  // namespace sluice::broker
