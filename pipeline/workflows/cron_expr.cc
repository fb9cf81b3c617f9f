#include "pipeline/workflows/cron_expr.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <vector>

namespace sluice::workflows {
namespace {

namespace chr = std::chrono;

struct Field {
  const char* name;
  int min, max;
  const std::array<const char*, 12>* names;  // names[i] is value name_base + i
  int name_base;
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kWeekdayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                       "SAT", nullptr, nullptr, nullptr, nullptr,
                                                       nullptr};

enum FieldIndex { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek, kFieldCount };

const std::array<Field, kFieldCount> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, &kMonthNames, 1},
    {"day-of-week", 0, 7, &kWeekdayNames, 0},
}};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Values min..max of `field` every `step`, as bits; day-of-week 7 is 0.
std::uint64_t StepBits(const Field& field, int from, int to, int step) {
  std::uint64_t bits = 0;
  for (int v = from; v <= to; v += step) bits |= std::uint64_t{1} << (field.max == 7 && v == 7 ? 0 : v);
  return bits;
}

// Parses one value of `field`: a number or (month, day-of-week) a name.
// On error, sets *error to the text after `bad cron "...": `.
std::optional<int> ParseValue(const Field& field, std::string_view tok, std::string* error) {
  if (tok.empty()) {
    *error = std::string(field.name) + ": a value is missing";
    return std::nullopt;
  }
  if (std::all_of(tok.begin(), tok.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || ptr != tok.data() + tok.size() || v < field.min || v > field.max) {
      *error = std::string(field.name) + " " + std::string(tok) + " out of range " +
               std::to_string(field.min) + "-" + std::to_string(field.max);
      return std::nullopt;
    }
    return v;
  }
  if (field.names != nullptr) {
    const std::string upper = Upper(tok);
    for (std::size_t i = 0; i < field.names->size(); ++i) {
      const char* name = (*field.names)[i];
      if (name != nullptr && upper == name) return field.name_base + static_cast<int>(i);
    }
    *error = std::string(field.name) + ": " + Quoted(tok) + " is neither a number nor a " +
             (field.name_base == 1 ? "month name (JAN-DEC)" : "weekday name (SUN-SAT)");
    return std::nullopt;
  }
  *error = std::string(field.name) + ": " + Quoted(tok) + " is not a number";
  return std::nullopt;
}

// Parses one field (a comma list) into bits.
std::optional<std::uint64_t> ParseField(const Field& field, std::string_view text,
                                        std::string* error) {
  std::uint64_t bits = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) {
      *error = std::string(field.name) + ": empty item in list " + Quoted(text);
      return std::nullopt;
    }
    std::string_view range = item;
    int step = 1;
    bool has_step = false;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      const int span = field.max - field.min + 1;
      const bool digits =
          !step_text.empty() &&
          std::all_of(step_text.begin(), step_text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) {
        *error = std::string(field.name) + ": step " + Quoted(step_text) + " is not a number";
        return std::nullopt;
      }
      auto [ptr, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (ec != std::errc() || ptr != step_text.data() + step_text.size() || step < 1 || step > span) {
        *error = std::string(field.name) + " step " + std::string(step_text) + " out of range 1-" +
                 std::to_string(span);
        return std::nullopt;
      }
      has_step = true;
    }
    int from = 0, to = 0;
    if (range == "*") {
      from = field.min;
      to = field.max;
    } else if (const std::size_t dash = range.find('-'); dash != std::string_view::npos) {
      auto a = ParseValue(field, range.substr(0, dash), error);
      if (!a) return std::nullopt;
      auto b = ParseValue(field, range.substr(dash + 1), error);
      if (!b) return std::nullopt;
      // `SAT-SUN`: Sunday ends the week (7) when it ends a range.
      if (field.max == 7 && *b == 0 && *a > 0 && Upper(range.substr(dash + 1)) == "SUN") b = 7;
      if (*a > *b) {
        *error = std::string(field.name) + " range " + std::string(range) + " is reversed";
        return std::nullopt;
      }
      from = *a;
      to = *b;
    } else {
      auto a = ParseValue(field, range, error);
      if (!a) return std::nullopt;
      from = *a;
      to = has_step ? field.max : *a;  // `5/15`: from 5 to the maximum
    }
    bits |= StepBits(field, from, to, step);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

