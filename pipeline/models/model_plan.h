// The plan of a models folder: what runs, in which order, reading what.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/model_set.h"

namespace sluice::models {

struct PlanEntry {
  int order = 0;  // 1-based run position
  std::string name;
  Layer layer = Layer::kStaging;
  ModelKind kind = ModelKind::kFull;
  std::string time_column;               // incremental only
  std::vector<std::string> depends_on;   // every table read (models and raw), sorted
  std::string path;                      // relative to the models folder
};

std::vector<PlanEntry> Plan(const ModelSet& set);

// Loads the models folder `dir` (see LoadModelSet for `raw_tables`) and plans
// it; a folder that does not load fails with every problem, one per line.
Result<std::vector<PlanEntry>> PlanModelsFolder(const std::filesystem::path& dir,
                                                const std::optional<std::set<std::string>>& raw_tables = std::nullopt);

// A text table: order, model, layer, kind, depends on ("-" for none).
std::string FormatPlan(const std::vector<PlanEntry>& plan);

}  // namespace sluice::models
