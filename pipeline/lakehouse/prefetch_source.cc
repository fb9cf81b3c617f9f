#include "pipeline/lakehouse/prefetch_source.h"

#include <algorithm>
#include <cstring>
#include <system_error>

namespace sluice::lakehouse {

PrefetchSource::PrefetchSource(std::unique_ptr<ByteSource> inner, std::size_t chunk_bytes, int depth)
    : inner_(std::move(inner)), chunk_bytes_(std::max<std::size_t>(chunk_bytes, 4096)) {
  for (int i = 0; i < std::max(depth, 2); ++i) free_.emplace_back(new char[chunk_bytes_]);
}

std::unique_ptr<ByteSource> PrefetchSource::Wrap(std::unique_ptr<ByteSource> inner, std::size_t chunk_bytes,
                                                 int depth) {
  std::unique_ptr<PrefetchSource> p(new PrefetchSource(std::move(inner), chunk_bytes, depth));
  try {
    p->thread_ = std::thread([raw = p.get()] { raw->Run(); });
  } catch (const std::system_error&) {
    return std::move(p->inner_);  // no thread: read in the caller's
  }
  return p;
}

PrefetchSource::~PrefetchSource() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PrefetchSource::Run() {
  for (;;) {
    std::unique_ptr<char[]> buf;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) break;
      buf = std::move(free_.back());
      free_.pop_back();
    }
    auto n = inner_->Read(buf.get(), chunk_bytes_);
    std::lock_guard<std::mutex> lock(mu_);
    if (!n.ok() || *n == 0) {
      if (!n.ok()) error_ = n.status();
      done_ = true;
      cv_.notify_all();
      break;
    }
    full_.push_back(Chunk{std::move(buf), *n});
    cv_.notify_all();
  }
}

Result<std::size_t> PrefetchSource::Read(char* dst, std::size_t cap) {
  std::size_t copied = 0;
  while (copied < cap) {
    if (current_.data && current_pos_ < current_.size) {
      std::size_t n = std::min(cap - copied, current_.size - current_pos_);
      std::memcpy(dst + copied, current_.data.get() + current_pos_, n);
      copied += n;
      current_pos_ += n;
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (current_.data) {  // hand the spent buffer back to the producer
      free_.push_back(std::move(current_.data));
      cv_.notify_all();
    }
    // With bytes in hand, take only what is ready; with none, wait.
    if (copied == 0) cv_.wait(lock, [this] { return done_ || !full_.empty(); });
    if (full_.empty()) {
      if (copied > 0) break;
      if (!error_.ok()) return error_;
      return std::size_t{0};
    }
    current_ = std::move(full_.front());
    full_.pop_front();
    current_pos_ = 0;
  }
  return copied;
}

}  // namespace sluice::lakehouse