// The lowest set bit at or above `from`, or -1.
int NextBit(std::uint64_t bits, int from) {
  if (from < 0) from = 0;
  if (from >= 64) return -1;
  const std::uint64_t m = bits & (~std::uint64_t{0} << from);
  return m == 0 ? -1 : std::countr_zero(m);
}

// The highest set bit at or below `upto`, or -1.
int PrevBit(std::uint64_t bits, int upto) {
  if (upto < 0) return -1;
  const std::uint64_t m = upto >= 63 ? bits : bits & ((std::uint64_t{1} << (upto + 1)) - 1);
  return m == 0 ? -1 : 63 - std::countl_zero(m);
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Comma list of the set bits min..max, runs of three or more as ranges.
std::string FormatList(std::uint64_t bits, int min, int max) {
  std::string out;
  for (int v = min; v <= max;) {
    if (!(bits >> v & 1)) {
      ++v;
      continue;
    }
    int end = v;
    while (end + 1 <= max && (bits >> (end + 1) & 1)) ++end;
    if (!out.empty()) out += ',';
    if (end - v >= 2) {
      out += std::to_string(v) + "-" + std::to_string(end);
    } else {
      out += std::to_string(v);
      if (end > v) out += "," + std::to_string(end);
    }
    v = end + 1;
  }
  return out;
}

// The canonical text of one field. `star`: the field must start with '*'
// (a day field whose '*' decides the day rule); `day`: a day field that must
// not start with '*' unless `star`.
std::string FormatField(const Field& field, std::uint64_t bits, bool star, bool day) {
  const int span = field.max - field.min + 1;
  const int top = field.max == 7 ? 6 : field.max;  // day-of-week 7 is stored as 0
  if (star) {
    // The widest `*/s` inside the bits, then what is left.
    for (int s = 1; s <= span; ++s) {
      const std::uint64_t stepped = StepBits(field, field.min, field.max, s);
      if ((stepped & bits) != stepped) continue;
      std::string out = s == 1 ? "*" : "*/" + std::to_string(s);
      const std::string rest = FormatList(bits & ~stepped, field.min, top);
      return rest.empty() ? out : out + "," + rest;
    }
  }
  if (!day) {
    if (bits == StepBits(field, field.min, field.max, 1)) return "*";
    for (int s = 2; s <= span; ++s) {
      if (bits == StepBits(field, field.min, field.max, s) && std::popcount(bits) >= 3)
        return "*/" + std::to_string(s);
    }
  }
  return FormatList(bits, field.min, top);
}

struct Macro {
  const char* name;
  const char* expansion;
};
constexpr std::array<Macro, 7> kMacros = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

// Days since 1970-01-01 of the first and last days of years 0001 and 9999.
const std::int64_t kMinDay = FloorDiv(kCronMinUnixSeconds, 86400);
const std::int64_t kMaxDay = FloorDiv(kCronMaxUnixSeconds, 86400);
constexpr std::int64_t kSearchDays = std::int64_t{kCronSearchYears} * 366;

chr::year_month_day Ymd(std::int64_t day) {
  return chr::year_month_day{chr::sys_days{chr::days{day}}};
}
std::int64_t DayNumber(const chr::year_month_day& ymd) {
  return chr::sys_days{ymd}.time_since_epoch().count();
}
unsigned WeekdayOf(std::int64_t day) {
  return chr::weekday{chr::sys_days{chr::days{day}}}.c_encoding();
}

}  // namespace

