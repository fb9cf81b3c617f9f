#include "broker/duration_flag.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace sluice::broker {

std::optional<std::int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string_view unit(end);
  double ms;
  if (unit.empty() || unit == "s") ms = v * 1000;
  else if (unit == "ms") ms = v;
  else if (unit == "m") ms = v * 60e3;
  else if (unit == "h") ms = v * 3600e3;
  else if (unit == "d") ms = v * 86400e3;
  else return std::nullopt;
  if (ms > 1e15) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(ms));
}

}  // namespace sluice::broker
