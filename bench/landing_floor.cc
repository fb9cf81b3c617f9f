#include "bench/landing_floor.h"

#include <chrono>
#include <memory>
#include <string>

#include "bench/parallel_rate.h"
#include "workers/landing_zone.h"

namespace sluice::bench {

double MeasureLandingFloor(const std::string& landing_dir, int files, int threads, std::size_t bytes) {
  auto land = [&](int i) -> std::string {
    // Each file its own bytes and name, as a content-addressed name would be.
    const std::string n = std::to_string(i);
    std::string body(bytes, 'x');
    body.replace(0, n.size(), n);
    auto partition = worker::LandingPartition::Open(landing_dir, "floor", std::chrono::system_clock::now());
    if (!partition.ok()) return partition.status().ToString();
    auto created = (*partition)->CreateTemp();
    if (!created.ok()) return created.status().ToString();
    std::unique_ptr<worker::TempFile> temp = std::move(created).value();
    if (Status st = temp->Write(body); !st.ok()) return st.ToString();
    auto published = (*partition)->Publish(temp.get(), "f" + n + ".csv");
    if (!published.ok()) return published.status().ToString();
    if (!*published) return "f" + n + ".csv was there already";
    return {};
  };
  return ParallelRate(files, threads, land, "the landing floor");
}

}  // namespace sluice::bench