bool CronExpr::DayMatches(int day_of_month, unsigned weekday) const {
  const bool dom = days_ >> day_of_month & 1;
  const bool dow = weekdays_ >> weekday & 1;
  return days_star_ || weekdays_star_ ? dom && dow : dom || dow;
}

bool CronExpr::Matches(std::int64_t t) const {
  if (t < kCronMinUnixSeconds || t > kCronMaxUnixSeconds || t % 60 != 0) return false;
  const std::int64_t day = FloorDiv(t, 86400);
  const std::int64_t minute_of_day = (t - day * 86400) / 60;
  const auto ymd = Ymd(day);
  return (months_ >> unsigned(ymd.month()) & 1) &&
         DayMatches(static_cast<int>(unsigned(ymd.day())), WeekdayOf(day)) &&
         (hours_ >> (minute_of_day / 60) & 1) && (minutes_ >> (minute_of_day % 60) & 1);
}

std::optional<std::int64_t> CronExpr::NextAfter(std::int64_t t) const {
  if (t < kCronMinUnixSeconds || t >= kCronMaxUnixSeconds) return std::nullopt;
  const std::int64_t start = (FloorDiv(t, 60) + 1) * 60;  // strictly after, at second 0
  std::int64_t day = FloorDiv(start, 86400);
  int minute_of_day = static_cast<int>((start - day * 86400) / 60);
  const std::int64_t last_day = std::min(kMaxDay, day + kSearchDays);
  while (day <= last_day) {
    const auto ymd = Ymd(day);
    const int month = static_cast<int>(unsigned(ymd.month()));
    if (!(months_ >> month & 1)) {
      // On to the first day of the next month that matches.
      const int next = NextBit(months_, month + 1);
      const auto first = next > 0 ? ymd.year() / chr::month(next) / 1
                                  : (ymd.year() + chr::years(1)) / chr::month(NextBit(months_, 1)) / 1;
      day = DayNumber(first);
      minute_of_day = 0;
      continue;
    }
    if (DayMatches(static_cast<int>(unsigned(ymd.day())), WeekdayOf(day))) {
      const int h0 = minute_of_day / 60;
      int hour = NextBit(hours_, h0);
      int minute = -1;
      if (hour == h0) {
        minute = NextBit(minutes_, minute_of_day % 60);
        if (minute < 0) hour = NextBit(hours_, h0 + 1);
      }
      if (hour >= 0 && minute < 0) minute = NextBit(minutes_, 0);
      if (hour >= 0) return day * 86400 + hour * 3600 + minute * 60;
    }
    ++day;
    minute_of_day = 0;
  }
  return std::nullopt;
}

std::optional<std::int64_t> CronExpr::PrevAtOrBefore(std::int64_t t) const {
  if (t < kCronMinUnixSeconds || t > kCronMaxUnixSeconds) return std::nullopt;
  const std::int64_t end = FloorDiv(t, 60) * 60;
  std::int64_t day = FloorDiv(end, 86400);
  int minute_of_day = static_cast<int>((end - day * 86400) / 60);
  const std::int64_t first_day = std::max(kMinDay, day - kSearchDays);
  while (day >= first_day) {
    const auto ymd = Ymd(day);
    const int month = static_cast<int>(unsigned(ymd.month()));
    if (!(months_ >> month & 1)) {
      // Back to the last day of the previous month that matches.
      const int prev = PrevBit(months_, month - 1);
      const auto last = prev > 0 ? ymd.year() / chr::month(prev) / chr::last
                                 : (ymd.year() - chr::years(1)) / chr::month(PrevBit(months_, 12)) / chr::last;
      day = DayNumber(chr::year_month_day{last});
      minute_of_day = 24 * 60 - 1;
      continue;
    }
    if (DayMatches(static_cast<int>(unsigned(ymd.day())), WeekdayOf(day))) {
      const int h0 = minute_of_day / 60;
      int hour = PrevBit(hours_, h0);
      int minute = -1;
      if (hour == h0) {
        minute = PrevBit(minutes_, minute_of_day % 60);
        if (minute < 0) hour = PrevBit(hours_, h0 - 1);
      }
      if (hour >= 0 && minute < 0) minute = PrevBit(minutes_, 59);
      if (hour >= 0) return day * 86400 + hour * 3600 + minute * 60;
    }
    --day;
    minute_of_day = 24 * 60 - 1;
  }
  return std::nullopt;
}

