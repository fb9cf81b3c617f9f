// ByteSource: a pull stream of bytes, the seam between where raw bytes come
// from (a gzip file, a string in a test) and the parsers that read them.
// Read() fills up to `cap` bytes and returns how many; 0 means the end.
// An error (a corrupt or truncated file) is a Status, never a short read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::lakehouse {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<std::size_t> Read(char* dst, std::size_t cap) = 0;
};

// Bytes from memory (tests, already-inflated data). Hands out at most
// `max_chunk` bytes per Read, so parsers can be tested across refills.
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string data, std::size_t max_chunk = static_cast<std::size_t>(-1))
      : data_(std::move(data)), max_chunk_(max_chunk) {}
  Result<std::size_t> Read(char* dst, std::size_t cap) override;

 private:
  std::string data_;
  std::size_t pos_ = 0;
  std::size_t max_chunk_;
};

// Reads a whole source into a string.
Result<std::string> ReadAll(ByteSource& src);

}  // namespace sluice::lakehouse
