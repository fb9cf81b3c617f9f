#include "pipeline/retry_policy.h"

#include <algorithm>

namespace sluice {

std::uint64_t BackoffFloorMs(std::uint32_t failures, std::uint64_t base_ms, std::uint64_t cap_ms) {
  if (failures == 0) return 0;
  std::uint64_t d = base_ms;
  for (std::uint32_t i = 1; i < failures && d < cap_ms; ++i) d *= 2;
  return std::min(d, cap_ms);
}

std::uint64_t BackoffDelayMs(std::uint32_t failures, std::uint64_t base_ms, std::uint64_t cap_ms,
                             std::uint64_t min_ms, std::mt19937_64& rng) {
  std::uint64_t floor = BackoffFloorMs(failures, base_ms, cap_ms);
  std::uniform_int_distribution<std::uint64_t> jitter(0, floor / 4);
  return std::max(floor + (floor >= 4 ? jitter(rng) : 0), min_ms);
}

}  // namespace sluice
