// PrefetchSource: runs another ByteSource on a thread of its own, a few
// chunks ahead of the reader. Loading a gzip CSV, this puts inflating on one
// core and parsing + inserting on another. Errors of the inner source come
// out of Read() in order, after the bytes produced before them. Destroying
// the PrefetchSource stops and joins the thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/lakehouse/byte_source.h"

namespace sluice::lakehouse {

class PrefetchSource final : public ByteSource {
 public:
  // `inner` on a thread, with `depth` chunks of `chunk_bytes` in flight; or
  // `inner` itself when no thread can be started.
  static std::unique_ptr<ByteSource> Wrap(std::unique_ptr<ByteSource> inner, std::size_t chunk_bytes = 1 << 20,
                                          int depth = 4);
  ~PrefetchSource() override;
  PrefetchSource(const PrefetchSource&) = delete;
  PrefetchSource& operator=(const PrefetchSource&) = delete;

  Result<std::size_t> Read(char* dst, std::size_t cap) override;

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
  };
  PrefetchSource(std::unique_ptr<ByteSource> inner, std::size_t chunk_bytes, int depth);
  void Run();

  std::unique_ptr<ByteSource> inner_;
  const std::size_t chunk_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> full_;                      // produced, in order
  std::vector<std::unique_ptr<char[]>> free_;  // buffers for the producer
  Status error_;                               // the inner source's error, after full_
  bool done_ = false;                          // the producer has finished
  bool stop_ = false;                          // the reader has gone
  Chunk current_;                              // the chunk being read (reader only)
  std::size_t current_pos_ = 0;
  std::thread thread_;
};

}  // namespace sluice::lakehouse
