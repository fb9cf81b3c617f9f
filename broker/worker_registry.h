// WorkerRegistry: the connected workers, by routing id and by worker id.
// Memory only: after a broker restart workers announce themselves again.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "broker/prefetch_window.h"
#include "schemas/messages.h"

namespace sluice::broker {

struct Worker {
  std::string routing_id;
  std::string id;
  std::string host;
  std::string version;
  // Its CURVE key (Z85) and that key's name under --authorized; "" without CURVE.
  std::string key, key_name;
  std::int64_t pid = 0;
  std::vector<std::string> queues;
  std::vector<std::string> kinds_list;
  std::unordered_set<std::string> kinds;
  std::uint32_t slots = 0;
  std::uint32_t prefetch = 0;  // jobs it queues locally beyond `slots`
  // READY `adaptive`: it is sent only as much of `prefetch` as its pace
  // calls for (window), and may be asked to hand back (RECALL) prefetched
  // jobs another worker could start.
  bool adaptive = false;
  PrefetchWindow window;
  // Leases asked back by RECALL and not yet reported: not asked again.
  std::set<std::pair<std::int64_t, std::uint32_t>> recalled;
  std::uint32_t heartbeat_ms = 1000;
  std::int64_t connected_ms = 0;
  std::int64_t last_seen_ms = 0;  // last message from it
  std::int64_t last_sent_ms = 0;  // last message to it
  // Attempts it holds: (seq, attempt). A lease stays until the worker reports
  // that attempt (even one the broker already timed out or cancelled), so
  // the broker never sends more than `slots` jobs.
  std::set<std::pair<std::int64_t, std::uint32_t>> leases;
  // Results recorded this turn, to ACK after the commit.
  std::vector<proto::JobAttempt> pending_acks;

  // Jobs the broker may still send at `now_us` (steady clock): slots +
  // prefetch (for an adaptive worker, the part of it its window allows)
  // minus what it holds. A draining worker (slots 0) gets nothing, whatever
  // its prefetch.
  std::uint32_t credit(std::int64_t now_us) const {
    const std::uint32_t extra = adaptive ? window.Allowance(now_us, prefetch) : prefetch;
    const std::size_t limit = slots == 0 ? 0 : std::size_t{slots} + extra;
    return limit > leases.size() ? static_cast<std::uint32_t>(limit - leases.size()) : 0;
  }
  // Slots it has free, prefetch aside.
  std::uint32_t free_slots() const {
    return slots > leases.size() ? static_cast<std::uint32_t>(slots - leases.size()) : 0;
  }
  bool Serves(const std::string& queue, const std::string& kind) const;
};

class WorkerRegistry {
 public:
  Worker* ByRoutingId(const std::string& rid);
  Worker* ById(const std::string& id);
  // Registers a worker on `rid`. A previous entry with the same worker id
  // (an old connection) is removed and returned so its leases can be moved.
  Worker* Add(std::unique_ptr<Worker> w, std::unique_ptr<Worker>* replaced);
  std::unique_ptr<Worker> Remove(const std::string& rid);
  std::size_t size() const { return by_rid_.size(); }

  template <typename Fn>
  void ForEach(Fn fn) {
    for (auto& [rid, w] : by_rid_) fn(*w);
  }
  // True when some connected worker runs `kind` on `queue`.
  bool AnyServes(const std::string& queue, const std::string& kind) const;

 private:
  std::map<std::string, std::unique_ptr<Worker>> by_rid_;
  std::unordered_map<std::string, std::string> rid_by_id_;
};

}  // namespace sluice::broker
