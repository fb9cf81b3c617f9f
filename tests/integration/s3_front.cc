#include "tests/integration/s3_front.h"

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace sluice::testing {
namespace {

std::size_t Collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

S3Front::S3Front(const std::string& dir, Options options) : session_token_(options.session_token) {
  const std::string port_file = dir + "/s3-front.port";
  std::vector<std::string> argv = {"/usr/bin/python3", std::string(SLUICE_SOURCE_DIR) + "/tests/s3/s3_front.py",
                                   "--data", dir + "/s3-data", "--port-file", port_file,
                                   "--access-key", kAccessKey, "--secret-key", kSecretKey,
                                   "--region", kRegion, "--if-none-match", options.if_none_match};
  for (const std::string& b : options.buckets) {
    argv.emplace_back("--bucket");
    argv.push_back(b);
  }
  if (!options.session_token.empty()) {
    argv.emplace_back("--session-token");
    argv.push_back(options.session_token);
  }
  process_ = std::make_unique<Process>("s3-front", argv, dir);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      port_ = port;
      return;
    }
    if (!process_->Running()) {
      const auto st = process_->status();
      skipped_ = st && st->exited && st->code == 77;
      error_ = process_->Describe();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error_ = "the S3 front did not start within 60 s: " + process_->Describe();
}

S3Front::~S3Front() {
  if (process_) process_->KillGroup();
}

std::string S3Front::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> S3Front::Env() const {
  std::vector<std::string> env = {std::string("AWS_ACCESS_KEY_ID=") + kAccessKey,
                                  std::string("AWS_SECRET_ACCESS_KEY=") + kSecretKey,
                                  std::string("AWS_REGION=") + kRegion, "AWS_ENDPOINT_URL_S3=" + endpoint()};
  if (!session_token_.empty()) env.push_back("AWS_SESSION_TOKEN=" + session_token_);
  return env;
}

std::string S3Front::Http(const char* method, const std::string& path, long* status) {
  std::string body;
  *status = 0;
  CURL* e = curl_easy_init();
  if (e == nullptr) return body;
  const std::string url = endpoint() + path;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if (std::string_view(method) == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(e);
  return body;
}

bool S3Front::Control(const std::string& what) {
  long status = 0;
  Http("POST", "/_front/" + what, &status);
  return status == 200;
}

nlohmann::json S3Front::Log() {
  long status = 0;
  const std::string body = Http("GET", "/_front/log", &status);
  if (status != 200) return nlohmann::json::array();
  return nlohmann::json::parse(body, nullptr, false);
}

bool AwsCliInstalled() { return ::access("/usr/bin/aws", X_OK) == 0; }

CommandResult RunAwsCli(const S3Front& front, const std::vector<std::string>& args, const std::string& log_dir,
                        std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"/usr/bin/aws", "--endpoint-url", front.endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = front.Env();
  env.emplace_back("AWS_CONFIG_FILE=/dev/null");
  env.emplace_back("AWS_SHARED_CREDENTIALS_FILE=/dev/null");
  env.emplace_back("AWS_DEFAULT_REGION=us-east-1");
  env.emplace_back("AWS_PAGER=");
  return RunCommand("aws", argv, log_dir, timeout, env);
}

}  // namespace sluice::testing
