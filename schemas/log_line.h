// Log lines on stderr, one per event, that journald and log shippers can
// parse: logfmt (the default) or JSON (`--log-format json`).
//
//   time=2026-12-05T10:00:00.123Z level=info msg="job j4 is dead" broker=1 job=j4 attempt=1 kind=test.fail
//   {"time":"2026-12-05T10:00:00.123Z","level":"info","msg":"job j4 is dead","job":"j4","attempt":1,...}
//
// Every line has `time` (UTC, ms), `level` (debug, info, warn, error) and
// `msg`, then its fields in order: who wrote it (`broker`, or `worker=ID`)
// and, where they apply, `job`, `attempt`, `kind`. A logfmt value is bare
// when it is a plain token, else a quoted string with JSON's escapes (also
// Go's strconv.Quote escapes, which logfmt readers use). Text that is not
// UTF-8 is shown with U+FFFD, in both formats. Each line is one write(2),
// so lines from different threads never interleave.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class LogFormat { kLogfmt, kJson };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogField {
  std::string key;    // a plain token: [A-Za-z0-9_.]
  std::string value;
  bool number = false;  // written bare in JSON too (an integer)
};

// "logfmt" or "json".
std::optional<LogFormat> ParseLogFormat(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// Process-wide, set once at start (before threads): the format, and the
// fields every line starts with (e.g. {"worker", "w1"}).
void SetLogFormat(LogFormat format);
LogFormat CurrentLogFormat();
void SetLogSource(std::vector<LogField> fields);

// One line, with its newline.
std::string FormatLogLine(LogFormat format, std::int64_t unix_ms, LogLevel level, std::string_view msg,
                          const std::vector<LogField>& fields);
// Formats (in the process's format, with its source fields first) and
// writes one line to stderr.
void WriteLogLine(LogLevel level, std::string_view msg, const std::vector<LogField>& fields = {});

}  // namespace sluice
