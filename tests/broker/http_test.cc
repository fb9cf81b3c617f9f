// The broker's HTTP pieces on their own: the Prometheus text writer (read
// back by a strict parser, which is shown to refuse bad text), the --http
// value, and the server (a real socket on a free port, a real client).
#include <httplib.h>

#include <gtest/gtest.h>

#include <cmath>

#include "broker/http_server.h"
#include "broker/latency_histogram.h"
#include "broker/prometheus_text.h"
#include "tests/support/prometheus_parse.h"

namespace sluice::broker {
namespace {

using sluice::testing::ParsePrometheusText;

TEST(PrometheusText, WritesWhatAStrictParserReadsBack) {
  PrometheusText p;
  p.Family("sluice_jobs", "gauge", "Jobs by state.\nSecond line, a \\ too.");
  p.Sample({{"state", "queued"}, {"queue", "we\"ird\\q\nx"}}, 3);
  p.Sample({{"state", "dead"}, {"queue", "default"}}, 0);
  p.Family("sluice_things_total", "counter", "Things.");
  p.Sample(12345678901.0);
  p.Family("sluice_commit_duration_seconds", "histogram", "Commits.");
  LatencyHistogram h;
  h.Observe(0.00003);
  h.Observe(0.0004);
  h.Observe(0.0004);
  h.Observe(20);  // above every bound
  p.Histogram({}, h.bounds(), h.cumulative(), h.count(), h.sum());
  p.Family("sluice_ratio", "gauge", "A fraction.");
  p.Sample(0.1);
  const std::string text = p.Take();
  auto parsed = ParsePrometheusText(text);
  ASSERT_EQ(parsed.error, "") << text;
  EXPECT_EQ(parsed.Value("sluice_jobs", {{"state", "queued"}, {"queue", "we\"ird\\q\nx"}}), 3);
  EXPECT_EQ(parsed.Value("sluice_things_total"), 12345678901.0);
  EXPECT_EQ(parsed.Value("sluice_commit_duration_seconds_count"), 4);
  EXPECT_EQ(parsed.Value("sluice_commit_duration_seconds_bucket", {{"le", "5e-05"}}), 1);
  EXPECT_EQ(parsed.Value("sluice_commit_duration_seconds_bucket", {{"le", "0.0005"}}), 3);
  EXPECT_EQ(parsed.Value("sluice_commit_duration_seconds_bucket", {{"le", "10"}}), 3);
  EXPECT_EQ(parsed.Value("sluice_commit_duration_seconds_bucket", {{"le", "+Inf"}}), 4);
  EXPECT_NEAR(parsed.Value("sluice_commit_duration_seconds_sum"), 20.00083, 1e-9);
  EXPECT_EQ(parsed.Value("sluice_ratio"), 0.1);  // shortest form reads back exactly
}

// The parser the metrics tests rely on refuses what the format forbids.
TEST(PrometheusText, TheStrictParserRefusesBadText) {
  const std::pair<const char*, const char*> bad[] = {
      {"no TYPE", "sluice_x 1\n"},
      {"bad name", "# TYPE 1x gauge\n1x 1\n"},
      {"bad value", "# TYPE x gauge\nx one\n"},
      {"bad escape", "# TYPE x gauge\nx{a=\"\\t\"} 1\n"},
      {"unquoted", "# TYPE x gauge\nx{a=b} 1\n"},
      {"twice", "# TYPE x gauge\nx 1\nx 2\n"},
      {"counter name", "# TYPE x counter\nx 1\n"},
      {"split family", "# TYPE x gauge\nx{a=\"1\"} 1\n# TYPE y gauge\ny 1\nx{a=\"2\"} 1\n"},
      {"no final newline", "# TYPE x gauge\nx 1"},
      {"buckets", "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"},
      {"count", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"},
      {"reserved label", "# TYPE x gauge\nx{__a=\"1\"} 1\n"},
  };
  for (const auto& [what, text] : bad) EXPECT_NE(ParsePrometheusText(text).error, "") << what;
  EXPECT_EQ(ParsePrometheusText("# TYPE x gauge\nx{a=\"1\",} 1\n").error, "");  // a trailing comma is fine
}

TEST(HttpListen, ParsesAddressesAndOff) {
  auto off = ParseHttpListen("off");
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->off);
  auto a = ParseHttpListen("127.0.0.1:5556");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->off);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5556);
  EXPECT_TRUE(IsLoopbackHttp(*a));
  auto v6 = ParseHttpListen("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(IsLoopbackHttp(*v6));
  auto any = ParseHttpListen("0.0.0.0:9000");
  ASSERT_TRUE(any.ok());
  EXPECT_FALSE(IsLoopbackHttp(*any));
  EXPECT_FALSE(IsLoopbackHttp(*ParseHttpListen("10.1.2.3:9000")));
  EXPECT_TRUE(IsLoopbackHttp(*ParseHttpListen("localhost:9000")));
  for (const char* bad : {"", "5556", ":5556", "host:", "host:99999", "host:5x", "[::1:80"})
    EXPECT_FALSE(ParseHttpListen(bad).ok()) << bad;
}

TEST(HttpServer, ServesWhatWasPublished) {
  HttpServer server;
  HttpListen l = *ParseHttpListen("127.0.0.1:0");
  ASSERT_TRUE(server.Start(l, "").ok());
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  auto none = client.Get("/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 503);  // nothing published yet
  server.PublishMetrics("# TYPE sluice_x gauge\nsluice_x 1\n");
  auto r = client.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "# TYPE sluice_x gauge\nsluice_x 1\n");
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  // The same address again: taken.
  HttpServer second;
  l.port = server.port();
  EXPECT_FALSE(second.Start(l, "").ok());
}

TEST(HttpServer, ATokenIsRequiredWhenGiven) {
  HttpServer server;
  ASSERT_TRUE(server.Start(*ParseHttpListen("127.0.0.1:0"), "0123456789abcdef-token").ok());
  server.PublishMetrics("# TYPE sluice_x gauge\nsluice_x 1\n");
  httplib::Client client("127.0.0.1", server.port());
  auto no = client.Get("/metrics");
  ASSERT_TRUE(no);
  EXPECT_EQ(no->status, 401);
  EXPECT_EQ(no->get_header_value("WWW-Authenticate"), "Bearer");
  auto wrong = client.Get("/metrics", {{"Authorization", "Bearer 0123456789abcdef-tokeN"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto ok = client.Get("/metrics", {{"Authorization", "Bearer 0123456789abcdef-token"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// Hostile requests get an error, not the server: an oversized header, a
// body on a GET, garbage for a request line. It serves the next one.
TEST(HttpServer, HostileRequestsAreRefusedAndTheServerGoesOn) {
  HttpServer server;
  ASSERT_TRUE(server.Start(*ParseHttpListen("127.0.0.1:0"), "0123456789abcdef-token").ok());
  server.PublishMetrics("# TYPE sluice_x gauge\nsluice_x 1\n");
  {
    httplib::Client c("127.0.0.1", server.port());
    auto huge = c.Get("/metrics", {{"Authorization", "Bearer " + std::string(200 * 1024, 'a')}});
    EXPECT_TRUE(!huge || huge->status >= 400) << (huge ? huge->status : 0);
    auto body = c.Post("/metrics", std::string(1 << 20, 'x'), "text/plain");
    EXPECT_TRUE(!body || body->status >= 400) << (body ? body->status : 0);
  }
  {
    httplib::Client raw("127.0.0.1", server.port());
    auto r = raw.Get("/../../etc/passwd", {{"Authorization", "Bearer 0123456789abcdef-token"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  }
  httplib::Client c("127.0.0.1", server.port());
  auto ok = c.Get("/metrics", {{"Authorization", "Bearer 0123456789abcdef-token"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

}  // namespace
}  // namespace sluice::broker
