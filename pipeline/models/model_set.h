// A models folder, loaded and checked: every *.sql file under staging/,
// foundation/ and serving/ is one model; references are resolved against the
// other models and the known raw tables; the result is in run order.
//
// What a model reads is what SQLite resolves when it compiles the SELECT
// (model_probe.h): exact through CTEs, subqueries, comma joins and views. A
// model reading its own table (an incremental model's self-read) does not
// depend on itself. Only when a SELECT does not compile (a syntax error, an
// unknown column of another model) are its reads the token scan's guess
// (table_references.h); `guessed` says which.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/models/model.h"
#include "schemas/status.h"

namespace sluice::models {

struct ModelSet {
  std::filesystem::path dir;
  std::vector<Model> models;  // run order: each after the models it reads; ties by layer, then name
  std::set<std::string> self_reads;  // models that read their own table
  // Models whose SELECT did not compile, so their reads are guessed from
  // tokens: "path:line: model: SQLite's message", in run order.
  std::vector<std::string> guessed;

  const Model* Find(std::string_view name) const;
};

// Loads every model under `dir`. `raw_tables`: the raw tables that exist
// (lowercase names); nullopt accepts any raw_* name (planning and unit tests,
// without a lakehouse at hand).
//
// Everything wrong is reported together, one problem per line of the status
// message: header and syntax errors ("path:line: what"), unknown tables,
// reads of a later (or skipped) layer, duplicate names, and cycles
// ("cycle: staging_a -> staging_b -> staging_a"), and a VIEW reading itself.
Result<ModelSet> LoadModelSet(const std::filesystem::path& dir,
                              const std::optional<std::set<std::string>>& raw_tables = std::nullopt);

}  // namespace sluice::models
