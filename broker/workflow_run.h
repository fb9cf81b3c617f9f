// WorkflowRun: one run of a workflow as the broker keeps it in memory, and
// the DAG rules that move it on. Pure logic (no I/O), so the rules can be
// tested on their own; RunManager (run_manager.h) applies them and persists the result.
//
// A run snapshots its workflow's stages (`definition`), so a registry
// reload never changes a run in flight. Rules:
//   - a stage is ready when it is pending and every dependency succeeded;
//   - a stage whose job ends dead or cancelled fails the run: everything
//     downstream of it that has not started becomes upstream_failed, and no
//     new stage starts while the run is failed (stages in flight finish);
//   - a retried stage revives the run: upstream_failed stages become
//     pending again (unless another failed stage is still upstream of them)
//     and the ready ones start;
//   - the run succeeds when every stage has.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/run_store.h"
#include "pipeline/workflows/workflow.h"
#include "schemas/status.h"

namespace sluice::broker {

enum class RunPhase { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
const char* RunPhaseName(RunPhase p);
bool ParseRunPhase(std::string_view s, RunPhase* out);
inline bool IsFinished(RunPhase p) { return p != RunPhase::kQueued && p != RunPhase::kRunning; }

enum class StageState { kPending, kSubmitted, kSucceeded, kDead, kCancelled, kUpstreamFailed };
const char* StageStateName(StageState s);
bool ParseStageState(std::string_view s, StageState* out);

struct StageRun {
  workflows::StageDef def;
  StageState state = StageState::kPending;
  std::int64_t job_seq = 0;
};

struct WorkflowRun {
  RunRow row;
  RunPhase phase = RunPhase::kQueued;
  std::uint32_t max_active_runs = 1;
  std::map<std::string, std::string> vars;  // the run's template variables
  std::vector<StageRun> stages;             // dependencies before dependents

  int FindStage(std::string_view name) const;  // -1: none
  // Pending stages whose dependencies all succeeded, in order.
  std::vector<int> ReadyStages() const;
  // Marks what is downstream of stage `failed` and still pending as
  // upstream_failed; returns the stages it changed.
  std::vector<int> FailDownstream(int failed);
  // After a retry: upstream_failed stages with no dead / cancelled stage
  // upstream any more become pending; returns the stages it changed.
  std::vector<int> ClearUpstreamFailed();
  bool AllSucceeded() const;
  bool AnySubmitted() const;
};

// The snapshot a run keeps of its workflow (runs.definition).
nlohmann::json DefinitionJson(const workflows::WorkflowDef& w);
// A run from its stored row and stage rows (a restart, or a finished run
// brought back by a retry).
Result<WorkflowRun> RestoreRun(RunRow row, const std::vector<StageRow>& stages);
// A fresh run of `w` (phase queued, every stage pending).
WorkflowRun NewRun(const workflows::WorkflowDef& w, RunRow row);

}  // namespace sluice::broker
