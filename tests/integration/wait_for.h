// Deadlines for tests that start real processes: generous, scaled by
// SLUICE_TIMEOUT_SCALE (e.g. 3 under AddressSanitizer on a loaded machine),
// and polled -- tests wait for a condition, never for a fixed time.
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

namespace sluice::testing {

using Ms = std::chrono::milliseconds;

// `ms` times SLUICE_TIMEOUT_SCALE (default 1).
inline std::chrono::milliseconds Scaled(std::chrono::milliseconds ms) {
  static const double scale = [] {
    const char* s = std::getenv("SLUICE_TIMEOUT_SCALE");
    double v = s != nullptr ? std::atof(s) : 1.0;
    return v > 0 ? v : 1.0;
  }();
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(ms.count()) * scale));
}

// Polls `done` every `every` until it returns true (-> true) or `timeout`
// passes (-> false). `done` is always tried at least once.
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

// Unix milliseconds, the unit of every *_ms field.
inline std::int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice::testing
