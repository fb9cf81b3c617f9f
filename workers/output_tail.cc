#include "workers/output_tail.h"

#include <algorithm>

namespace sluice::worker {

OutputTail::OutputTail(std::size_t capacity) : capacity_(capacity) {}

void OutputTail::Append(const char* data, std::size_t n) {
  total_ += n;
  if (capacity_ == 0) return;
  if (n >= capacity_) {
    ring_.assign(data + (n - capacity_), capacity_);
    next_ = 0;
    return;
  }
  if (ring_.size() < capacity_) {
    std::size_t fits = std::min(n, capacity_ - ring_.size());
    ring_.append(data, fits);
    data += fits;
    n -= fits;
    next_ = 0;
    if (n == 0) return;
  }
  // The ring is full: overwrite the oldest bytes, wrapping at most once.
  std::size_t first = std::min(n, capacity_ - next_);
  ring_.replace(next_, first, data, first);
  ring_.replace(0, n - first, data + first, n - first);
  next_ = (next_ + n) % capacity_;
}

std::string OutputTail::str() const {
  std::string out;
  out.reserve(ring_.size());
  out.append(ring_, next_, std::string::npos);
  out.append(ring_, 0, next_);
  if (total_ > out.size()) {
    // Drop at most 3 UTF-8 continuation bytes (10xxxxxx) cut from their lead byte.
    std::size_t skip = 0;
    while (skip < 3 && skip < out.size() && (static_cast<unsigned char>(out[skip]) & 0xC0) == 0x80) ++skip;
    out.erase(0, skip);
  }
  return out;
}

}  // namespace sluice::worker
