// Calendar days as 'YYYY-MM-DD' text: the form of @start_ds / @end_ds and of
// incremental models' time columns.
#pragma once

#include <string>
#include <string_view>

namespace sluice::models {

// Exactly 'YYYY-MM-DD' and a real calendar date.
bool IsIsoDay(std::string_view s);
// The day after `day` (which must be IsIsoDay).
std::string NextIsoDay(std::string_view day);
// Today in UTC.
std::string TodayUtc();

}  // namespace sluice::models
