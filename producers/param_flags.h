// A job's params from the command line:
//   --param k=v         the string "v"
//   --param-json k=JSON  any JSON value: a number, a list, a headers map, ...
// The map is then carried as msgpack (ParamsToMsgpack in job_spec.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "schemas/status.h"

namespace sluice {

// Builds the params object. Each flag is split at its first '='; the key
// must be non-empty. A key given twice (by either flag) is an error, as is
// text after --param-json that is not one JSON value. Errors are
// InvalidArgument naming the flag, e.g. "--param-json 'h={': ...".
Result<nlohmann::json> ParamsFromFlags(const std::vector<std::string>& params,
                                       const std::vector<std::string>& param_jsons);

}  // namespace sluice
