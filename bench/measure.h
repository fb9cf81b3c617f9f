// What the benchmarks measure with: seconds of a steady-clock span, and the
// nearest-rank quantile of sorted samples. Header-only: the benches link
// different libraries (sluice-bench-redis has no harness).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::bench {

inline double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Value at quantile q of sorted `v` (nearest rank); NAN when empty.
inline double Quantile(const std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return NAN;
  std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return static_cast<double>(v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)]);
}

}  // namespace sluice::bench
