#include "pipeline/models/iso_day.h"

#include <chrono>

#include "pipeline/period.h"

namespace sluice::models {

std::string NextIsoDay(std::string_view day) {
  auto p = ParsePeriod(day, PeriodUnit::kDay);
  if (!p) return std::string(day);
  return FormatPeriod(Step(*p, 1));
}

std::string AddIsoDays(std::string_view day, int n) {
  auto p = ParsePeriod(day, PeriodUnit::kDay);
  if (!p) return std::string(day);
  return FormatPeriod(Step(*p, n));
}

std::string TodayUtc() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatPeriod(PeriodAt(std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), PeriodUnit::kDay));
}

}  // namespace sluice::models
