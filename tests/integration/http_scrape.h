// The broker's HTTP endpoint from a test: the port it logged for
// `--http 127.0.0.1:0`, a GET, and /metrics read by the strict parser
// (waiting until a predicate holds: the loop publishes about once a second).
#pragma once

#include <httplib.h>

#include <functional>
#include <regex>
#include <string>

#include "tests/integration/process.h"
#include "tests/integration/wait_for.h"
#include "tests/support/prometheus_parse.h"

namespace sluice::testing {

// The port in the broker's "HTTP on 127.0.0.1:PORT" log line; 0 if none.
inline int LoggedHttpPort(const Process& broker) {
  std::smatch m;
  const std::string err = broker.Stderr();
  static const std::regex kLine(R"(HTTP on 127\.0\.0\.1:([0-9]+))");
  return std::regex_search(err, m, kLine) ? std::stoi(m[1]) : 0;
}

// GET `path` on 127.0.0.1:port (a bearer `token` when given).
inline httplib::Result HttpGet(int port, const std::string& path, const std::string& token = "") {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(10, 0);
  c.set_read_timeout(10, 0);
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return c.Get(path.c_str(), h);
}

// Scrapes /metrics until the text parses and `done` holds, or `timeout`.
// *body gets the last text seen.
inline PromText ScrapeUntil(int port, const std::function<bool(const PromText&)>& done, Ms timeout,
                            std::string* body) {
  PromText m;
  WaitUntil(
      [&] {
        auto r = HttpGet(port, "/metrics");
        if (!r || r->status != 200) return false;
        *body = r->body;
        m = ParsePrometheusText(*body);
        return m.error.empty() && done(m);
      },
      timeout, Ms(200));
  return m;
}

}  // namespace sluice::testing
