#include "schemas/backup_retention.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

namespace sluice::backup {
namespace {

bool Digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Num(std::string_view s) {
  int n = 0;
  for (const char c : s) n = n * 10 + (c - '0');
  return n;
}

// The ISO week of a stamp's date, as "YYYY-Www".
std::string IsoWeek(std::string_view stamp) {
  std::tm tm{};
  tm.tm_year = Num(stamp.substr(0, 4)) - 1900;
  tm.tm_mon = Num(stamp.substr(4, 2)) - 1;
  tm.tm_mday = Num(stamp.substr(6, 2));
  tm.tm_hour = 12;
  const std::time_t t = timegm(&tm);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[16];
  std::strftime(buf, sizeof buf, "%G-W%V", &utc);
  return buf;
}

}  // namespace

std::string Stamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  return buf;
}

bool IsStamp(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return false;
  if (!Digits(s.substr(0, 8)) || !Digits(s.substr(9, 6))) return false;
  const int month = Num(s.substr(4, 2)), day = Num(s.substr(6, 2));
  const int hour = Num(s.substr(9, 2)), minute = Num(s.substr(11, 2)), second = Num(s.substr(13, 2));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

std::vector<std::string> ToPrune(std::vector<std::string> stamps, const Retention& retention) {
  std::sort(stamps.begin(), stamps.end(), std::greater<>());  // newest first
  stamps.erase(std::unique(stamps.begin(), stamps.end()), stamps.end());
  std::set<std::string> keep;
  for (int i = 0; i < retention.keep_last && i < static_cast<int>(stamps.size()); ++i) keep.insert(stamps[i]);
  std::set<std::string> days, weeks;
  for (const std::string& s : stamps) {
    const std::string day = s.substr(0, 8);
    if (static_cast<int>(days.size()) < retention.keep_daily && days.insert(day).second) keep.insert(s);
    const std::string week = IsoWeek(s);
    if (static_cast<int>(weeks.size()) < retention.keep_weekly && weeks.insert(week).second) keep.insert(s);
  }
  std::vector<std::string> prune;
  for (const std::string& s : stamps)
    if (keep.count(s) == 0) prune.push_back(s);
  std::sort(prune.begin(), prune.end());
  return prune;
}

}  // namespace sluice::backup
