// A model's fingerprint: what its data depends on in its own file. The
// SHA-256 (hex) of its kind, its time column and its SELECT as tokens, so a
// change of comments, whitespace, description or audits keeps it, and any
// change to the SQL (or the kind) makes a new one: the model builds again
// (a FULL model) or its recorded intervals are stale (an incremental one).
#pragma once

#include <string>

#include "pipeline/models/model.h"

namespace sluice::models {

std::string Fingerprint(const Model& model);

}  // namespace sluice::models
