// The broker's log lines on stderr (schemas/log_line.h: logfmt, or JSON
// with --log-format json), e.g.
//   time=2026-11-22T10:00:00.123Z level=info msg="listening on tcp://127.0.0.1:5555" component=broker
#pragma once

#include <vector>

#include "schemas/log_line.h"

namespace sluice::broker {

// An info line; a text that starts "WARNING: " is a warn line and one that
// starts "FATAL: " an error line (the prefix is dropped from msg).
void Logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// A line with fields after msg: job=, attempt=, kind=, run=, workflow= ...
void LogFieldsf(LogLevel level, std::vector<LogField> fields, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace sluice::broker
