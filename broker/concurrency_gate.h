// ConcurrencyGate: at most `limit` attempts per concurrency key may be
// running anywhere. An attempt holds one slot of its key from its dispatch
// until both its job has left it (succeeded, failed, timed out, cancelled,
// lost) and no worker holds its lease any more: a timed-out or cancelled
// attempt may still run on its worker until that worker reports it, so its
// slot is not free before then (a lakehouse "single writer" that timed out
// must not overlap the next one). The broker asks MayRun() before
// dispatching and parks jobs that may not run yet, per key, best first
// (priority, then age: the ready queues' order). When a slot of the key is
// released, as many parked jobs go back to the ready queues as the key has
// free slots (one, usually), not all of them: with thousands parked on a key
// of 8, moving every one back and parking it again cost O(parked) per
// release (630 µs of broker CPU per job at 4,000 extract jobs).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
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
  std::uint32_t limit = 1;  // the job's concurrency_limit (0 counts as 1)
};

class ConcurrencyGate {
 public:
  using Attempt = std::pair<std::int64_t, std::uint32_t>;  // (job seq, attempt)

  bool MayRun(const std::string& key, std::uint32_t limit) const;
  // The attempt takes a slot of `key` (an empty key: nothing). Holding it
  // already is a no-op.
  void Hold(const std::string& key, Attempt attempt);
  bool Holds(Attempt attempt) const { return holders_.count(attempt) != 0; }
  // Is a parked entry still a queued job? Stale ones are dropped, not
  // counted against the free slots.
  using Valid = std::function<bool(const ReadyEntry&)>;

  // Frees the attempt's slot, if it holds one, and moves the best of the
  // jobs parked on its key into `unparked`: as many as the key now has
  // free slots. Returns whether a slot was freed.
  bool Release(Attempt attempt, const Valid& valid, std::vector<ParkedJob>* unparked);
  // The same without a release: a queued job of the key left without
  // running (cancelled), and may have been one unparked for a free slot.
  void Unpark(const std::string& key, const Valid& valid, std::vector<ParkedJob>* unparked);
  void Park(const std::string& key, ParkedJob job);
  std::int64_t running(const std::string& key) const;
  std::size_t parked() const;
  std::size_t holders() const { return holders_.size(); }

 private:
  std::map<Attempt, std::string> holders_;
  std::unordered_map<std::string, std::int64_t> running_;
  struct Worse {  // the ready queues' order: higher priority, then lower seq
    bool operator()(const ParkedJob& a, const ParkedJob& b) const {
      if (a.entry.priority != b.entry.priority) return a.entry.priority < b.entry.priority;
      return a.entry.seq > b.entry.seq;
    }
  };
  using Heap = std::priority_queue<ParkedJob, std::vector<ParkedJob>, Worse>;
  std::unordered_map<std::string, Heap> parked_;
};

}  // namespace sluice::broker
