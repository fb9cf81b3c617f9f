// Building and checking SUBMIT job specs (proto::JobSpec) from JSON, the
// form scripts hand us (one object per NDJSON line, PROTOCOL.md §6.1 names).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "schemas/messages.h"
#include "schemas/status.h"

namespace sluice {

// Checks `spec` against the SUBMIT contract exactly as the broker will: it
// is encoded and decoded with the schemas/ codec. On failure the
// InvalidArgument message names the field, e.g. "field 'kind' must be 1-64
// characters of [A-Za-z0-9._-]". A spec that passes can still be refused by
// the broker only for reasons of state, not shape.
Status ValidateJobSpec(const proto::JobSpec& spec);

// Encodes a JSON object as the msgpack map that carries a job's params.
// Anything but an object is InvalidArgument.
Result<std::string> ParamsToMsgpack(const nlohmann::json& params);

// A job spec from a JSON object with the PROTOCOL.md field names: kind
// (required), params (object), queue, priority, max_attempts, backoff_ms,
// timeout_ms, delay_ms, run_at_ms, key. null means "absent". Unknown fields
// are refused (a typo must not silently become a default), as are wrong
// types; ranges are left to ValidateJobSpec(), except a concurrency_limit of
// 0, which a JobSpec would carry as "absent": it is refused here, with the
// broker's words ("must be 1-100000 (absent: the default)").
Result<proto::JobSpec> JobSpecFromJson(const nlohmann::json& object);

}  // namespace sluice
