// AlertSender against a scripted local HTTP origin: delivery and headers,
// retries, the rate limit folding a storm into summaries, a non-blocking
// Enqueue, and a prompt Stop(). Deadlines are generous; nothing exact is
// timed.
#include "broker/alert_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "tests/workers/scripted_http_server.h"

namespace sluice::broker {
namespace {

using namespace std::chrono_literals;
using worker::testing::Reply;
using worker::testing::ScriptedHttpServer;
using worker::testing::ScriptedReply;
using Steady = std::chrono::steady_clock;

// The real clock, for tests that time nothing exactly.
const SystemClock kSystemClock;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
  const auto deadline = Steady::now() + limit;
  while (Steady::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

AlertSenderConfig FastConfig(const ScriptedHttpServer& server) {
  AlertSenderConfig c;
  c.url = server.Url("/sluice-alerts");
  c.backoff = 10ms;
  c.timeout = 10s;
  return c;
}

// The N of a summary's "Title: sluice: N more alerts; latest: ...", or -1.
// (No std::regex: GCC 12 warns in it under the sanitizers.)
int SummaryCount(const std::string& request) {
  const std::string prefix = "\r\nTitle: sluice: ";
  const auto at = request.find(prefix);
  if (at == std::string::npos) return -1;
  std::size_t i = at + prefix.size(), digits = i;
  while (digits < request.size() && std::isdigit(static_cast<unsigned char>(request[digits]))) digits++;
  if (digits == i || request.compare(digits, 11, " more alert") != 0) return -1;
  return std::stoi(request.substr(i, digits - i));
}

// enqueued == alone (posted + failed - summaries) + suppressed + dropped
void ExpectBalanced(const AlertStats& s) {
  EXPECT_EQ(s.enqueued, s.posted + s.failed - s.summaries + s.suppressed + s.dropped)
      << "enqueued " << s.enqueued << " posted " << s.posted << " failed " << s.failed
      << " summaries " << s.summaries << " suppressed " << s.suppressed << " dropped " << s.dropped;
}

TEST(AlertSender, PostsBodyTitleAndTags) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(200, "", "{}"); });
  AlertSender sender(FastConfig(server), &kSystemClock);
  ASSERT_TRUE(sender.enabled());
  sender.Enqueue("Run failed: nightly", "workflow nightly run 42 failed at load.sales");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& r = requests[0];
  EXPECT_EQ(r.rfind("POST /sluice-alerts HTTP/1.1\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("\r\nTitle: Run failed: nightly\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\nTags: warning\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.find("Expect:"), std::string::npos) << r;
  // A small body travels with the head.
  EXPECT_NE(r.find("\r\n\r\nworkflow nightly run 42 failed at load.sales"), std::string::npos) << r;
  sender.Stop();
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.enqueued, 1);
  EXPECT_EQ(s.failed, 0);
  ExpectBalanced(s);
}

TEST(AlertSender, ControlCharactersInTheTitleCannotAddHeaders) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(200, "", ""); });
  AlertSender sender(FastConfig(server), &kSystemClock);
  sender.Enqueue("job x\r\nX-Injected: 1", "text");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  const std::string r = server.Requests().at(0);
  EXPECT_EQ(r.find("\r\nX-Injected"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\nTitle: job x  X-Injected: 1\r\n"), std::string::npos) << r;
}

TEST(AlertSender, A500ThenA200IsRetriedAndDeliveredOnce) {
  ScriptedHttpServer server([](int n, const std::string&) {
    return n == 0 ? Reply(500, "", "oops") : Reply(200, "", "");
  });
  AlertSender sender(FastConfig(server), &kSystemClock);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  // A fence: alerts go out one at a time, in order, so a second POST of the
  // first would come before the next alert's.
  sender.Enqueue("fence", "b");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 2; }));
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_NE(requests[2].find("fence"), std::string::npos) << requests[2];
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.posted, 2);
  EXPECT_EQ(s.failed, 0);
}

TEST(AlertSender, A429IsRetried) {
  ScriptedHttpServer server([](int n, const std::string&) {
    return n == 0 ? Reply(429, "", "") : Reply(204, "", "");
  });
  AlertSender sender(FastConfig(server), &kSystemClock);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  EXPECT_EQ(server.Requests().size(), 2u);
}

