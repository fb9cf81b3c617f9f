// Cron expressions, evaluated in UTC: when a scheduled workflow fires.
//
// Five fields, separated by spaces or tabs:
//
//   minute  hour  day-of-month  month  day-of-week
//   0-59    0-23  1-31          1-12   0-7 (0 and 7 are Sunday)
//
// Each field is `*` or a comma list of items; an item is a value `5`, a
// range `1-5`, or either with a step: `*/15`, `10-40/10`, `5/15` (= 5 to the
// field's maximum, every 15). Months take JAN-DEC and days of the week
// SUN-SAT, case-insensitive, also in ranges (`MON-FRI`; SUN ending a range
// is 7, so `FRI-SUN` is Friday to Sunday). Macros replace the
// whole expression: @hourly, @daily (= @midnight), @weekly, @monthly,
// @yearly (= @annually).
//
// Days follow the classic (Vixie) rule: when both day-of-month and
// day-of-week are restricted (neither field starts with `*`), a day matches
// when EITHER matches (`0 0 13 * FRI` fires on every 13th and every Friday);
// otherwise both must (`0 0 */2 * MON`: odd days that are Mondays).
//
// Fire times are whole minutes (second 0), in Unix seconds, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::workflows {

// NextAfter and PrevAtOrBefore look this far (in years) from the given
// instant and report nullopt beyond it. The longest gap between two fire
// times of an expression that can fire at all is 8 years (`0 0 29 2 *`:
// 2096-02-29, then 2104-02-29, 2100 being no leap year), so nullopt means
// the expression never fires (`0 0 30 2 *`) or the range below ends.
inline constexpr int kCronSearchYears = 9;

// Instants outside years 0001-9999 are outside every schedule: NextAfter
// and PrevAtOrBefore return nullopt for them and never answer beyond them.
inline constexpr std::int64_t kCronMinUnixSeconds = -62135596800;  // 0001-01-01T00:00:00Z
inline constexpr std::int64_t kCronMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z

class CronExpr {
 public:
  // The first fire time strictly after `unix_seconds`; nullopt if there is
  // none within kCronSearchYears.
  std::optional<std::int64_t> NextAfter(std::int64_t unix_seconds) const;
  // The latest fire time at or before `unix_seconds` (the slot a scheduler
  // that was down should catch up on); nullopt if there is none within
  // kCronSearchYears.
  std::optional<std::int64_t> PrevAtOrBefore(std::int64_t unix_seconds) const;
  // Whether `unix_seconds` is a fire time (second 0, every field matching).
  bool Matches(std::int64_t unix_seconds) const;

  // The expression as parsed (macros as written).
  const std::string& text() const { return text_; }
  // A canonical five-field form with numbers only (`MON-FRI` is `1-5`,
  // `@daily` is `0 0 * * *`). Parsing it gives back an equal CronExpr.
  std::string ToString() const;

  // The same fields, hence the same schedule (the original text aside).
  bool operator==(const CronExpr& other) const;

 private:
  friend Result<CronExpr> ParseCron(std::string_view text);
  bool DayMatches(int day_of_month, unsigned weekday) const;

  std::string text_;
  std::uint64_t minutes_ = 0;  // bit m: minute m (0-59)
  std::uint32_t hours_ = 0;    // bit h: hour h (0-23)
  std::uint32_t days_ = 0;     // bit d: day of month d (1-31)
  std::uint32_t months_ = 0;   // bit m: month m (1-12)
  std::uint32_t weekdays_ = 0; // bit w: weekday w (0-6, Sunday 0)
  bool days_star_ = false;     // the day-of-month field starts with '*'
  bool weekdays_star_ = false; // the day-of-week field starts with '*'
};

// Parses a cron expression. Errors are InvalidArgument and name the field:
// `bad cron "61 * * * *": minute 61 out of range 0-59`.
Result<CronExpr> ParseCron(std::string_view text);

}  // namespace sluice::workflows
