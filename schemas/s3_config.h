// How to reach an S3-compatible store: credentials, region and endpoint,
// read from the variables the AWS tools use.
//
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   required
//   AWS_SESSION_TOKEN                          optional (temporary keys)
//   AWS_REGION                                 default us-east-1
//                                              (AWS_DEFAULT_REGION too)
//   AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL an S3-compatible store (R2,
//                                              MinIO, Ceph): http(s)://host[:port],
//                                              addressed path-style
//
// Without an endpoint the store is AWS S3 itself, virtual-hosted style
// (https://BUCKET.s3.REGION.amazonaws.com). The secret key and the session
// token never leave this struct except into libcurl's signer: Describe()
// and every error name the access key id and the endpoint only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "schemas/status.h"

namespace sluice::s3 {

struct Config {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string region = "us-east-1";
  std::string endpoint;  // "" = AWS S3; else scheme://host[:port], no trailing '/'

  // Transfers: attempts per request (5xx, 429, timeouts, dropped
  // connections are retried with exponential backoff and jitter, or after
  // the store's Retry-After), the first backoff and its cap.
  int max_attempts = 5;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{10'000};
  std::chrono::seconds connect_timeout{10};
  // A transfer slower than 1 KiB/s for this long is abandoned (and retried).
  std::chrono::seconds stall_timeout{60};
  // Objects of at least this size go up in parts of part_size (S3: 5 MiB
  // to 5 GiB a part, at most 10,000 parts; part_size grows to fit).
  std::uint64_t multipart_threshold = std::uint64_t{16} << 20;
  std::uint64_t part_size = std::uint64_t{8} << 20;

  bool path_style() const { return !endpoint.empty(); }
  // "access key AKID… at http://host:port (region us-east-1)": for errors
  // and logs; never the secret.
  std::string Describe() const;
};

using GetEnv = std::function<const char*(const char*)>;

// The variables above through `getenv` (the process's by default).
// InvalidArgument names the missing variable or the bad endpoint.
Result<Config> ConfigFromEnv(const GetEnv& getenv = nullptr);

}  // namespace sluice::s3
