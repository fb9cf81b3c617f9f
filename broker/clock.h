// Clock: where the broker gets "now". Passed in, so tests control time.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice::broker {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual std::int64_t NowMs() const = 0;
};

// The system's wall clock, shifted by a fixed offset (0 in production; tests
// move a broker into the future with --clock-offset-ms).
class SystemClock : public Clock {
 public:
  explicit SystemClock(std::int64_t offset_ms = 0) : offset_ms_(offset_ms) {}
  std::int64_t NowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + offset_ms_;
  }

 private:
  std::int64_t offset_ms_;
};

}  // namespace sluice::broker
