// S3Front: the test S3 store (tests/s3/s3_front.py): s3rver from npm behind
// a front that verifies every request's SigV4 signature with botocore's
// signer and can refuse If-None-Match: * on an existing key (412), inject
// failures and delays, and log what it saw. Started as a child Process on
// 127.0.0.1 and a free port; killed with its s3rver by PID (process group)
// when the object goes away.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/process.h"

namespace sluice::testing {

class S3Front {
 public:
  static constexpr const char* kAccessKey = "AKIDSLUICETEST";
  static constexpr const char* kSecretKey = "sluice-test-secret";
  static constexpr const char* kRegion = "us-east-1";

  struct Options {
    std::vector<std::string> buckets = {"sluice-test"};
    std::string if_none_match = "enforce";  // or "ignore", as s3rver alone
    std::string session_token;              // required of clients when set
  };

  // Starts the front with its data under `dir` and waits until it serves.
  // skipped() (node, s3rver or botocore missing: the reason in error()) or
  // !ok() (error() says why) afterwards.
  S3Front(const std::string& dir, Options options);
  explicit S3Front(const std::string& dir) : S3Front(dir, Options{}) {}
  ~S3Front();

  bool ok() const { return port_ > 0; }
  bool skipped() const { return skipped_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // "http://127.0.0.1:PORT"
  std::string endpoint() const;
  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3
  // (and AWS_SESSION_TOKEN) as NAME=VALUE, for a child's environment.
  std::vector<std::string> Env() const;

  // POST /_front/<what> (e.g. "fail?status=503&count=1"); false if the
  // front did not answer 200.
  bool Control(const std::string& what);
  // GET /_front/log: every request so far (method, path, query, status,
  // headers).
  nlohmann::json Log();

 private:
  std::string Http(const char* method, const std::string& path, long* status);
  std::unique_ptr<Process> process_;
  int port_ = 0;
  bool skipped_ = false;
  std::string error_;
  std::string session_token_;
};

// Runs Debian's awscli (/usr/bin/aws) against `front`, with no user config.
// Skipped by callers where /usr/bin/aws is missing.
bool AwsCliInstalled();
CommandResult RunAwsCli(const S3Front& front, const std::vector<std::string>& args, const std::string& log_dir,
                        std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace sluice::testing
