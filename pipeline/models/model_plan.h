// The plan of a models folder: what runs, in which order, reading what.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/model_actions.h"
#include "pipeline/models/model_state.h"
#include "schemas/sqlite_db.h"
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
  Action action = Action::kBuild;        // what a run would do now (model_actions.h)
  std::string reason;
  std::vector<DayRange> intervals;       // incremental, backfill: the days it would process
};

// The plan of `set` against `state` (what a lakehouse recorded; an empty
// state when there is no lakehouse: every model builds).
std::vector<PlanEntry> Plan(const ModelSet& set, const ModelState& state, const ActionOptions& options);

// Loads the models folder `dir` and plans it. With `lakehouse` (open), the
// raw tables are its raw_* tables and the actions come from what it
// recorded; without, any raw_* name is accepted and every model builds. A
// folder that does not load fails with every problem, one per line.
Result<std::vector<PlanEntry>> PlanModelsFolder(const std::filesystem::path& dir, Database* lakehouse,
                                                const ActionOptions& options);

// A text table: order, model, layer, kind, action, reason, depends on ("-" for none).
std::string FormatPlan(const std::vector<PlanEntry>& plan);

}  // namespace sluice::models
