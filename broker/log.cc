#include "broker/log.h"

#include <cstdarg>
#include <cstdio>
#include <string_view>

namespace sluice::broker {
namespace {

std::string Format(const char* fmt, va_list ap) {
  char text[2400];
  std::vsnprintf(text, sizeof text, fmt, ap);
  return text;
}

}  // namespace

void Logf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string text = Format(fmt, ap);
  va_end(ap);
  LogLevel level = LogLevel::kInfo;
  for (auto [prefix, l] : {std::pair<std::string_view, LogLevel>{"WARNING: ", LogLevel::kWarn},
                           std::pair<std::string_view, LogLevel>{"FATAL: ", LogLevel::kError}}) {
    if (std::string_view(text).substr(0, prefix.size()) == prefix) {
      level = l;
      text.erase(0, prefix.size());
    }
  }
  WriteLogLine(level, text);
}

void LogFieldsf(LogLevel level, std::vector<LogField> fields, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const std::string text = Format(fmt, ap);
  va_end(ap);
  WriteLogLine(level, text, fields);
}

}  // namespace sluice::broker
