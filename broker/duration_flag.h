// Durations on command lines: "250ms", "30s", "10m", "2h", "7d", or a plain
// number of seconds (fractions allowed: "0.5").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::broker {

std::optional<std::int64_t> ParseDurationMs(std::string_view text);

}  // namespace sluice::broker
