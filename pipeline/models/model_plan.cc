#include "pipeline/models/model_plan.h"

#include <algorithm>

#include "pipeline/models/model_run.h"
#include "pipeline/models/text_table.h"

namespace sluice::models {

std::vector<PlanEntry> Plan(const ModelSet& set, const ModelState& state, const ActionOptions& options) {
  std::vector<PlanEntry> plan;
  for (const ModelAction& a : DecideActions(set, state, options)) {
    const Model& m = *set.Find(a.name);
    PlanEntry e;
    e.order = static_cast<int>(plan.size()) + 1;
    e.name = m.name;
    e.layer = m.layer;
    e.kind = m.kind;
    e.time_column = m.time_column;
    for (const TableReference& r : m.reads) e.depends_on.push_back(r.name);
    std::sort(e.depends_on.begin(), e.depends_on.end());
    e.path = m.path;
    e.action = a.action;
    e.reason = a.reason;
    e.intervals = a.intervals;
    plan.push_back(std::move(e));
  }
  return plan;
}

Result<std::vector<PlanEntry>> PlanModelsFolder(const std::filesystem::path& dir, Database* lakehouse,
                                                const ActionOptions& options) {
  std::optional<std::set<std::string>> raw_tables;
  ModelState state;
  if (lakehouse != nullptr) {
    auto raw = ListRawTables(*lakehouse);
    if (!raw.ok()) return raw.status();
    raw_tables = std::move(*raw);
    auto read = ModelState::Read(*lakehouse);
    if (!read.ok()) return read.status();
    state = std::move(*read);
  }
  auto set = LoadModelSet(dir, raw_tables);
  if (!set.ok()) return set.status();
  std::string unknown;
  for (const std::string& name : options.select)
    if (!set->Find(name)) unknown += (unknown.empty() ? "" : ", ") + name;
  for (const std::string& name : options.backfill_models)
    if (!set->Find(name)) unknown += (unknown.empty() ? "" : ", ") + name;
  if (!unknown.empty()) return Status::NotFound("no such model: " + unknown);
  return Plan(*set, state, options);
}

std::string FormatPlan(const std::vector<PlanEntry>& plan) {
  TextTable table({"order", "model", "layer", "kind", "action", "reason", "depends on"});
  for (const PlanEntry& e : plan) {
    std::string deps;
    for (const std::string& d : e.depends_on) deps += (deps.empty() ? "" : ", ") + d;
    std::string kind = KindName(e.kind);
    if (!e.time_column.empty()) kind += " (" + e.time_column + ")";
    table.AddRow({std::to_string(e.order), e.name, LayerName(e.layer), kind, ActionName(e.action), e.reason,
                  deps.empty() ? "-" : deps});
  }
  return table.Render();
}

}  // namespace sluice::models
