// One-line log records on stderr: "2026-11-22T10:00:00.123Z broker: <text>".
#pragma once

namespace sluice::broker {

void Logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace sluice::broker
