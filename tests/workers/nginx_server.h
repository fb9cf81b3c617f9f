// NginxServer: a real nginx (Debian's /usr/sbin/nginx) for extract tests,
// serving a temp docroot on 127.0.0.1:<free port>, run as a child process
// in the foreground (daemon off, master_process off) with everything it
// writes -- config, pid, logs, temp folders -- in its own temp folder.
// nginx gets SIGTERM when the thread that started it exits (so a test
// killed by its timeout leaves no nginx behind): start it from a thread that
// outlives it.
//
// Built-in locations:
//   /                docroot, with ETags (nginx: "<mtime hex>-<size hex>")
//   /noetag/         etag off
//   /gz/             gzip on for text/csv when the client accepts it
// The access log records, one line per request:
//   <status> <body bytes> "<request line>" inm="<If-None-Match>"
//   ims="<If-Modified-Since>" key="<X-Api-Key>"
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::worker::testing {

inline constexpr const char* kNginxPath = "/usr/sbin/nginx";

bool NginxInstalled();

class NginxServer {
 public:
  // Starts nginx; `extra_locations` is pasted into the server block.
  // Check ok() / error() afterwards.
  explicit NginxServer(std::string extra_locations = "");
  ~NginxServer();  // kills nginx (SIGTERM, then SIGKILL), waits, removes the temp folder
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // "http://127.0.0.1:<port>" + path
  std::string Url(std::string_view path) const;
  const std::filesystem::path& docroot() const { return docroot_; }

  // Writes docroot/`relative` (creating folders).
  void WriteFile(const std::string& relative, std::string_view content);
  void SetMtime(const std::string& relative, std::filesystem::file_time_type mtime);

  // The access log's lines. nginx writes a request's line after the
  // response has gone out, so a client may be done before its line is there:
  // with `at_least`, waits (up to 10 s) for that many lines first.
  std::vector<std::string> AccessLog(std::size_t at_least = 0) const;

 private:
  bool StartOnce(std::string* why);
  void Stop();

  std::filesystem::path dir_;
  std::filesystem::path docroot_;
  std::string extra_locations_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace sluice::worker::testing
