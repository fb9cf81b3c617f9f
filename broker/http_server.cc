#include "broker/http_server.h"

#include <httplib.h>
#include <openssl/crypto.h>

#include <charconv>
#include <chrono>

#include "broker/bind_policy.h"

namespace sluice::broker {
namespace {

// Constant time, so that a wrong token's length of matching prefix does not
// show in the answer's timing.
bool SameToken(const std::string& given, const std::string& want) {
  return given.size() == want.size() && CRYPTO_memcmp(given.data(), want.data(), want.size()) == 0;
}

}  // namespace

Result<HttpListen> ParseHttpListen(const std::string& value) {
  HttpListen l;
  if (value == "off") return l;
  l.off = false;
  const std::size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
    return Status::InvalidArgument("--http wants HOST:PORT or off, not '" + value + "'");
  std::string host = value.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return Status::InvalidArgument("--http: bad IPv6 address in '" + value + "'");
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  const std::string p = value.substr(colon + 1);
  auto r = std::from_chars(p.data(), p.data() + p.size(), port);
  if (r.ec != std::errc() || r.ptr != p.data() + p.size() || port < 0 || port > 65535)
    return Status::InvalidArgument("--http: bad port in '" + value + "'");
  l.host = host;
  l.port = port;
  return l;
}

bool IsLoopbackHttp(const HttpListen& listen) {
  const bool v6 = listen.host.find(':') != std::string::npos;
  return IsLoopbackEndpoint("tcp://" + (v6 ? "[" + listen.host + "]" : listen.host) + ":" +
                            std::to_string(listen.port));
}

std::string HttpQuery::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

void HttpServer::Get(const std::string& pattern, HttpGetHandler handler, bool open) {
  if (open) open_paths_.insert(pattern);
  routes_.push_back({pattern, std::move(handler)});
}

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::PublishMetrics(std::string text) {
  auto next = std::make_shared<const std::string>(std::move(text));
  std::lock_guard<std::mutex> lock(mu_);
  metrics_ = std::move(next);
}

std::shared_ptr<const std::string> HttpServer::Metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

Status HttpServer::Start(const HttpListen& listen, std::string token) {
  token_ = std::move(token);
  httplib::Server& s = *server_;
  // A small pool: scrapes and the status page, not a web site.
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_keep_alive_max_count(100);
  s.set_payload_max_length(64 * 1024);  // GETs only: no body worth reading
  // SO_REUSEADDR (a restart is not kept out by connections in TIME_WAIT),
  // but not httplib's default SO_REUSEPORT: with it a second broker would
  // bind the same port and share the scrapes with the first.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (token_.empty() || open_paths_.count(req.path) != 0) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 && SameToken(auth.substr(7), token_))
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content("a bearer token is required (Authorization: Bearer TOKEN)\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const std::string> m = Metrics();
    if (!m) {
      res.status = 503;
      res.set_content("no metrics yet\n", "text/plain");
      return;
    }
    res.set_content(*m, "text/plain; version=0.0.4; charset=utf-8");
  });
  for (const Route& r : routes_) {
    s.Get(r.pattern, [handler = r.handler](const httplib::Request& req, httplib::Response& res) {
      HttpQuery q;
      for (const auto& m : req.matches) q.captures.push_back(m.str());
      for (const auto& [k, v] : req.params) q.params.emplace(k, v);
      HttpReply reply = handler(q);
      res.status = reply.status;
      res.set_header("Cache-Control", "no-store");
      // What jobs report (errors, output tails) is shown by the page, so
      // the page runs its own files only, and is never framed.
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
      res.set_content(std::move(reply.body), reply.content_type);
    });
  }
  if (listen.port == 0) {
    port_ = s.bind_to_any_port(listen.host);
    if (port_ < 0) port_ = 0;
  } else if (s.bind_to_port(listen.host, listen.port)) {
    port_ = listen.port;
  }
  if (port_ <= 0)
    return Status::Unavailable("cannot listen for HTTP on " + listen.host + ":" + std::to_string(listen.port) +
                               " (in use, or not an address of this host)");
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "sluice-http");
    server_->listen_after_bind();
  });
  // Stop() stops only a server that runs: wait until it does (a stop
  // right after the start would otherwise miss it and the join hang).
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace sluice::broker
