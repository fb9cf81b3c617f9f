#include "workers/event_log.h"

#include <cstdarg>
#include <cstdio>

namespace sluice::worker {
namespace {

std::string Format(const char* format, va_list args) {
  char text[2048];
  std::vsnprintf(text, sizeof text, format, args);  // a text that does not fit is cut
  return text;
}

}  // namespace

void EventLog::Info(const char* format, ...) const {
  va_list args;
  va_start(args, format);
  const std::string text = Format(format, args);
  va_end(args);
  WriteLogLine(LogLevel::kInfo, text, fields_);
}

void EventLog::Warn(const char* format, ...) const {
  va_list args;
  va_start(args, format);
  const std::string text = Format(format, args);
  va_end(args);
  WriteLogLine(LogLevel::kWarn, text, fields_);
}

void EventLog::Line(LogLevel level, const std::vector<LogField>& fields, const std::string& msg) const {
  std::vector<LogField> all = fields_;
  all.insert(all.end(), fields.begin(), fields.end());
  WriteLogLine(level, msg, all);
}

}  // namespace sluice::worker
