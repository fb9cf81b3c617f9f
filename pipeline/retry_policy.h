// Retry policy: how long a job waits before its next attempt.
//
//   delay(n) = min(cap, base * 2^(n-1)) * (1 + jitter),  jitter uniform in [0, 0.25)
//
// where n >= 1 is the number of failures so far. Jitter only ever adds, so
// base * 2^(n-1) (capped) is a guaranteed lower bound. A server-requested
// minimum (Retry-After) raises the delay, never lowers it.
#pragma once

#include <cstdint>
#include <random>

namespace sluice {

struct RetryPolicy {
  std::uint32_t max_attempts = 5;
  std::uint64_t base_ms = 5000;
  std::uint64_t cap_ms = 3600 * 1000;
};

// The un-jittered delay after `failures` failures (>= 1), in ms.
std::uint64_t BackoffFloorMs(std::uint32_t failures, std::uint64_t base_ms, std::uint64_t cap_ms);
// The delay to wait, with jitter drawn from `rng`, at least `min_ms`.
std::uint64_t BackoffDelayMs(std::uint32_t failures, std::uint64_t base_ms, std::uint64_t cap_ms,
                             std::uint64_t min_ms, std::mt19937_64& rng);

}  // namespace sluice
