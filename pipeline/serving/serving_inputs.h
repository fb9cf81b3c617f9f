// What the serving tables were built from, as one text: the export compares
// it with the last export's (`_sluice_exports.inputs`) and publishes nothing
// when no serving table changed.
//
// A serving table built by a model is its build version
// (`_sluice_model_builds`, pipeline/models/model_state.h); a serving view
// reads other tables when queried, so it stands for every model build and
// every load of the lakehouse (the largest build version and load_id). A
// serving table that no model built (made by hand) has no version: then the
// inputs are unknown and every export publishes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::serving {

// `names`: the serving tables and views about to be exported. nullopt when
// one of them has no version.
Result<std::optional<std::string>> ServingInputs(Database& lake, const std::vector<std::string>& names);

}  // namespace sluice::serving
