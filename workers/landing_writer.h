// LandingWriter: the sink that turns one HTTP body into one landing file.
//
// The body streams through SHA-256 and, unless it is gzip already, through
// gzip, into a temp file in the partition; Finish() names the file and
// publishes it (landing_zone.h). "Gzip already": the response says so
// (Content-Encoding gzip / x-gzip, Content-Type application/gzip or
// application/x-gzip) or the body starts with 1f 8b. Such a body is stored
// byte for byte, after a streaming check that it is complete, valid gzip.
// Any other Content-Encoding is refused (the file would not gunzip to the
// data). Memory is bounded: a few buffers of 64-128 KiB, whatever the size.
//
// Naming (landing_names.h): with ETag naming the name is known from the
// headers, so an existing file is found before any body byte is stored and
// the transfer stops ("unchanged"); with content naming it is known at the
// end, and an existing file then means the new temp file is deleted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "schemas/status.h"
#include "workers/gzip_stream.h"
#include "workers/http_fetch.h"
#include "workers/landing_zone.h"
#include "workers/sha256_stream.h"

namespace sluice::worker {

enum class Naming : std::uint8_t {
  kEtag,  // by ETag; a response without one is refused
  kHash,  // by content
  kAuto,  // by ETag when the response has one, else by content
};

struct Landed {
  bool written = false;          // false: the file was there already
  std::string name;              // file name in the partition
  std::uint64_t bytes_written = 0;  // size of the landing file written (0 if not written)
  std::string sha256;            // hex digest of the body as received ("" if not read)
};

class LandingWriter : public HttpBodySink {
 public:
  // Why OnBody() stopped the transfer.
  enum class Stop : std::uint8_t {
    kNone,
    kAlreadyLanded,  // ETag naming, and the file exists: unchanged
    kNoEtag,         // Naming::kEtag, and the response has no ETag
    kBadEncoding,    // a Content-Encoding other than gzip / identity
    kCorrupt,        // the body claimed gzip and is not
    kIoError,        // the temp file could not be written
  };

  // `url` is the expanded URL with secrets unresolved (it goes into ETag
  // names); `ext` is validated; `partition` outlives the writer.
  LandingWriter(LandingPartition* partition, Naming naming, std::string url, std::string ext);
  ~LandingWriter() override;

  bool OnBody(const HttpResponseHead& head, std::string_view chunk) override;

  // After a complete 2xx transfer: stores what is left, names and publishes
  // the file. If the name is known to exist (ETag naming, empty body),
  // returns Landed{written = false}. Errors: IOError (local disk),
  // Corruption (not valid gzip), InvalidArgument (no ETag / bad encoding).
  Result<Landed> Finish(const HttpResponseHead& head);

  Stop stop() const { return stop_; }
  const Status& stop_status() const { return stop_status_; }
  // The landing file name when known (ETag naming: from the headers on).
  const std::string& name() const { return name_; }
  // The response said the body is gzip (so a bad one was likely cut short).
  bool declared_gzip() const { return declared_gzip_; }

 private:
  bool Begin(const HttpResponseHead& head);  // false: stop_ set
  Status Store(std::string_view bytes);
  Status DecideMode();
  bool Fail(Stop why, Status status);

  LandingPartition* partition_;
  const Naming naming_;
  const std::string url_;
  const std::string ext_;
  bool begun_ = false;
  bool mode_known_ = false;
  bool as_is_ = false;
  bool declared_gzip_ = false;
  std::string sniff_;  // the first bytes, until there are two to look at
  std::string name_;
  Stop stop_ = Stop::kNone;
  Status stop_status_;
  std::unique_ptr<TempFile> temp_;
  Sha256Stream sha_;
  std::unique_ptr<GzipDeflater> deflater_;
  std::unique_ptr<GzipVerifier> verifier_;
};

}  // namespace sluice::worker
