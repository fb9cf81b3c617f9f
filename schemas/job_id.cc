#include "schemas/job_id.h"

#include <charconv>

namespace sluice {
namespace {

std::optional<std::int64_t> ParsePrefixed(std::string_view id, char prefix) {
  if (id.size() < 2 || id.size() > 20 || id[0] != prefix || id[1] == '0') return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), v);
  if (ec != std::errc() || p != id.data() + id.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace

std::string FormatJobId(std::int64_t seq) { return "j" + std::to_string(seq); }
std::string FormatRunId(std::int64_t seq) { return "r" + std::to_string(seq); }
std::optional<std::int64_t> ParseJobId(std::string_view id) { return ParsePrefixed(id, 'j'); }
std::optional<std::int64_t> ParseRunId(std::string_view id) { return ParsePrefixed(id, 'r'); }

}  // namespace sluice
