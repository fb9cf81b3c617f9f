// ScriptedHttpServer: a tiny HTTP/1.1 origin on 127.0.0.1:<any port>, on
// its own thread, for the faults nginx cannot be asked for: a status
// sequence (500 then 200), Retry-After, a stalled body, a body cut short,
// hostile ETags. Each connection carries one request; the script decides
// the bytes sent back for the n-th request (n from 0) and what happens
// after them.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::worker::testing {

struct ScriptedReply {
  std::string bytes;   // written as is: status line, headers, body
  bool stall = false;  // then keep the connection open, silent, until the client leaves
};

// "HTTP/1.1 <status>" with `headers` ("Name: value\r\n" each), a
// Content-Length for `body`, Connection: close, and the body.
ScriptedReply Reply(int status, std::string_view headers, std::string_view body);

class ScriptedHttpServer {
 public:
  using Script = std::function<ScriptedReply(int n, const std::string& request)>;
  explicit ScriptedHttpServer(Script script);
  ~ScriptedHttpServer();  // stops the thread (and any stall)
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  std::string Url(std::string_view path) const;
  // The requests received so far: each head, and its body when it has a
  // Content-Length (read whole, up to 1 MiB).
  std::vector<std::string> Requests() const;

 private:
  void Serve();
  void Handle(int fd);

  Script script_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: readable once the server stops
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> requests_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::worker::testing
