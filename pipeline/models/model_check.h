// `sluice models check`: every model compiled against the schema it would
// meet in a run -- the raw tables as they are in the lakehouse, and each
// model's table as its upstream models' SELECTs make it -- without running
// or writing anything (model_probe.h). Unknown tables and columns, layer
// rules, cycles and SQL errors are reported with the file and line.
//
// Raw tables' columns: from the lakehouse when one is given (read only),
// else unknown: such a raw table is open, its columns inferred from what
// the staging models ask of it, so an unknown raw column cannot be reported
// (the report lists those tables).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::models {

struct CheckProblem {
  std::string path;   // relative to the models folder; "" for a cycle
  int line = 0;       // 0 when none
  std::string model;  // "" when not about one model
  std::string message;
  std::string Text() const;  // "path:line: message"
};

struct CheckReport {
  int models = 0;                             // models compiled (or tried)
  std::vector<std::string> raw_inferred;      // raw tables whose columns were not known
  std::vector<CheckProblem> problems;
};

struct CheckOptions {
  // The raw tables declared in sources.toml (lowercase); with a lakehouse,
  // a declared table not loaded yet is read with inferred columns. nullopt:
  // no sources.toml.
  std::optional<std::set<std::string>> declared_raw_tables;
};

// `lakehouse`: null, or a lakehouse open (read only) whose raw tables give
// the columns. Fails only when the folder is missing or the lakehouse
// cannot be read; problems in the folder are the report's.
Result<CheckReport> CheckModelsFolder(const std::filesystem::path& dir, Database* lakehouse,
                                      const CheckOptions& options = {});

// One problem a line, then "N models checked: OK" or "N problems in M models".
std::string FormatCheckReport(const CheckReport& report);

// The columns of the raw_* tables of `db` (lowercase names, columns as declared).
Result<std::map<std::string, std::vector<std::string>>> ReadRawColumns(Database& db);

}  // namespace sluice::models
