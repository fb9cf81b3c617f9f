// GzipFileReader: a gzip file (RFC 1952) inflated as a stream with zlib, in
// bounded memory. Several members one after another (what `cat a.gz b.gz`
// makes) read as one stream. A file that ends inside a member (truncated),
// an empty file, or bytes that are not gzip are a Corruption error at the
// point they are found -- never silently short data.
#pragma once

#include <zlib.h>

#include <memory>
#include <string>

#include "pipeline/lakehouse/byte_source.h"

namespace sluice::lakehouse {

class GzipFileReader final : public ByteSource {
 public:
  static Result<std::unique_ptr<GzipFileReader>> Open(const std::string& path);
  ~GzipFileReader() override;
  GzipFileReader(const GzipFileReader&) = delete;
  GzipFileReader& operator=(const GzipFileReader&) = delete;

  Result<std::size_t> Read(char* dst, std::size_t cap) override;

 private:
  GzipFileReader() = default;
  Result<std::size_t> Inflate(char* dst, std::size_t cap);

  int fd_ = -1;
  z_stream zs_{};
  bool zs_init_ = false;
  std::unique_ptr<unsigned char[]> in_;
  bool in_eof_ = false;
  bool member_done_ = false;  // the last member ended; more input starts another
  bool done_ = false;
  std::size_t compressed_read_ = 0;
  Status pending_;  // an error found after some bytes were inflated: returned next
};

}  // namespace sluice::lakehouse
