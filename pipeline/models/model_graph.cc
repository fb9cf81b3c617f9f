#include "pipeline/models/model_graph.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace sluice::models {

Result<std::vector<std::size_t>> TopologicalOrder(const std::vector<GraphNode>& nodes) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < nodes.size(); ++i) index.emplace(nodes[i].name, i);
  // Index last: duplicate names (reported by the caller) stay distinct nodes.
  using Key = std::tuple<int, std::string, std::size_t>;
  auto key = [&](std::size_t i) { return Key{nodes[i].rank, nodes[i].name, i}; };

  // deps[i]: nodes i reads; users[j]: nodes that read j.
  std::vector<std::set<std::size_t>> deps(nodes.size());
  std::vector<std::vector<std::size_t>> users(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& r : nodes[i].reads) {
      auto it = index.find(r);
      if (it != index.end() && deps[i].insert(it->second).second) users[it->second].push_back(i);
    }
  }

  std::vector<std::size_t> pending(nodes.size());
  std::set<Key> ready;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    pending[i] = deps[i].size();
    if (pending[i] == 0) ready.insert(key(i));
  }
  std::vector<bool> done(nodes.size(), false);
  std::vector<std::size_t> order;
  auto drain = [&] {
    while (!ready.empty()) {
      const std::size_t i = std::get<2>(*ready.begin());
      ready.erase(ready.begin());
      done[i] = true;
      order.push_back(i);
      for (std::size_t u : users[i])
        if (!done[u] && --pending[u] == 0) ready.insert(key(u));
    }
  };
  drain();

  std::string cycles;
  while (order.size() < nodes.size()) {
    // Every node left reads another node left, so walking reads from any of
    // them ends up going round a cycle.
    std::size_t start = nodes.size();
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (!done[i] && (start == nodes.size() || key(i) < key(start))) start = i;
    std::vector<std::size_t> path;
    std::size_t at = start;
    while (std::find(path.begin(), path.end(), at) == path.end()) {
      path.push_back(at);
      std::size_t next = nodes.size();
      for (std::size_t d : deps[at])
        if (!done[d] && (next == nodes.size() || key(d) < key(next))) next = d;
      if (next == nodes.size()) return Status::Internal("cycle search left the graph at " + nodes[at].name);
      at = next;
    }
    std::vector<std::size_t> cycle(std::find(path.begin(), path.end(), at), path.end());
    std::rotate(cycle.begin(),
                std::min_element(cycle.begin(), cycle.end(),
                                 [&](std::size_t a, std::size_t b) { return nodes[a].name < nodes[b].name; }),
                cycle.end());
    std::string line = "cycle: ";
    for (std::size_t c : cycle) line += nodes[c].name + " -> ";
    line += nodes[cycle.front()].name;
    cycles += (cycles.empty() ? "" : "\n") + line;
    // Set the cycle aside, then whatever now only waits on finished nodes.
    for (std::size_t c : cycle) {
      done[c] = true;
      order.push_back(c);
    }
    for (std::size_t c : cycle)
      for (std::size_t u : users[c])
        if (!done[u] && --pending[u] == 0) ready.insert(key(u));
    drain();
  }
  if (!cycles.empty()) return Status::InvalidArgument(cycles);
  return order;
}

}  // namespace sluice::models