std::string CronExpr::ToString() const {
  return FormatField(kFields[kMinute], minutes_, false, false) + " " +
         FormatField(kFields[kHour], hours_, false, false) + " " +
         FormatField(kFields[kDayOfMonth], days_, days_star_, true) + " " +
         FormatField(kFields[kMonth], months_, false, false) + " " +
         FormatField(kFields[kDayOfWeek], weekdays_, weekdays_star_, true);
}

bool CronExpr::operator==(const CronExpr& o) const {
  return minutes_ == o.minutes_ && hours_ == o.hours_ && days_ == o.days_ && months_ == o.months_ &&
         weekdays_ == o.weekdays_ && days_star_ == o.days_star_ && weekdays_star_ == o.weekdays_star_;
}

Result<CronExpr> ParseCron(std::string_view text) {
  auto bad = [&text](const std::string& what) {
    return Status::InvalidArgument("bad cron " + Quoted(text) + ": " + what);
  };
  std::vector<std::string_view> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (IsBlank(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !IsBlank(text[j])) ++j;
    fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.empty()) return bad("empty expression");

  std::string_view expanded_text = text;
  std::string expansion;
  if (fields[0].starts_with('@')) {
    const std::string name = Upper(fields[0]);
    const Macro* macro = nullptr;
    for (const Macro& m : kMacros)
      if (name == Upper(m.name)) macro = &m;
    if (macro == nullptr)
      return bad("unknown macro " + std::string(fields[0]) +
                 " (known: @hourly @daily @midnight @weekly @monthly @yearly @annually)");
    if (fields.size() > 1) return bad(std::string(fields[0]) + " takes no fields after it");
    expansion = macro->expansion;
    expanded_text = expansion;
    fields.clear();
    for (std::size_t i = 0; i < expanded_text.size();) {
      std::size_t j = expanded_text.find(' ', i);
      if (j == std::string_view::npos) j = expanded_text.size();
      fields.push_back(expanded_text.substr(i, j - i));
      i = j + 1;
    }
  }
  if (fields.size() < kFieldCount) {
    std::string missing;
    for (std::size_t i = fields.size(); i < kFieldCount; ++i)
      missing += std::string(missing.empty() ? "" : " ") + kFields[i].name;
    return bad(std::to_string(fields.size()) + " field" + (fields.size() == 1 ? "" : "s") +
               ", missing " + missing + " (expected minute hour day-of-month month day-of-week)");
  }
  if (fields.size() > kFieldCount)
    return bad(std::to_string(fields.size()) +
               " fields, expected 5: minute hour day-of-month month day-of-week (no seconds or "
               "years)");

  std::array<std::uint64_t, kFieldCount> bits{};
  for (int i = 0; i < kFieldCount; ++i) {
    std::string error;
    auto b = ParseField(kFields[i], fields[i], &error);
    if (!b) return bad(error);
    bits[i] = *b;
  }
  CronExpr e;
  e.text_ = std::string(text);
  e.minutes_ = bits[kMinute];
  e.hours_ = static_cast<std::uint32_t>(bits[kHour]);
  e.days_ = static_cast<std::uint32_t>(bits[kDayOfMonth]);
  e.months_ = static_cast<std::uint32_t>(bits[kMonth]);
  e.weekdays_ = static_cast<std::uint32_t>(bits[kDayOfWeek]);
  e.days_star_ = fields[kDayOfMonth].starts_with('*');
  e.weekdays_star_ = fields[kDayOfWeek].starts_with('*');
  return e;
}

}  // namespace sluice::workflows
