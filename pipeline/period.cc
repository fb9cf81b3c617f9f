#include "pipeline/period.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace sluice {
namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<PeriodUnit> ParsePeriodUnit(std::string_view s) {
  if (s == "day") return PeriodUnit::kDay;
  if (s == "month") return PeriodUnit::kMonth;
  if (s == "year") return PeriodUnit::kYear;
  return std::nullopt;
}

std::optional<Period> ParsePeriod(std::string_view s, PeriodUnit unit) {
  Period p;
  p.unit = unit;
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return std::nullopt;
  if (!ParseInt(s.substr(0, 4), &p.year) || p.year < 1) return std::nullopt;
  if (s.size() >= 7) {
    if (s[4] != '-' || !ParseInt(s.substr(5, 2), &p.month) || p.month < 1 || p.month > 12)
      return std::nullopt;
  }
  if (s.size() == 10) {
    if (s[7] != '-' || !ParseInt(s.substr(8, 2), &p.day) || p.day < 1 ||
        p.day > DaysIn(p.year, p.month))
      return std::nullopt;
  }
  if (unit != PeriodUnit::kDay) p.day = 1;
  if (unit == PeriodUnit::kYear) p.month = 1;
  return p;
}

bool IsIsoDay(std::string_view s) {
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && ParsePeriod(s, PeriodUnit::kDay).has_value();
}

Period PeriodAt(long long unix_ms, PeriodUnit unit) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  Period p{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, unit};
  if (unit != PeriodUnit::kDay) p.day = 1;
  if (unit == PeriodUnit::kYear) p.month = 1;
  return p;
}

Period Step(const Period& p, int n) {
  Period r = p;
  switch (p.unit) {
    case PeriodUnit::kYear:
      r.year += n;
      break;
    case PeriodUnit::kMonth: {
      int m = (r.year * 12 + (r.month - 1)) + n;
      r.year = m / 12;
      r.month = m % 12 + 1;
      break;
    }
    case PeriodUnit::kDay:
      for (; n > 0; --n) {
        if (++r.day > DaysIn(r.year, r.month)) {
          r.day = 1;
          if (++r.month > 12) r.month = 1, ++r.year;
        }
      }
      for (; n < 0; ++n) {
        if (--r.day < 1) {
          if (--r.month < 1) r.month = 12, --r.year;
          r.day = DaysIn(r.year, r.month);
        }
      }
      break;
  }
  return r;
}

std::string FormatPeriod(const Period& p) {
  char buf[16];
  switch (p.unit) {
    case PeriodUnit::kYear: std::snprintf(buf, sizeof buf, "%04d", p.year); break;
    case PeriodUnit::kMonth: std::snprintf(buf, sizeof buf, "%04d-%02d", p.year, p.month); break;
    case PeriodUnit::kDay: std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", p.year, p.month, p.day); break;
  }
  return buf;
}

std::string ExpandPeriodTemplate(std::string_view tmpl, const Period& p) {
  char year[8], month[4], day[4], date[16];
  std::snprintf(year, sizeof year, "%04d", p.year);
  std::snprintf(month, sizeof month, "%02d", p.month);
  std::snprintf(day, sizeof day, "%02d", p.day);
  std::snprintf(date, sizeof date, "%04d-%02d-%02d", p.year, p.month, p.day);
  std::string out;
  out.reserve(tmpl.size() + 8);
  for (std::size_t i = 0; i < tmpl.size();) {
    auto take = [&](std::string_view key, const char* value) {
      if (tmpl.substr(i, key.size()) != key) return false;
      out += value;
      i += key.size();
      return true;
    };
    if (tmpl[i] == '{' && (take("{year}", year) || take("{month}", month) || take("{day}", day) ||
                           take("{date}", date)))
      continue;
    out += tmpl[i++];
  }
  return out;
}

}  // namespace sluice
