// A run: the models of a set built in order against the lakehouse, stopping
// at the first failure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/model_actions.h"
#include "pipeline/models/model_state.h"
#include "pipeline/models/model_set.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

struct RunOptions {
  // Days 'YYYY-MM-DD', both included. end_ds empty: today (UTC): the last
  // day incremental models process, and @end_ds. What each model does is
  // decided by the changed-only rules (model_actions.h) against what the
  // lakehouse recorded of earlier builds.
  // start_ds: empty for a normal run. Given, the incremental models (those in
  // `backfill_models`, or all) process [start_ds, end_ds] again, processed
  // or not (a backfill; a start_ds before a model's `start` is raised to
  // it). FULL and VIEW models see it as @start_ds (default: their `start`,
  // else end_ds).
  std::string start_ds;
  std::string end_ds;
  std::vector<std::string> backfill_models;
  // Build every model, and reprocess every incremental model's history.
  bool full_refresh = false;
  // Empty: every model. Otherwise just these models (nothing upstream or
  // downstream is added), run in the set's order.
  std::vector<std::string> select;
  // Polled before each model and, through SQLite's progress handler, during
  // its statements: true stops the run (the model in progress rolls back).
  std::function<bool()> cancelled;
};

// skipped: not built, because nothing changed (the action was "skip"; see
// `reason`), an earlier model failed, or the run was cancelled (`error`).
enum class ModelRunStatus { kBuilt, kFailed, kSkipped };
const char* ModelRunStatusName(ModelRunStatus s);  // "built", "failed", "skipped"

struct ModelRunResult {
  std::string name;
  ModelKind kind = ModelKind::kFull;
  ModelRunStatus status = ModelRunStatus::kSkipped;
  Action action = Action::kSkip;  // what the changed-only rules decided
  std::string reason;             // why (model_actions.h)
  std::vector<DayRange> intervals;  // incremental: the days processed
  std::string start_ds;         // FULL/VIEW: @start_ds..@end_ds; incremental: first..last day processed
  std::string end_ds;
  std::int64_t rows = 0;        // FULL/VIEW: rows in the result; incremental: rows inserted; unique key: upserted
  std::int64_t inserted = 0;    // INCREMENTAL_BY_UNIQUE_KEY: new keys
  std::int64_t updated = 0;     // INCREMENTAL_BY_UNIQUE_KEY: rows replaced by key
  std::int64_t milliseconds = 0;
  std::int64_t version = 0;     // built: the build version recorded
  std::string error;            // failed: why; skipped after a failure or cancel: why not
};

struct RunReport {
  std::vector<ModelRunResult> models;  // the models of the run, in run order
};

// Builds the (selected) models of `set` in order, each as DecideActions says
// (each build and its record in the lakehouse are one transaction). Stops at the first failing
// model: the models after it are reported as skipped. Returns Ok when no
// model failed; otherwise the failing model's error (Unavailable "cancelled"
// when cancelled). Bad options (dates, unknown names in `select`) fail before
// anything runs. `report` is filled in either case. RunModels installs a
// SQLite progress handler on `db` for the run and removes it afterwards.
Status RunModels(Database& db, const ModelSet& set, const RunOptions& options, RunReport* report);

// The engine-independent parts of a run, shared by SQLite's RunModels and
// PostgreSQL's (pipeline/postgres/pg_model_run.h).
// Checks `options` against `set`; *end_ds gets the run's end day.
Status CheckRunOptions(const ModelSet& set, const RunOptions& options, std::string* end_ds);
// Builds one model as its action says and records it; fills rows, version.
using BuildStep = std::function<Status(const Model&, const ModelAction&, ModelRunResult*)>;
// Decides each model's action against `state`, fills `report` in run order,
// then builds with `build` as RunModels describes (stops at the first
// failure; a build failing Unavailable, or `cancelled`, is a cancel).
Status ExecuteRun(const ModelSet& set, const ModelState& state, const RunOptions& options, const std::string& end_ds,
                  const BuildStep& build, RunReport* report);

// The raw_* tables of the lakehouse (lowercase).
Result<std::set<std::string>> ListRawTables(Database& db);

// Loads the models folder `dir` against the raw tables in `db`, then runs it.
// A folder that does not load fails with every problem, one per line, and
// runs nothing.
Status RunModelsFolder(Database& db, const std::filesystem::path& dir, const RunOptions& options, RunReport* report);

// A text table: model, kind, status, interval, rows, ms, reason; then the errors.
std::string FormatRunReport(const RunReport& report);

}  // namespace sluice::models
