// Calendar days as 'YYYY-MM-DD' text: the form of @start_ds / @end_ds and of
// incremental models' time columns.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/period.h"

namespace sluice::models {

// Exactly 'YYYY-MM-DD' and a real calendar date (pipeline/period.h).
using ::sluice::IsIsoDay;
// The day after `day` (which must be IsIsoDay).
std::string NextIsoDay(std::string_view day);
// `day` moved by `n` days (n may be negative; `day` must be IsIsoDay).
std::string AddIsoDays(std::string_view day, int n);
// Today in UTC.
std::string TodayUtc();

}  // namespace sluice::models
