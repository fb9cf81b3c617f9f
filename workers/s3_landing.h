// A landing zone in an S3-compatible object store: --landing
// s3://bucket/prefix. The objects have the folder layout's names,
// {prefix}/{source}/{YYYY}/{MM}/{name}.{ext}.gz, and the same rules:
//
// - Immutable. Publish() asks HEAD first and sends the PUT with
//   If-None-Match: *, so a store that supports conditional writes (AWS S3,
//   R2, MinIO) refuses to replace an object even when two workers race
//   between the HEAD and the PUT. A store that ignores the header (Ceph
//   before Squid, s3rver) leaves that window open: both PUTs succeed and
//   the later one's bytes stay. The names are content- or ETag-addressed,
//   so both wrote the same body (or, for ETag names, the origin's same
//   version), and each of the two results says written.
// - Never partial. A body goes to a spool file first (unnamed, in
//   --spool-dir), then up in one PUT or, from 16 MiB, as a multipart upload
//   that becomes visible only when complete. A worker killed mid-upload
//   leaves no object; its parts are invisible, and dropped by the store's
//   lifecycle rule for incomplete uploads (or never billed by s3rver).
// - Loaded from where it landed: load lists the objects its sources' globs
//   select and fetches each new one (S3LandingFiles, below).
// - Streamed: memory stays bounded whatever the size (the spool file holds
//   the body; the upload reads it back in 64 KiB pieces).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/s3_client.h"
#include "schemas/s3_location.h"
#include "pipeline/lakehouse/landing_files.h"
#include "workers/landing_zone.h"

namespace sluice::worker {

// The read side, for load: landing files listed (ListObjectsV2 under the
// glob's fixed folders) and fetched one at a time into a spool file (an
// unnamed one, read through /proc/self/fd), so the loader reads a local
// gzip file as it does from a folder.
class S3LandingFiles final : public lakehouse::LandingFiles {
 public:
  S3LandingFiles(s3::Client* client, s3::Location location, std::string spool_dir)
      : client_(client), location_(std::move(location)), spool_dir_(std::move(spool_dir)) {}
  ~S3LandingFiles() override;
  S3LandingFiles(const S3LandingFiles&) = delete;
  S3LandingFiles& operator=(const S3LandingFiles&) = delete;

  Result<std::vector<std::string>> Find(const std::string& glob) override;
  Result<std::string> Fetch(const std::string& relative) override;

 private:
  void DropSpool();
  s3::Client* client_;
  s3::Location location_;
  std::string spool_dir_;
  std::string spool_path_;  // the named file the last Fetch() wrote ("" when unnamed)
  int spool_fd_ = -1;       // the file the last Fetch() wrote, open until the next
};

// Opens the partition {location}/{source}/{YYYY}/{MM} for `fetch_time`.
// `client` (one per thread) outlives the partition; the spool folder is
// created if missing. Nothing is asked of the store until a name is.
Result<std::unique_ptr<LandingPartition>> OpenS3Partition(s3::Client* client, const s3::Location& location,
                                                          std::string_view source,
                                                          std::chrono::system_clock::time_point fetch_time,
                                                          const std::string& spool_dir);

// The calling thread's client for `config` (a worker keeps one per slot
// thread, so connections are reused across jobs). `stop` is asked during
// transfers: the job's cancel token.
s3::Client* ThreadS3Client(const s3::Config& config, std::function<bool()> stop);

}  // namespace sluice::worker
