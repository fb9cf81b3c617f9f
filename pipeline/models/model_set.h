// A models folder, loaded and checked: every *.sql file under staging/,
// foundation/ and serving/ is one model; references are resolved against the
// other models and the known raw tables; the result is in run order.
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

  const Model* Find(std::string_view name) const;
};

// Loads every model under `dir`. `raw_tables`: the raw tables that exist
// (lowercase names); nullopt accepts any raw_* name (planning and unit tests,
// without a lakehouse at hand).
//
// Everything wrong is reported together, one problem per line of the status
// message: header and syntax errors ("path:line: what"), unknown tables,
// reads of a later (or skipped) layer, duplicate names, and cycles
// ("cycle: staging_a -> staging_b -> staging_a").
Result<ModelSet> LoadModelSet(const std::filesystem::path& dir,
                              const std::optional<std::set<std::string>>& raw_tables = std::nullopt);

}  // namespace sluice::models
