// How times and durations are shown to people. On the wire they are Unix
// milliseconds (UTC) and millisecond durations.
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

// ISO-8601 UTC: "2024-05-01T12:34:56.789Z", or "2024-05-01T12:34:56Z"
// without milliseconds.
std::string FormatIsoUtc(std::int64_t unix_ms, bool with_millis = true);

// A duration for people: "850 ms", "1.234 s", "2m03s", "1h02m03s",
// "3d04h05m". Negative durations get a leading '-'.
std::string FormatDurationMs(std::int64_t ms);

// Milliseconds since the Unix epoch, now (the system clock).
std::int64_t NowUnixMs();

}  // namespace sluice
