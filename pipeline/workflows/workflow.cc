#include "pipeline/workflows/workflow.h"

namespace sluice::workflows {

const char* CatchUpName(CatchUp c) {
  switch (c) {
    case CatchUp::kNone: return "none";
    case CatchUp::kLatest: return "latest";
  }
  return "none";
}

const StageDef* WorkflowDef::FindStage(std::string_view stage) const {
  for (const StageDef& s : stages)
    if (s.name == stage) return &s;
  return nullptr;
}

const WorkflowDef* Registry::Find(std::string_view workflow) const {
  for (const WorkflowDef& w : workflows)
    if (w.name == workflow) return &w;
  return nullptr;
}

}  // namespace sluice::workflows
