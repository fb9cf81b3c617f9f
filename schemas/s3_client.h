// A client for S3-compatible object stores on libcurl: requests signed by
// libcurl's own SigV4 (CURLOPT_AWS_SIGV4), the URL and query built as the
// signer needs them (s3_url.h), retries with backoff, multipart uploads
// streamed from a file with bounded memory.
//
// One Client is one easy handle and its connection cache: use it from one
// thread at a time (a worker keeps one per slot thread).
//
// Failures, as Status codes:
//   NotFound         404 (no such key, no such bucket)
//   InvalidArgument  any other 4xx: bad credentials or signature, a denied
//                    bucket, a malformed request. Final: retrying the same
//                    request meets the same answer.
//   Unavailable      5xx, 429, a timeout or a dropped connection, still so
//                    after Config::max_attempts tries; or stopped by the
//                    stop function. Worth retrying later.
//   IOError          the local file could not be read, or a sink said no
// Every message names the method, s3://bucket/key, the HTTP status and the
// store's error code and message, the access key id and the endpoint; never
// the secret key or the session token.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/s3_config.h"
#include "schemas/status.h"

namespace sluice::s3 {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;           // without its quotes
  std::string last_modified;  // as the store wrote it
};

struct ListPage {
  std::vector<ObjectInfo> objects;  // in key order (bytewise), as S3 lists
  std::string next_token;           // "" on the last page
};

enum class PutOutcome : std::uint8_t {
  kCreated,  // the object now holds the bytes
  kExists,   // if_absent, and the store said the key exists (412): nothing written
};

struct PutOptions {
  // Send If-None-Match: * so that the store refuses to replace an existing
  // object (412 = kExists). A store that ignores the header replaces it.
  bool if_absent = false;
  std::string content_type = "application/octet-stream";
};

// Receives a GET's body in order; a non-ok Status stops the transfer and is
// returned by Get().
using BodySink = std::function<Status(std::string_view chunk)>;

class Client {
 public:
  explicit Client(Config config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const;

  // Asked during transfers and between attempts; true abandons the request
  // (Unavailable "stopped"). Unset: never stops.
  void SetStop(std::function<bool()> stop);

  Result<ObjectInfo> Head(std::string_view bucket, std::string_view key);

  // Streams the object to `sink`. A failure after the first byte reached
  // the sink is not retried here (the sink would see bytes twice):
  // Unavailable, and the caller starts over.
  Status Get(std::string_view bucket, std::string_view key, const BodySink& sink);

  // Uploads `size` bytes of the open file `fd` from offset 0. Below
  // Config::multipart_threshold one PUT; from it a multipart upload, which
  // becomes visible only when complete (on a failure it is aborted, and a
  // killed process leaves only invisible parts). Each request's payload is
  // signed by its SHA-256, so the store checks the bytes it got.
  Result<PutOutcome> PutFile(std::string_view bucket, std::string_view key, int fd, std::uint64_t size,
                             const PutOptions& options);
  Result<PutOutcome> PutBytes(std::string_view bucket, std::string_view key, std::string_view bytes,
                              const PutOptions& options);

  // One page of ListObjectsV2 under `prefix`, from `token` ("" = the start).
  Result<ListPage> ListOnePage(std::string_view bucket, std::string_view prefix, std::string_view token,
                               int max_keys = 1000);
  // Every object under `prefix`; InvalidArgument when there are more than
  // `max_objects`.
  Result<std::vector<ObjectInfo>> List(std::string_view bucket, std::string_view prefix,
                                       std::size_t max_objects);

  Status Delete(std::string_view bucket, std::string_view key);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::s3
