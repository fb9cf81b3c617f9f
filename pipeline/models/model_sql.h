// A model's SELECT for one interval: @start_ds and @end_ds become the SQL
// string literals 'YYYY-MM-DD' (quoted, never spliced raw).
#pragma once

#include <string>
#include <string_view>

#include "pipeline/models/model.h"
#include "schemas/status.h"

namespace sluice::models {

// Fails when a day is not 'YYYY-MM-DD' or the SELECT no longer tokenizes.
Result<std::string> RenderSelect(const Model& model, std::string_view start_ds, std::string_view end_ds);

}  // namespace sluice::models
