#include "pipeline/lakehouse/ingest_date.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace sluice::lakehouse {
namespace {

bool Digits(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

int DaysIn(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<std::string> PartitionDate(std::string_view rel) {
  std::vector<std::string_view> seg;
  std::size_t i = 0;
  while (i <= rel.size()) {
    std::size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    seg.push_back(rel.substr(i, j - i));
    i = j + 1;
  }
  // source / YYYY / MM / file, at least.
  if (seg.size() < 4 || !Digits(seg[1], 4) || !Digits(seg[2], 2)) return std::nullopt;
  int y = Num(seg[1]), m = Num(seg[2]);
  if (m < 1 || m > 12) return std::nullopt;
  std::string date = std::string(seg[1]) + "-" + std::string(seg[2]) + "-";
  // A day folder: DD followed by at least the file.
  if (seg.size() >= 5 && Digits(seg[3], 2)) {
    int d = Num(seg[3]);
    if (d >= 1 && d <= DaysIn(y, m)) return date + std::string(seg[3]);
  }
  return date + "01";
}

Result<std::string> IngestDate(std::string_view relative_path, const std::string& absolute_path) {
  if (auto d = PartitionDate(relative_path)) return *d;
  struct stat st;
  if (::stat(absolute_path.c_str(), &st) != 0)
    return Status::IOError("cannot stat " + absolute_path + ": " + std::strerror(errno));
  std::tm tm{};
  time_t t = st.st_mtime;
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return std::string(buf);
}

}  // namespace sluice::lakehouse
