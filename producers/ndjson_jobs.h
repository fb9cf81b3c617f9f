// Job specs from NDJSON: one JSON object per line, with the PROTOCOL.md
// field names (see JobSpecFromJson in job_spec.h). This is what
// `sluice submit-many` reads on stdin.
#pragma once

#include <istream>
#include <vector>

#include "schemas/messages.h"
#include "schemas/status.h"

namespace sluice {

// Reads every line, then returns the specs in order. Blank lines (only
// spaces, tabs or a trailing '\r') are skipped. Every spec is parsed and
// checked against the SUBMIT contract (ValidateJobSpec) before anything is
// returned, so a caller submits all or nothing; the first bad line gives
// InvalidArgument "line N: <why>" (N counts from 1, blank lines included).
Result<std::vector<proto::JobSpec>> ReadJobSpecsNdjson(std::istream& in);

}  // namespace sluice
