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

// `prefix` then the decimal `seq`, built in a fixed buffer: `"j" +
// std::to_string(seq)` makes GCC 12 at -O3 warn (a false -Wrestrict in
// std::string's operator+).
std::string FormatPrefixed(char prefix, std::int64_t seq) {
  char buffer[1 + 20];  // the prefix, then at most 20 characters (-9223372036854775808)
  buffer[0] = prefix;
  auto [end, ec] = std::to_chars(buffer + 1, buffer + sizeof buffer, seq);
  (void)ec;  // cannot fail: the buffer holds every int64
  return std::string(buffer, static_cast<std::size_t>(end - buffer));
}

}  // namespace

std::string FormatJobId(std::int64_t seq) { return FormatPrefixed('j', seq); }
std::string FormatRunId(std::int64_t seq) { return FormatPrefixed('r', seq); }
std::optional<std::int64_t> ParseJobId(std::string_view id) { return ParsePrefixed(id, 'j'); }
std::optional<std::int64_t> ParseRunId(std::string_view id) { return ParsePrefixed(id, 'r'); }

}  // namespace sluice
