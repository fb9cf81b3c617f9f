#include "pipeline/models/model_plan.h"

#include <algorithm>

#include "pipeline/models/text_table.h"

namespace sluice::models {

std::vector<PlanEntry> Plan(const ModelSet& set) {
  std::vector<PlanEntry> plan;
  for (const Model& m : set.models) {
    PlanEntry e;
    e.order = static_cast<int>(plan.size()) + 1;
    e.name = m.name;
    e.layer = m.layer;
    e.kind = m.kind;
    e.time_column = m.time_column;
    for (const TableReference& r : m.reads) e.depends_on.push_back(r.name);
    std::sort(e.depends_on.begin(), e.depends_on.end());
    e.path = m.path;
    plan.push_back(std::move(e));
  }
  return plan;
}

Result<std::vector<PlanEntry>> PlanModelsFolder(const std::filesystem::path& dir,
                                                const std::optional<std::set<std::string>>& raw_tables) {
  auto set = LoadModelSet(dir, raw_tables);
  if (!set.ok()) return set.status();
  return Plan(*set);
}

std::string FormatPlan(const std::vector<PlanEntry>& plan) {
  TextTable table({"order", "model", "layer", "kind", "depends on"});
  for (const PlanEntry& e : plan) {
    std::string deps;
    for (const std::string& d : e.depends_on) deps += (deps.empty() ? "" : ", ") + d;
    std::string kind = KindName(e.kind);
    if (!e.time_column.empty()) kind += " (" + e.time_column + ")";
    table.AddRow({std::to_string(e.order), e.name, LayerName(e.layer), kind, deps.empty() ? "-" : deps});
  }
  return table.Render();
}

}  // namespace sluice::models
