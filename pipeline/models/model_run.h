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
#include "pipeline/models/model_set.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

struct RunOptions {
  // Days 'YYYY-MM-DD', both included. end_ds empty: today (UTC). start_ds
  // empty: each model's own `start`, or end_ds for a model without one (a
  // one-day run). A start_ds before a model's `start` is raised to it; a
  // model whose `start` is after end_ds is skipped.
  std::string start_ds;
  std::string end_ds;
  // Empty: every model. Otherwise just these models (nothing upstream or
  // downstream is added), run in the set's order.
  std::vector<std::string> select;
  // Polled before each model and, through SQLite's progress handler, during
  // its statements: true stops the run (the model in progress rolls back).
  std::function<bool()> cancelled;
};

enum class ModelRunStatus { kBuilt, kFailed, kSkipped };
const char* ModelRunStatusName(ModelRunStatus s);  // "built", "failed", "skipped"

struct ModelRunResult {
  std::string name;
  ModelKind kind = ModelKind::kFull;
  ModelRunStatus status = ModelRunStatus::kSkipped;
  std::string start_ds;         // the interval it was (or would have been) built for
  std::string end_ds;
  std::int64_t rows = 0;        // FULL/VIEW: rows in the result; incremental: rows inserted
  std::int64_t milliseconds = 0;
  std::string error;            // failed: why; skipped: why not
};

struct RunReport {
  std::vector<ModelRunResult> models;  // the models of the run, in run order
};

// Builds the (selected) models of `set` in order. Stops at the first failing
// model: the models after it are reported as skipped. Returns Ok when no
// model failed; otherwise the failing model's error (Unavailable "cancelled"
// when cancelled). Bad options (dates, unknown names in `select`) fail before
// anything runs. `report` is filled in either case. RunModels installs a
// SQLite progress handler on `db` for the run and removes it afterwards.
Status RunModels(Database& db, const ModelSet& set, const RunOptions& options, RunReport* report);

// The raw_* tables of the lakehouse (lowercase).
Result<std::set<std::string>> ListRawTables(Database& db);

// Loads the models folder `dir` against the raw tables in `db`, then runs it.
// A folder that does not load fails with every problem, one per line, and
// runs nothing.
Status RunModelsFolder(Database& db, const std::filesystem::path& dir, const RunOptions& options, RunReport* report);

// A text table: model, kind, status, interval, rows, ms; then the errors.
std::string FormatRunReport(const RunReport& report);

}  // namespace sluice::models
