// Periods: the logical dates a pipeline step is about ("2024-03" for a
// monthly file, "2024-03-15" for a daily one), stepping between them, and
// URL templates that name them ({year}, {month}, {day}, {date}).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class PeriodUnit { kDay, kMonth, kYear };

struct Period {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31 (1 for month and year periods)
  PeriodUnit unit = PeriodUnit::kMonth;
};

// "day" | "month" | "year".
std::optional<PeriodUnit> ParsePeriodUnit(std::string_view s);
// "YYYY", "YYYY-MM" or "YYYY-MM-DD" (a real calendar date) in `unit`.
std::optional<Period> ParsePeriod(std::string_view s, PeriodUnit unit);
// The period holding the UTC instant `unix_ms`.
Period PeriodAt(long long unix_ms, PeriodUnit unit);
// `n` periods later (negative: earlier). Day periods step over month ends
// and leap days; month periods keep day 1.
Period Step(const Period& p, int n);
// "2024", "2024-03" or "2024-03-15", by unit.
std::string FormatPeriod(const Period& p);
// Exactly "YYYY-MM-DD" and a real calendar date.
bool IsIsoDay(std::string_view s);
// The placeholders ExpandPeriodTemplate replaces, without their braces.
inline constexpr std::array<std::string_view, 4> kPeriodPlaceholders = {"year", "month", "day", "date"};

// Replaces {year} (2024), {month} (03), {day} (15) and {date} (2024-03-15)
// in `tmpl`; other text, including ${env:...}, is left alone.
std::string ExpandPeriodTemplate(std::string_view tmpl, const Period& p);

}  // namespace sluice
