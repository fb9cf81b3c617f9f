// Durations typed by users in seconds ("5", "0.5", "1800") and sent on the
// wire in milliseconds (the *_ms fields of PROTOCOL.md).
#pragma once

#include <cstdint>
#include <string_view>

#include "schemas/status.h"

namespace sluice {

// Parses a non-negative decimal number of seconds — digits with an optional
// fraction ("0.5", ".25", "10.") — and returns it in milliseconds, rounded to
// the nearest millisecond. No sign, exponent, unit suffix, spaces, inf or nan.
// At most 10^10 seconds (about 317 years). Errors are InvalidArgument with a
// message that names `text`.
Result<std::uint64_t> ParseSecondsToMs(std::string_view text);

}  // namespace sluice
