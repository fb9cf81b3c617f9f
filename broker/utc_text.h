// Unix milliseconds as UTC text, in the forms the broker stores and shows.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::broker {

std::string SqliteUtc(std::int64_t unix_ms);  // "2024-03-05 06:00:00" (SQLite's own)
std::string UtcDay(std::int64_t unix_ms);     // "2024-03-05"
std::string UtcIso(std::int64_t unix_ms);     // "2024-03-05T06:00:00Z"

}  // namespace sluice::broker
