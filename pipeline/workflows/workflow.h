// A workflow as the registry declares it (registry.h reads the TOML): a
// name, an optional cron schedule, and stages that form a DAG.
//
// The broker snapshots a workflow's stages into each run it starts, so a
// registry reload never changes a run in flight.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/workflows/cron_expr.h"

namespace sluice::workflows {

struct StageDef {
  std::string name;                     // [A-Za-z0-9._-]{1,64}, unique in its workflow
  std::string kind;                     // a job kind: built-in (schemas/job_kinds.h) or custom
  nlohmann::json params = nlohmann::json::object();  // may use {date} {year} {month} {day} {run_id} {<param>}
  std::string queue = "default";
  std::vector<std::string> depends_on;  // stage names of the same workflow
  std::uint64_t timeout_ms = 0;         // 0: the broker's default
  std::uint32_t max_attempts = 0;       // 0: the broker's default
  std::uint64_t backoff_ms = 0;         // 0: the broker's default
  int line = 0;                         // where it is declared
};

enum class CatchUp { kNone, kLatest };
const char* CatchUpName(CatchUp c);  // "none" | "latest"

struct WorkflowDef {
  std::string name;                     // [A-Za-z0-9._-]{1,64}
  std::string schedule;                 // as written; "" = manual runs only
  std::optional<CronExpr> cron;         // parsed `schedule`
  CatchUp catch_up = CatchUp::kNone;    // slots missed while the broker was down
  std::uint32_t max_active_runs = 1;    // 1..1000
  nlohmann::json params = nlohmann::json::object();  // run parameter defaults, {str: str}
  std::vector<StageDef> stages;         // dependencies before dependents
  int line = 0;
  std::string description;              // free text, for people

  const StageDef* FindStage(std::string_view stage) const;
};

struct Registry {
  std::string path;                     // the file it was read from
  std::vector<WorkflowDef> workflows;   // sorted by name

  const WorkflowDef* Find(std::string_view workflow) const;
};

}  // namespace sluice::workflows
