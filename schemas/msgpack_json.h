// Encoded msgpack as JSON, for display: a job's params and outputs in a
// STATUS reply, a reply body in the client. The bytes go through
// UnpackValue (msgpack_reader.h), so the decoding limits hold (nesting at
// most kMaxDepth, at most kMaxElements values) and the conversion, bounded
// by that depth, never recurses on untrusted depth. This replaces
// nlohmann::json::from_msgpack, which recurses once per level.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "schemas/status.h"

namespace sluice::proto {

// One msgpack value -> JSON: str -> string (its bytes unchanged), bin and
// ext -> binary, map keys must be strings. InvalidArgument when the bytes
// are not one msgpack value within the limits ("nested deeper than 64
// levels").
Result<nlohmann::json> MsgpackToJson(std::string_view bytes);

}  // namespace sluice::proto