TEST(AlertSender, A400IsNotRetried) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(400, "", "bad topic"); });
  AlertSender sender(FastConfig(server), &kSystemClock);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().failed == 1; }));
  std::this_thread::sleep_for(300ms);  // 30 backoffs: a retry would have come
  EXPECT_EQ(server.Requests().size(), 1u);
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.posted, 0);
  EXPECT_EQ(s.failed, 1);
}

TEST(AlertSender, RetriesAreBoundedThenCountedFailed) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(503, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.retries = 2;
  AlertSender sender(c, &kSystemClock);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().failed == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server.Requests().size(), 3u);  // the first attempt and 2 retries
}

TEST(AlertSender, ConnectionErrorsAreRetriedThenFail) {
  std::string url;
  {
    ScriptedHttpServer gone([](int, const std::string&) { return Reply(200, "", ""); });
    url = gone.Url("/x");
  }  // nothing listens on that port any more
  AlertSenderConfig c;
  c.url = url;
  c.backoff = 5ms;
  c.retries = 2;
  AlertSender sender(c, &kSystemClock);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().failed == 1; }));
  EXPECT_EQ(sender.Stats().posted, 0);
}

TEST(AlertSender, AStormIsFoldedIntoAFewSummaries) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(200, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.burst = 3;
  c.window = 300ms;
  AlertSender sender(c, &kSystemClock);
  constexpr int kStorm = 200;
  for (int i = 0; i < kStorm; ++i)
    sender.Enqueue("job " + std::to_string(i) + " dead", "job " + std::to_string(i) + " is dead");

  // Each request is either one alert or a summary of N; all 200 accounted for.
  int alone = 0, folded = 0, summaries = 0;
  auto tally = [&] {
    alone = folded = summaries = 0;
    for (const std::string& r : server.Requests()) {
      if (const int n = SummaryCount(r); n >= 0) {
        folded += n;
        summaries++;
      } else {
        alone++;
      }
    }
    return alone + folded == kStorm;
  };
  ASSERT_TRUE(WaitFor(tally)) << alone << " alone, " << folded << " folded";
  std::this_thread::sleep_for(700ms);  // two more windows: nothing else comes
  ASSERT_TRUE(tally());
  const auto requests = server.Requests();
  EXPECT_LE(alone, c.burst);
  EXPECT_GE(summaries, 1);
  EXPECT_LE(requests.size(), static_cast<std::size_t>(c.burst + 3)) << "burst + a few summaries";

  // The last summary names the latest alert and the count in its body.
  const std::string& last = requests.back();
  EXPECT_NE(last.find("latest: job 199 is dead"), std::string::npos) << last;
  const int last_count = SummaryCount(last);
  ASSERT_GT(last_count, 0) << last;
  const std::string body = "\r\n\r\nsluice: " + std::to_string(last_count) + " more alert" +
                           (last_count == 1 ? "" : "s") + " in the last ";
  EXPECT_NE(last.find(body), std::string::npos) << last;
  EXPECT_NE(last.find(" s; latest: job 199 is dead"), std::string::npos) << last;

  sender.Stop();
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.enqueued, kStorm);
  EXPECT_EQ(s.suppressed, folded);
  EXPECT_EQ(s.summaries, summaries);
  EXPECT_EQ(s.posted, static_cast<std::int64_t>(requests.size()));
  EXPECT_EQ(s.dropped, 0);
  ExpectBalanced(s);
}

TEST(AlertSender, AFullQueueDropsAndTheSummarySaysSo) {
  std::atomic<bool> release{false};
  ScriptedHttpServer server([&](int n, const std::string&) {
    if (n == 0)  // hold the first post until the queue has overflowed
      while (!release) std::this_thread::sleep_for(2ms);
    return Reply(200, "", "");
  });
  AlertSenderConfig c = FastConfig(server);
  c.max_queue = 10;
  c.burst = 1;
  c.window = 200ms;
  AlertSender sender(c, &kSystemClock);
  sender.Enqueue("first", "first");
  ASSERT_TRUE(WaitFor([&] { return server.Requests().size() == 1; }));
  for (int i = 0; i < 50; ++i) sender.Enqueue("storm", "storm " + std::to_string(i));
  EXPECT_EQ(sender.Stats().dropped, 40);
  release = true;
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 2; }));
  const std::string summary = server.Requests().at(1);
  EXPECT_NE(summary.find("Title: sluice: 50 more alerts; latest: storm"), std::string::npos) << summary;
  EXPECT_NE(summary.find("(40 dropped: the alert queue was full); latest: storm 49"), std::string::npos)
      << summary;
  sender.Stop();
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.suppressed, 10);
  EXPECT_EQ(s.dropped, 40);
  ExpectBalanced(s);
}

