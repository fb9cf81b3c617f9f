// Public ids: a job is 'j' followed by its decimal sequence number, a run is
// 'r' followed by its own. Sequence numbers start at 1 and are never reused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

std::string FormatJobId(std::int64_t seq);
std::string FormatRunId(std::int64_t seq);
// The sequence number of "j123" (nullopt for anything else, e.g. "j", "j0", "j01", "r5").
std::optional<std::int64_t> ParseJobId(std::string_view id);
std::optional<std::int64_t> ParseRunId(std::string_view id);

}  // namespace sluice
