// OutputTail: keeps the last `capacity` bytes of a stream (a child's stdout
// or stderr) in a fixed ring, however much passes through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "schemas/protocol.h"

namespace sluice::worker {

class OutputTail {
 public:
  explicit OutputTail(std::size_t capacity = proto::kMaxTailBytes);

  void Append(const char* data, std::size_t n);

  // The kept bytes, oldest first. When the stream was cut, a partial UTF-8
  // sequence at the start is dropped, so the tail stays valid text if the
  // stream was.
  std::string str() const;
  std::uint64_t total_bytes() const { return total_; }

 private:
  std::string ring_;       // sized to capacity once full
  std::size_t capacity_;
  std::size_t next_ = 0;   // where the next byte goes once the ring is full
  std::uint64_t total_ = 0;
};

}  // namespace sluice::worker
