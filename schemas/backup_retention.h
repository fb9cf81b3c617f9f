// Which database snapshots a backup location keeps. Snapshots are named by
// their UTC time, "YYYYMMDDTHHMMSSZ" (a stamp), so bytewise order is time
// order. Kept:
//   - the newest `keep_last`;
//   - the newest of each of the last `keep_daily` UTC days that have one;
//   - the newest of each of the last `keep_weekly` ISO weeks that have one.
// Everything else is pruned after each new snapshot.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::backup {

struct Retention {
  int keep_last = 24;
  int keep_daily = 7;
  int keep_weekly = 4;
};

// "YYYYMMDDTHHMMSSZ" for `t` (UTC, whole seconds).
std::string Stamp(std::chrono::system_clock::time_point t);
// True if `s` has that shape with a real date and time.
bool IsStamp(std::string_view s);

// The stamps of `stamps` (any order, duplicates ignored) to delete.
std::vector<std::string> ToPrune(std::vector<std::string> stamps, const Retention& retention);

}  // namespace sluice::backup
