// HttpServer: the broker's HTTP endpoint (`--http`), cpp-httplib on threads
// of its own. It never touches the broker's state: it serves what the loop
// publishes (Publish*), a snapshot swapped under a mutex, so a scrape never
// waits for the loop and the loop never waits for a scrape.
//
// Routes: GET /metrics (Prometheus text exposition 0.0.4), and what Get()
// adds (the status page and /api, broker/http_api.h). With a token
// (`--http-token-file`), every request must carry `Authorization: Bearer
// TOKEN`, else 401; but for the routes added `open` (the status page's own
// files, which hold no data: the page asks for the token, then sends it).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

// A GET as a route handler sees it: the pattern's captures (whole match
// first) and the query string's parameters.
struct HttpQuery {
  std::vector<std::string> captures;
  std::multimap<std::string, std::string> params;
  // The first value of `name`, or "".
  std::string Param(const std::string& name) const;
};
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};
using HttpGetHandler = std::function<HttpReply(const HttpQuery&)>;

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before Start: serves GET `pattern` (a regular expression matched
  // against the whole path) with `handler`. `open`: without the token.
  void Get(const std::string& pattern, HttpGetHandler handler, bool open = false);

  // Binds and starts serving; an error when the address cannot be bound.
  Status Start(const HttpListen& listen, std::string token);
  void Stop();
  bool running() const { return thread_.joinable(); }
  int port() const { return port_; }

  // The body of GET /metrics (any thread).
  void PublishMetrics(std::string text);

 private:
  std::shared_ptr<const std::string> Metrics() const;

  struct Route {
    std::string pattern;
    HttpGetHandler handler;
  };
  std::vector<Route> routes_;
  std::set<std::string> open_paths_;  // patterns added `open`: plain paths
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string token_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> metrics_;
};

}  // namespace sluice::broker
