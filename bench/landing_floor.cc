#include "bench/landing_floor.h"

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "workers/landing_zone.h"

namespace sluice::bench {

double MeasureLandingFloor(const std::string& landing_dir, int files, int threads, std::size_t bytes) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::string failed;  // guarded by mu
  auto land = [&] {
    std::string body(bytes, 'x');
    for (int i = next++; i < files; i = next++) {
      // Each file its own bytes and name, as a content-addressed name would be.
      const std::string n = std::to_string(i);
      body.replace(0, n.size(), n);
      auto partition = worker::LandingPartition::Open(landing_dir, "floor", std::chrono::system_clock::now());
      Status st = partition.ok() ? Status::Ok() : partition.status();
      std::unique_ptr<worker::TempFile> temp;
      if (st.ok()) {
        auto created = (*partition)->CreateTemp();
        if (created.ok()) temp = std::move(created).value();
        else st = created.status();
      }
      if (st.ok()) st = temp->Write(body);
      if (st.ok()) {
        auto published = (*partition)->Publish(temp.get(), "f" + n + ".csv");
        if (!published.ok()) st = published.status();
        else if (!*published) st = Status::Internal("f" + n + ".csv was there already");
      }
      if (!st.ok()) {
        std::lock_guard lock(mu);
        failed = st.ToString();
        next = files;
        return;
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(land);
  for (std::thread& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failed.empty()) {
    std::cerr << "the landing floor: " << failed << "\n";
    return -1;
  }
  return static_cast<double>(files) / std::max(seconds, 1e-9);
}

}  // namespace sluice::bench
