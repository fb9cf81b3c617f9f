#include "broker/worker_registry.h"

#include <algorithm>

namespace sluice::broker {

bool Worker::Serves(const std::string& queue, const std::string& kind) const {
  return kinds.count(kind) && std::find(queues.begin(), queues.end(), queue) != queues.end();
}

Worker* WorkerRegistry::ByRoutingId(const std::string& rid) {
  auto it = by_rid_.find(rid);
  return it == by_rid_.end() ? nullptr : it->second.get();
}

Worker* WorkerRegistry::ById(const std::string& id) {
  auto it = rid_by_id_.find(id);
  return it == rid_by_id_.end() ? nullptr : ByRoutingId(it->second);
}

Worker* WorkerRegistry::Add(std::unique_ptr<Worker> w, std::unique_ptr<Worker>* replaced) {
  replaced->reset();
  auto old = rid_by_id_.find(w->id);
  if (old != rid_by_id_.end() && old->second != w->routing_id) *replaced = Remove(old->second);
  auto same_rid = by_rid_.find(w->routing_id);
  if (same_rid != by_rid_.end() && !*replaced) *replaced = Remove(w->routing_id);
  Worker* raw = w.get();
  rid_by_id_[w->id] = w->routing_id;
  by_rid_[w->routing_id] = std::move(w);
  return raw;
}

std::unique_ptr<Worker> WorkerRegistry::Remove(const std::string& rid) {
  auto it = by_rid_.find(rid);
  if (it == by_rid_.end()) return nullptr;
  auto w = std::move(it->second);
  by_rid_.erase(it);
  auto idit = rid_by_id_.find(w->id);
  if (idit != rid_by_id_.end() && idit->second == rid) rid_by_id_.erase(idit);
  return w;
}

bool WorkerRegistry::AnyServes(const std::string& queue, const std::string& kind) const {
  for (const auto& [rid, w] : by_rid_)
    if (w->Serves(queue, kind)) return true;
  return false;
}

}  // namespace sluice::broker