TEST(AlertSender, EnqueueNeverWaitsForAStalledServer) {
  ScriptedHttpServer server([](int, const std::string&) { return ScriptedReply{"", true}; });
  AlertSenderConfig c = FastConfig(server);
  c.timeout = 60s;
  AlertSender sender(c, &kSystemClock);
  sender.Enqueue("first", "first");
  ASSERT_TRUE(WaitFor([&] { return server.Requests().size() == 1; }));  // in flight, stalled

  const auto start = Steady::now();
  for (int i = 0; i < 1000; ++i) sender.Enqueue("t", "alert " + std::to_string(i));
  const auto took = Steady::now() - start;
  // All returned while the only request is still unanswered.
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.enqueued, 1001);
  EXPECT_EQ(s.posted + s.failed, 0);
  EXPECT_EQ(server.Requests().size(), 1u);
  EXPECT_LT(took, 5s);

  // Stop() aborts the stalled request rather than waiting out its timeout.
  const auto stop_start = Steady::now();
  sender.Stop();
  EXPECT_LT(Steady::now() - stop_start, 5s);
  s = sender.Stats();
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.dropped, 1000);
  ExpectBalanced(s);
}

TEST(AlertSender, StopIsPromptDuringABackoff) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(503, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.backoff = 60s;
  AlertSender sender(c, &kSystemClock);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return server.Requests().size() == 1; }));
  std::this_thread::sleep_for(50ms);  // into the backoff sleep
  const auto start = Steady::now();
  sender.Stop();
  EXPECT_LT(Steady::now() - start, 5s);
  EXPECT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(sender.Stats().failed, 1);
  sender.Enqueue("after", "stop");  // a no-op
  EXPECT_EQ(sender.Stats().enqueued, 1);
}

TEST(AlertSender, DestructorIsPromptDuringABackoff) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(503, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.backoff = 60s;
  const auto start = Steady::now();
  {
    AlertSender sender(c, &kSystemClock);
    sender.Enqueue("t", "b");
    ASSERT_TRUE(WaitFor([&] { return server.Requests().size() == 1; }));
  }
  EXPECT_LT(Steady::now() - start, 10s);
}

TEST(AlertSender, DisabledPostsNothing) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(200, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.url.clear();
  AlertSender sender(c, &kSystemClock);
  EXPECT_FALSE(sender.enabled());
  for (int i = 0; i < 10; ++i) sender.Enqueue("t", "b");
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(server.Requests().empty());
  AlertStats s = sender.Stats();
  EXPECT_EQ(s.enqueued, 0);
  EXPECT_EQ(s.posted, 0);
  sender.Stop();
}

// A clock the test moves by hand; moving it wakes the sender, which then
// sees the new time at once.
class HandClock : public Clock {
 public:
  std::int64_t NowMs() const override { return now_.load(); }
  void Attach(AlertSender* sender) { sender_ = sender; }
  void Advance(std::chrono::milliseconds d) {
    now_ += d.count();
    if (sender_ != nullptr) sender_->Wake();
  }

 private:
  std::atomic<std::int64_t> now_{1'800'000'000'000};
  AlertSender* sender_ = nullptr;
};

// A while of real time: the sender reaches its wait on the hand clock, and
// nothing more happens while that clock stands still.
void Settle() { std::this_thread::sleep_for(150ms); }

TEST(AlertSenderHandClock, ABackoffLastsUntilTheClockSaysSo) {
  ScriptedHttpServer server([](int n, const std::string&) {
    return n == 0 ? Reply(503, "", "") : Reply(200, "", "");
  });
  AlertSenderConfig c = FastConfig(server);
  c.backoff = 60s;  // a real minute, were the sleep not on the hand clock
  HandClock clock;
  AlertSender sender(c, &clock);
  clock.Attach(&sender);
  const auto start = Steady::now();
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return server.Requests().size() == 1; }));
  Settle();  // into the backoff: it ends 60 s after now on the clock
  clock.Advance(59'999ms);
  Settle();
  EXPECT_EQ(server.Requests().size(), 1u) << "the retry came before the backoff ended";
  clock.Advance(1ms);
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  EXPECT_EQ(server.Requests().size(), 2u);
  EXPECT_LT(Steady::now() - start, 20s);
}

