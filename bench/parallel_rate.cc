#include "bench/parallel_rate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::bench {

double ParallelRate(int items, int threads, const std::function<std::string(int)>& one, const std::string& what) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::string failed;  // guarded by mu
  auto run = [&] {
    for (int i = next++; i < items; i = next++) {
      std::string error = one(i);
      if (!error.empty()) {
        std::lock_guard lock(mu);
        if (failed.empty()) failed = std::move(error);
        next = items;
        return;
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(run);
  for (std::thread& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failed.empty()) {
    std::cerr << what << ": " << failed << "\n";
    return -1;
  }
  return static_cast<double>(items) / std::max(seconds, 1e-9);
}

}  // namespace sluice::bench
