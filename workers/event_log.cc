#include "workers/event_log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace sluice::worker {

void EventLog::Info(const char* format, ...) const {
  char line[2048];
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::size_t n = std::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &utc);
  int m = std::snprintf(line + n, sizeof line - n, "%s: ", name_.c_str());
  if (m > 0) n += std::min<std::size_t>(static_cast<std::size_t>(m), sizeof line - n - 1);
  va_list args;
  va_start(args, format);
  m = std::vsnprintf(line + n, sizeof line - n, format, args);
  va_end(args);
  if (m > 0) n += std::min<std::size_t>(static_cast<std::size_t>(m), sizeof line - n - 1);
  // A line that did not fit is cut; it still ends with a newline.
  if (n >= sizeof line - 1) n = sizeof line - 2;
  line[n++] = '\n';
  // One write, so lines from different threads never interleave. A failed
  // write to stderr has nowhere to be reported.
  ssize_t ignored = ::write(STDERR_FILENO, line, n);
  (void)ignored;
}

}  // namespace sluice::worker
