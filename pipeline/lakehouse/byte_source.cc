#include "pipeline/lakehouse/byte_source.h"

#include <algorithm>
#include <cstring>

namespace sluice::lakehouse {

Result<std::size_t> StringSource::Read(char* dst, std::size_t cap) {
  std::size_t n = std::min({cap, max_chunk_, data_.size() - pos_});
  if (n > 0) std::memcpy(dst, data_.data() + pos_, n);
  pos_ += n;
  return n;
}

Result<std::string> ReadAll(ByteSource& src) {
  std::string out;
  std::size_t size = 0;
  out.resize(1 << 20);
  for (;;) {
    if (out.size() - size < (1 << 16)) out.resize(out.size() * 2);
    auto n = src.Read(out.data() + size, out.size() - size);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    size += *n;
  }
  out.resize(size);
  return out;
}

}  // namespace sluice::lakehouse
