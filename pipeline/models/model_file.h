// One model file: header, then exactly one SELECT (CTEs allowed). The file's
// first folder (relative to the models folder) is its layer.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/models/model.h"
#include "schemas/status.h"

namespace sluice::models {

// Parses the text of the model file at `path` (relative to the models
// folder, e.g. "staging/staging_prices.sql"). On failure the status message
// lists every problem found, one per line, each "path:line: what".
Result<Model> ParseModelFile(std::string_view text, const std::string& path);

}  // namespace sluice::models
