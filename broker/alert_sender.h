// AlertSender: ntfy-style webhook alerts (a failed workflow run, a dead job
// of no run: one failure, one post; texts in run_manager.cc)
// posted from a helper thread, so that the event loop never waits on the
// network. Enqueue() only takes a mutex and appends to a bounded queue.
//
// Each alert is one HTTP POST to the configured URL: the text as the body
// (Content-Type: text/plain; charset=utf-8), "Title: <title>" and
// "Tags: warning" as headers. 2xx is delivered; 5xx, 429 and transport
// errors are retried with a doubling backoff; any other status is final.
//
// Rate limit: at most `burst` posts start in any `window`. Alerts that come
// while the limit is reached are not posted one by one: they are counted and
// folded into ONE summary post once the window allows again
// ("sluice: 37 more alerts in the last 60 s; latest: <text>"). Alerts that
// find the queue full are dropped and counted in the next summary too.
//
// Stop() (and the destructor) wakes the thread out of a backoff sleep and
// aborts an in-flight request at once; alerts still queued are dropped.
//
// Time (the window, a summary's "last N s", the backoff between retries) is
// read from the Clock passed in, the broker's; the thread's waits end when
// that clock reaches their end. A test that moves a clock by hand calls
// Wake() after moving it, so a 60 s backoff takes no real minute.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "broker/clock.h"

namespace sluice::broker {

struct AlertSenderConfig {
  std::string url;  // the webhook, e.g. https://ntfy.sh/<topic>; empty: alerts are disabled
  int retries = 3;  // further attempts after the first one fails retryably
  std::chrono::milliseconds backoff{1000};   // before the first retry; doubles each time
  std::chrono::milliseconds timeout{10000};  // per request, connect included
  int burst = 5;                             // posts (alerts and summaries) per window
  std::chrono::milliseconds window{60000};
  std::size_t max_queue = 10000;  // alerts waiting; beyond it they are dropped
};

// Monotonic counters. After Stop():
//   enqueued == (posted + failed - summaries) + suppressed + dropped
struct AlertStats {
  std::int64_t enqueued = 0;    // Enqueue() calls on an enabled, running sender
  std::int64_t posted = 0;      // posts answered 2xx (alerts and summaries)
  std::int64_t failed = 0;      // posts given up: final status, retries spent, or Stop()
  std::int64_t suppressed = 0;  // alerts folded into a summary instead of posted alone
  std::int64_t dropped = 0;     // alerts never sent: queue full, or still queued at Stop()
  std::int64_t summaries = 0;   // summary posts (counted in posted or failed too)
};

class AlertSender {
 public:
  // `clock` is not null, outlives the sender and may be read from two
  // threads (the caller's and the sender's own).
  AlertSender(AlertSenderConfig config, const Clock* clock);
  ~AlertSender();  // Stop()
  AlertSender(const AlertSender&) = delete;
  AlertSender& operator=(const AlertSender&) = delete;

  // The defaults, with url from the environment variable ALERT_WEBHOOK_URL.
  static AlertSenderConfig FromEnv();

  bool enabled() const { return enabled_; }

  // Thread-safe, O(1), never waits on the network. A no-op when disabled or
  // stopped. Control characters in the title become spaces (it is a header).
  void Enqueue(std::string title, std::string text);

  // Stops the thread promptly and joins it. Idempotent.
  void Stop();

  AlertStats Stats() const;

  // Makes the sender's thread look at its clock again now (for a clock that
  // a test moves by hand; the real one needs no help).
  void Wake();

 private:
  struct Alert {
    std::string title, text;
    std::int64_t seq = 0;  // the order of Enqueue() calls
  };
  enum class Outcome { kDelivered, kRetry, kFinal, kStopped };

  void Loop();
  // Folds the queue into the next summary (the rate limit is reached).
  void FoldQueue(std::int64_t now_ms);
  // The summary of what was folded; resets the fold.
  Alert TakeSummary(std::int64_t now_ms);
  // Waits on cv_ until the clock reads `until_ms`, or a wake-up (Enqueue,
  // Stop, Wake, or a spurious one): callers look again either way.
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::int64_t until_ms);
  // One alert or summary, with its retries; counts the outcome.
  void Deliver(const Alert& alert, bool summary);
  // Sleeps `wait` on the clock before a retry; false when stopped meanwhile.
  bool BackoffSleep(std::chrono::milliseconds wait);
  Outcome PostOnce(const Alert& alert, std::chrono::milliseconds* retry_after, std::string* error);

  const AlertSenderConfig config_;
  const Clock* const clock_;
  const bool enabled_;
  void* multi_ = nullptr;  // CURLM*: its wakeup aborts an in-flight request on Stop()

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};  // set under mu_ (for cv_), read anywhere
  std::deque<Alert> queue_;               // guarded by mu_
  std::deque<std::int64_t> post_starts_;  // ms; the thread's only: within the window
  // Alerts not posted alone since the last summary (guarded by mu_).
  std::int64_t folded_ = 0, folded_dropped_ = 0;
  std::int64_t first_folded_ms_ = 0;
  Alert latest_folded_;
  AlertStats stats_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::broker