TEST(AlertSenderHandClock, BackoffDoublesAndRetryAfterIsHonoured) {
  ScriptedHttpServer server([](int n, const std::string&) {
    if (n == 0) return Reply(503, "", "");                     // then 10 s (the backoff)
    if (n == 1) return Reply(503, "", "");                     // then 20 s (doubled)
    if (n == 2) return Reply(429, "Retry-After: 120\r\n", "");  // then 120 s (the server's)
    return Reply(200, "", "");
  });
  AlertSenderConfig c = FastConfig(server);
  c.backoff = 10s;
  HandClock clock;
  AlertSender sender(c, &clock);
  clock.Attach(&sender);
  sender.Enqueue("t", "b");
  for (auto [wait, requests] : {std::pair{10s, 2u}, std::pair{20s, 3u}, std::pair{120s, 4u}}) {
    ASSERT_TRUE(WaitFor([&, n = requests - 1] { return server.Requests().size() == n; }));
    Settle();  // into the backoff
    clock.Advance(wait - 1ms);
    Settle();
    EXPECT_EQ(server.Requests().size(), requests - 1) << "before " << wait.count() << " s";
    clock.Advance(1ms);
  }
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  EXPECT_EQ(server.Requests().size(), 4u);
}

TEST(AlertSenderHandClock, TheWindowAndTheSummaryFollowTheClock) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(200, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.burst = 1;
  c.window = 60s;
  HandClock clock;
  AlertSender sender(c, &clock);
  clock.Attach(&sender);
  sender.Enqueue("first", "first");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 1; }));
  clock.Advance(5s);
  sender.Enqueue("second", "second");
  sender.Enqueue("third", "third");
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().suppressed == 2; }));
  clock.Advance(54'999ms);  // 59.999 s after the first post: still in its window
  Settle();
  EXPECT_EQ(server.Requests().size(), 1u);
  clock.Advance(1ms);
  ASSERT_TRUE(WaitFor([&] { return sender.Stats().posted == 2; }));
  const std::string summary = server.Requests().at(1);
  EXPECT_NE(summary.find("Title: sluice: 2 more alerts; latest: third"), std::string::npos) << summary;
  // Folded 5 s after the start, summarised at 60 s: 55 s on the clock.
  EXPECT_NE(summary.find("\r\n\r\nsluice: 2 more alerts in the last 55 s; latest: third"), std::string::npos)
      << summary;
  sender.Stop();
  ExpectBalanced(sender.Stats());
}

TEST(AlertSenderHandClock, StopEndsABackoffOnTheClock) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(503, "", ""); });
  AlertSenderConfig c = FastConfig(server);
  c.backoff = 3600s;
  HandClock clock;
  AlertSender sender(c, &clock);
  clock.Attach(&sender);
  sender.Enqueue("t", "b");
  ASSERT_TRUE(WaitFor([&] { return server.Requests().size() == 1; }));
  const auto start = Steady::now();
  sender.Stop();
  EXPECT_LT(Steady::now() - start, 5s);
  EXPECT_EQ(sender.Stats().failed, 1);
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST(AlertSender, FromEnvReadsTheWebhookUrl) {
  ::setenv("ALERT_WEBHOOK_URL", "https://ntfy.example/sluice", 1);
  AlertSenderConfig c = AlertSender::FromEnv();
  EXPECT_EQ(c.url, "https://ntfy.example/sluice");
  EXPECT_EQ(c.retries, 3);
  EXPECT_EQ(c.burst, 5);
  EXPECT_EQ(c.window, 60s);
  EXPECT_EQ(c.timeout, 10s);
  EXPECT_EQ(c.backoff, 1s);
  ::unsetenv("ALERT_WEBHOOK_URL");
  EXPECT_TRUE(AlertSender::FromEnv().url.empty());
}

}  // namespace
}  // namespace sluice::broker
