// LatencyHistogram: counts of durations in fixed buckets (seconds), for a
// Prometheus histogram: cumulative bucket counts, the count and the sum.
// Not thread-safe: the loop observes, and builds the text it publishes.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sluice::broker {

class LatencyHistogram {
 public:
  // 50 us to 10 s: a commit with or without an fsync, a slow disk.
  static constexpr std::array<double, 14> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,    0.025,  0.05,    0.1,    0.25,  1,     10};
  void Observe(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts_[i];
    ++count_;
    sum_ += seconds;
  }
  std::vector<double> bounds() const { return {kBounds.begin(), kBounds.end()}; }
  // Observations at most bounds()[i], for each i.
  std::vector<std::uint64_t> cumulative() const {
    std::vector<std::uint64_t> out;
    std::uint64_t run = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) out.push_back(run += counts_[i]);
    return out;
  }
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<std::uint64_t, kBounds.size() + 1> counts_{};  // the last: above every bound
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace sluice::broker
