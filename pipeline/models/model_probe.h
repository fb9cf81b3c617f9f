// Every model of a folder compiled, in dependency order, against a schema
// probe (schema_probe.h): which tables and columns each model reads exactly
// as SQLite resolves them, the columns it produces, and what does not
// compile. Nothing runs and nothing is written: the raw tables and the
// models are empty tables of a private in-memory database.
//
// The order needs no guess: a model that reads a model not compiled yet
// waits for it (SQLite's "no such table" says which); when every model left
// waits on another (a cycle), they all get open stand-ins and compile. A
// model that reads its own table (an incremental model's self-read) gets an
// open stand-in of itself, is compiled once more against its own result
// columns, and is not a dependency of itself. A model that does not compile
// leaves an open stand-in, so the models reading it still compile.
//
// Raw tables: a raw_* name the options allow is created when first read,
// closed with its columns when `raw_columns` has them, else open (its
// columns inferred from what the models ask of it).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/schema_probe.h"
#include "pipeline/models/sql_tokens.h"
#include "schemas/status.h"

namespace sluice::models {

struct ProbeOptions {
  // The raw tables that exist (lowercase); nullopt: any raw_* name.
  std::optional<std::set<std::string>> raw_tables;
  // Known raw tables' columns (lowercase table name -> columns).
  std::map<std::string, std::vector<std::string>> raw_columns;
  // Names that are models which did not load: read as open stand-ins, never
  // unknown.
  std::set<std::string> broken_models;
};

struct ModelCompile {
  std::string name;
  bool probed = false;    // false: a second model of the same name, left alone
  bool compiled = false;  // the SELECT (and its self-read) compiled
  std::string error;      // not compiled: SQLite's message
  int error_line = 0;     // line in the model file
  bool self_read = false;
  // table (lowercase) -> columns read ("" for a table read without a column);
  // models, raw tables and unknown tables; the model itself when it reads itself.
  std::map<std::string, std::set<std::string>> reads;
  std::map<std::string, int> first_line;  // table -> line of its first mention in the file
  std::set<std::string> unknown_tables;   // read tables that are neither models nor allowed raw tables
  std::vector<std::string> columns;       // result columns (kOpenColumn among them: a * over an open table)
  std::string sql;                        // the SELECT as compiled (@start_ds / @end_ds rendered)
  std::vector<Token> tokens;              // its tokens (lines relative to the SELECT)
};

struct ProbedModels {
  std::vector<ModelCompile> models;  // same order as the input
  std::unique_ptr<SchemaProbe> probe;  // the schema after all models: each model's table holds its columns
  // Raw tables created, and whether their columns were inferred.
  std::map<std::string, bool> raw_open;

  const ModelCompile* Find(std::string_view name) const;
};

// The day @start_ds and @end_ds stand for while compiling.
inline constexpr std::string_view kProbeDay = "2000-01-01";

// Fails only when the in-memory database cannot be opened.
Result<ProbedModels> ProbeModels(const std::vector<Model>& models, const ProbeOptions& options);

// The file line of the first token of `tokens` naming `name` (a table or a
// column; for a column, one after `qualifier.` first), else the SELECT's line.
int FileLineOf(const Model& model, const std::vector<Token>& tokens, const std::string& name,
               const std::string& qualifier = "");

}  // namespace sluice::models
