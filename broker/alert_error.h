// The error text an alert carries: the last attempt's error of the job that
// went dead (or of a run's failed stage), cut to kAlertErrorBytes between
// characters, with "..." marking a cut. Alerts are read on a phone; the
// whole error is in `sluice status`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::broker {

inline constexpr std::size_t kAlertErrorBytes = 300;

// `error` (any bytes: invalid UTF-8 is repaired) at most kAlertErrorBytes
// long plus the "..." of a cut; "" stays "".
std::string AlertErrorExcerpt(std::string_view error);

}  // namespace sluice::broker
