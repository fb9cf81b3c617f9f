#include "producers/reply_fields.h"

#include <cmath>

#include "producers/time_format.h"

namespace sluice::reply {

using json = nlohmann::json;

const json& Get(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string Str(const json& obj, std::string_view key) {
  const json& v = Get(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::int64_t> Int(const json& obj, std::string_view key) {
  const json& v = Get(obj, key);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::string Compact(const json& v) {
  return v.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string Pretty(const json& v) {
  return v.dump(2, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string IsoTime(const nlohmann::json& obj, std::string_view key, bool with_millis) {
  auto v = Int(obj, key);
  return v ? FormatIsoUtc(*v, with_millis) : std::string();
}

std::string Number(const nlohmann::json& obj, std::string_view key) {
  auto v = Int(obj, key);
  return v ? std::to_string(*v) : std::string();
}

}  // namespace sluice::reply
