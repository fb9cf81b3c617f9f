// Which snapshots the retention rules keep.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "schemas/backup_retention.h"

namespace sluice::backup {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

system_clock::time_point At(int y, int m, int d, int h) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  return system_clock::from_time_t(timegm(&tm));
}

TEST(BackupRetention, StampsAreUtcAndSortByTime) {
  EXPECT_EQ(Stamp(At(2026, 12, 5, 14) + std::chrono::seconds(61)), "20261205T140101Z");
  EXPECT_TRUE(IsStamp("20261205T140101Z"));
  for (const char* bad : {"20261305T140101Z", "20261205T250101Z", "20261205 140101Z", "2026120T140101Z", "",
                          "20261205T140101", "x0261205T140101Z"})
    EXPECT_FALSE(IsStamp(bad)) << bad;
}

TEST(BackupRetention, KeepsTheNewestThenOnePerDayThenOnePerWeek) {
  // Hourly snapshots for 60 days.
  std::vector<std::string> stamps;
  const auto start = At(2026, 10, 1, 0);
  for (int i = 0; i < 60 * 24; ++i) stamps.push_back(Stamp(start + hours(i)));
  Retention r{.keep_last = 24, .keep_daily = 7, .keep_weekly = 4};
  const std::vector<std::string> prune = ToPrune(stamps, r);
  std::set<std::string> kept(stamps.begin(), stamps.end());
  for (const std::string& p : prune) kept.erase(p);
  // The newest 24 (the last day), plus 6 more days' last snapshots, plus
  // the weeks before those days: at most 24 + 7 + 4.
  EXPECT_LE(kept.size(), 35u);
  EXPECT_GE(kept.size(), 24u + 6u + 2u);
  std::vector<std::string> sorted(kept.begin(), kept.end());
  EXPECT_EQ(sorted.back(), stamps.back());                       // the newest
  EXPECT_TRUE(kept.count(stamps[stamps.size() - 24]));           // the 24th newest
  EXPECT_TRUE(kept.count(stamps[stamps.size() - 25]));           // the day before's 23:00: that day's newest
  EXPECT_FALSE(kept.count(stamps[stamps.size() - 26]));          // its 22:00 is not
  EXPECT_TRUE(kept.count(Stamp(At(2026, 11, 28, 23))));           // the newest of a day within the last 7
  EXPECT_FALSE(kept.count(Stamp(At(2026, 11, 28, 22))));          // not another of that day
  EXPECT_FALSE(kept.count(stamps.front()));                      // the oldest goes
  // Nothing is both pruned and kept, and pruning again prunes nothing.
  EXPECT_TRUE(ToPrune(sorted, r).empty());
}

TEST(BackupRetention, FewSnapshotsAreAllKept) {
  std::vector<std::string> stamps = {"20261201T000000Z", "20261202T000000Z", "20261202T000000Z"};
  EXPECT_TRUE(ToPrune(stamps, Retention{}).empty());
  Retention only_last{.keep_last = 1, .keep_daily = 0, .keep_weekly = 0};
  EXPECT_EQ(ToPrune(stamps, only_last), std::vector<std::string>{"20261201T000000Z"});
}

}  // namespace
}  // namespace sluice::backup
