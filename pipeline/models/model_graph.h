// The order models run in: each after the models it reads (topological),
// ties broken by layer then name so that the order is deterministic.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "schemas/status.h"

namespace sluice::models {

struct GraphNode {
  std::string name;
  int rank = 0;                     // tie-break before the name (the layer)
  std::vector<std::string> reads;   // names of other nodes; names not among the nodes are ignored
};

// Indexes into `nodes`, each after every node it reads. On cycles, the
// status message has one line per cycle found, in reading order starting
// from its smallest name: "cycle: staging_a -> staging_b -> staging_a".
Result<std::vector<std::size_t>> TopologicalOrder(const std::vector<GraphNode>& nodes);

}  // namespace sluice::models
