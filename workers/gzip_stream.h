// Streaming gzip (zlib) in both directions, in bounded memory:
//   GzipDeflater compresses a stream into gzip (RFC 1952) members; the
//     header carries no name and mtime 0, so equal input gives equal output.
//   GzipVerifier checks that a stream that is already gzip is complete and
//     intact (one or more members, CRC and length checked), discarding what
//     it inflates.
#pragma once

#include <zlib.h>

#include <functional>
#include <memory>
#include <string_view>

#include "schemas/status.h"

namespace sluice::worker {

// Receives output bytes; a non-OK Status stops the stream.
using ByteSink = std::function<Status(std::string_view bytes)>;

// True if `head` starts with the gzip magic 1f 8b.
bool HasGzipMagic(std::string_view head);

class GzipDeflater {
 public:
  explicit GzipDeflater(int level = Z_DEFAULT_COMPRESSION);
  ~GzipDeflater();
  GzipDeflater(const GzipDeflater&) = delete;
  GzipDeflater& operator=(const GzipDeflater&) = delete;

  // Compresses `in`, passing whole output buffers to `out` as they fill.
  Status Write(std::string_view in, const ByteSink& out);
  // Flushes the rest and the gzip trailer. No Write() after.
  Status Finish(const ByteSink& out);

 private:
  Status Run(int flush, const ByteSink& out);
  struct State;
  std::unique_ptr<State> s_;
};

class GzipVerifier {
 public:
  GzipVerifier();
  ~GzipVerifier();
  GzipVerifier(const GzipVerifier&) = delete;
  GzipVerifier& operator=(const GzipVerifier&) = delete;

  // Corruption at the first byte that is not valid gzip.
  Status Feed(std::string_view in);
  // Corruption unless the stream ended exactly at the end of a member.
  Status Finish() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace sluice::worker
