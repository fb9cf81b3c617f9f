// HttpServer: the broker's HTTP endpoint (`--http`), cpp-httplib on threads
// of its own. It never touches the broker's state: it serves what the loop
// publishes (Publish*), a snapshot swapped under a mutex, so a scrape never
// waits for the loop and the loop never waits for a scrape.
//
// Routes: GET /metrics (Prometheus text exposition 0.0.4). With a token
// (`--http-token-file`), every request must carry `Authorization: Bearer
// TOKEN`, else 401.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "schemas/status.h"

namespace httplib {
class Server;
}

namespace sluice::broker {

struct HttpListen {
  bool off = true;  // a Broker made in-process (tests) has no HTTP unless told; the CLI's default is on
  std::string host = "127.0.0.1";
  int port = 5556;  // 0: any free port
};

// Parses `--http`: "off", or HOST:PORT ([v6]:PORT for IPv6).
Result<HttpListen> ParseHttpListen(const std::string& value);
// Reachable only from this host: 127.0.0.0/8, ::1, localhost.
bool IsLoopbackHttp(const HttpListen& listen);

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving; an error when the address cannot be bound.
  Status Start(const HttpListen& listen, std::string token);
  void Stop();
  bool running() const { return thread_.joinable(); }
  int port() const { return port_; }

  // The body of GET /metrics (any thread).
  void PublishMetrics(std::string text);

 private:
  std::shared_ptr<const std::string> Metrics() const;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string token_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> metrics_;
};

}  // namespace sluice::broker
