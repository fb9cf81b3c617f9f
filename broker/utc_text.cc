#include "broker/utc_text.h"

#include <ctime>

namespace sluice::broker {
namespace {

std::string UtcText(std::int64_t unix_ms, const char* format) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string SqliteUtc(std::int64_t unix_ms) { return UtcText(unix_ms, "%Y-%m-%d %H:%M:%S"); }
std::string UtcDay(std::int64_t unix_ms) { return UtcText(unix_ms, "%Y-%m-%d"); }
std::string UtcIso(std::int64_t unix_ms) { return UtcText(unix_ms, "%Y-%m-%dT%H:%M:%SZ"); }

}  // namespace sluice::broker
