#include "producers/param_flags.h"

#include <string_view>

namespace sluice {
namespace {

using json = nlohmann::json;

// Splits "k=v" into key and value; false when there is no '=' or no key.
bool SplitKeyValue(std::string_view flag, std::string* key, std::string* value) {
  const auto eq = flag.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  key->assign(flag.substr(0, eq));
  value->assign(flag.substr(eq + 1));
  return true;
}

}  // namespace

Result<json> ParamsFromFlags(const std::vector<std::string>& params,
                             const std::vector<std::string>& param_jsons) {
  json out = json::object();
  std::string key, value;
  auto add = [&](const char* flag, const std::string& text, json v) -> Status {
    if (out.contains(key))
      return Status::InvalidArgument(std::string(flag) + " '" + text + "': parameter '" + key +
                                     "' is given twice");
    out[key] = std::move(v);
    return Status::Ok();
  };
  for (const auto& p : params) {
    if (!SplitKeyValue(p, &key, &value))
      return Status::InvalidArgument("--param '" + p + "': expected KEY=VALUE");
    Status s = add("--param", p, json(value));
    if (!s.ok()) return s;
  }
  for (const auto& p : param_jsons) {
    if (!SplitKeyValue(p, &key, &value))
      return Status::InvalidArgument("--param-json '" + p + "': expected KEY=JSON");
    json v = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded())
      return Status::InvalidArgument("--param-json '" + p + "': the value is not valid JSON");
    Status s = add("--param-json", p, std::move(v));
    if (!s.ok()) return s;
  }
  return out;
}

}  // namespace sluice
