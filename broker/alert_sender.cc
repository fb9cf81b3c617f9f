#include "broker/alert_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "broker/log.h"
#include "schemas/curl_wrapper.h"

namespace sluice::broker {
namespace {

constexpr int kMaxPollMs = 1000;
// A server's Retry-After is honoured up to this; longer would hold up every
// alert behind this one.
constexpr std::chrono::milliseconds kMaxRetryAfter{5 * 60 * 1000};

// A header value: no CR, LF or other control characters.
std::string HeaderSafe(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return s;
}

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

AlertSenderConfig AlertSender::FromEnv() {
  AlertSenderConfig config;
  if (const char* url = std::getenv("ALERT_WEBHOOK_URL")) config.url = url;
  return config;
}

AlertSender::AlertSender(AlertSenderConfig config, const Clock* clock)
    : config_(std::move(config)), clock_(clock), enabled_(!config_.url.empty()) {
  if (!enabled_) return;
  curl::GlobalInit();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) Logf("alerts: libcurl: cannot create a handle; alerts will fail");
  thread_ = std::thread([this] { Loop(); });
}

AlertSender::~AlertSender() {
  Stop();
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void AlertSender::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
  if (thread_.joinable()) thread_.join();
}

void AlertSender::Enqueue(std::string title, std::string text) {
  if (!enabled_) return;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stats_.enqueued++;
    if (queue_.size() >= config_.max_queue) {
      stats_.dropped++;
      if (folded_ == 0) first_folded_ms_ = clock_->NowMs();
      folded_++;
      folded_dropped_++;
      latest_folded_ = Alert{std::move(title), std::move(text), stats_.enqueued};
      return;  // no wake-up needed: the queue is not empty
    }
    queue_.push_back(Alert{std::move(title), std::move(text), stats_.enqueued});
  }
  cv_.notify_one();
}

AlertStats AlertSender::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void AlertSender::Wake() {
  { std::lock_guard lock(mu_); }  // a waiter between its clock read and its wait gets this too
  cv_.notify_all();
}

void AlertSender::Loop() {
  const std::size_t burst = static_cast<std::size_t>(std::max(1, config_.burst));
  const std::int64_t window_ms = config_.window.count();
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (queue_.empty() && folded_ == 0) {
      cv_.wait(lock);
      continue;
    }
    const std::int64_t now = clock_->NowMs();
    // A start after now: the clock was set back; that post is forgotten.
    while (!post_starts_.empty() && (now - post_starts_.front() >= window_ms || post_starts_.front() > now))
      post_starts_.pop_front();
    if (post_starts_.size() >= burst) {
      // Limited: fold what waits into the next summary, then sleep until the
      // oldest post leaves the window (an Enqueue wakes us to fold again).
      FoldQueue(now);
      WaitUntil(lock, post_starts_.front() + window_ms);
      continue;
    }
    Alert alert;
    const bool summary = folded_ > 0;
    if (summary) {
      alert = TakeSummary(now);
    } else {
      alert = std::move(queue_.front());
      queue_.pop_front();
    }
    post_starts_.push_back(now);
    lock.unlock();
    Deliver(alert, summary);
    lock.lock();
  }
  stats_.dropped += static_cast<std::int64_t>(queue_.size());
  queue_.clear();
}

void AlertSender::FoldQueue(std::int64_t now_ms) {
  if (queue_.empty()) return;
  if (folded_ == 0) first_folded_ms_ = now_ms;
  folded_ += static_cast<std::int64_t>(queue_.size());
  stats_.suppressed += static_cast<std::int64_t>(queue_.size());
  // Alerts dropped while the queue was full came after the queued ones.
  if (queue_.back().seq > latest_folded_.seq) latest_folded_ = std::move(queue_.back());
  queue_.clear();
}

AlertSender::Alert AlertSender::TakeSummary(std::int64_t now_ms) {
  const std::int64_t elapsed_s = (std::max<std::int64_t>(0, now_ms - first_folded_ms_) + 999) / 1000;
  const std::string head = "sluice: " + std::to_string(folded_) + " more alert" + (folded_ == 1 ? "" : "s");
  Alert alert;
  alert.title = head + "; latest: " + latest_folded_.title;
  alert.text = head + " in the last " + std::to_string(std::max<std::int64_t>(1, elapsed_s)) + " s";
  if (folded_dropped_ > 0)
    alert.text += " (" + std::to_string(folded_dropped_) + " dropped: the alert queue was full)";
  alert.text += "; latest: " + latest_folded_.text;
  folded_ = folded_dropped_ = 0;
  latest_folded_ = Alert{};
  stats_.summaries++;
  return alert;
}

void AlertSender::WaitUntil(std::unique_lock<std::mutex>& lock, std::int64_t until_ms) {
  const std::int64_t left = until_ms - clock_->NowMs();
  if (left > 0 && !stop_) cv_.wait_for(lock, std::chrono::milliseconds(left));
}

bool AlertSender::BackoffSleep(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  const std::int64_t until = clock_->NowMs() + wait.count();
  while (!stop_ && clock_->NowMs() < until) WaitUntil(lock, until);
  return !stop_;
}

void AlertSender::Deliver(const Alert& alert, bool summary) {
  auto delay = config_.backoff;
  for (int attempt = 1;; ++attempt) {
    std::chrono::milliseconds retry_after{0};
    std::string error;
    const Outcome outcome = PostOnce(alert, &retry_after, &error);
    if (outcome == Outcome::kDelivered) {
      std::lock_guard lock(mu_);
      stats_.posted++;
      return;
    }
    if (outcome == Outcome::kRetry && attempt <= config_.retries) {
      if (BackoffSleep(std::max(delay, std::min(retry_after, kMaxRetryAfter)))) {
        delay *= 2;
        continue;
      }
      error += "; stopped before the next retry";
    }
    {
      std::lock_guard lock(mu_);
      stats_.failed++;
    }
    Logf("alerts: %s \"%s\" not delivered after %d attempt%s: %s", summary ? "summary" : "alert",
         alert.title.c_str(), attempt, attempt == 1 ? "" : "s", error.c_str());
    return;
  }
}

namespace {

// The post's headers; the title made header-safe, left out when empty.
bool PostHeaders(const std::string& title, curl::HeaderList* out) {
  const std::string safe = HeaderSafe(title);
  std::vector<std::string> lines = {"Content-Type: text/plain; charset=utf-8"};
  if (!safe.empty()) lines.push_back("Title: " + safe);
  lines.push_back("Tags: warning");
  lines.push_back("Expect:");
  return curl::MakeHeaderList(lines, out);
}

// One POST of `body` to `url`: no redirects, `timeout` for it all, connect
// included; the answer's body discarded.
void SetPostOptions(CURL* e, const std::string& url, const std::string& body, curl_slist* headers,
                    std::chrono::milliseconds timeout, char* error_buffer) {
  static const std::string agent = std::string("sluice-broker/") + SLUICE_VERSION;
  const long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, DiscardBody);
}

}  // namespace

AlertSender::Outcome AlertSender::PostOnce(const Alert& alert, std::chrono::milliseconds* retry_after,
                                           std::string* error) {
  auto* multi = static_cast<CURLM*>(multi_);
  curl::Easy easy = curl::MakeEasy();
  if (multi == nullptr || !easy) {
    *error = "libcurl: cannot create a handle";
    return Outcome::kFinal;
  }
  curl::HeaderList headers;
  if (!PostHeaders(alert.title, &headers)) {
    *error = "libcurl: out of memory";
    return Outcome::kRetry;
  }
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURL* e = easy.get();
  SetPostOptions(e, config_.url, alert.text, headers.get(), config_.timeout, error_buffer);
  // The multi interface, so that Stop() can end the wait at once
  // (curl_multi_wakeup) rather than at the timeout.
  const curl::Performed done = curl::Perform(
      multi, e, error_buffer, [this] { return stop_.load(); },
      [multi] { curl_multi_poll(multi, nullptr, 0, kMaxPollMs, nullptr); });
  if (done.stopped) {
    *error = "stopped during the request";
    return Outcome::kStopped;
  }
  if (done.code != CURLE_OK) {
    *error = curl::ErrorText(done.code, error_buffer);
    return curl::IsPermanent(done.code) ? Outcome::kFinal : Outcome::kRetry;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status <= 299) return Outcome::kDelivered;
  *error = "HTTP " + std::to_string(status);
  if (status == 429 || (status >= 500 && status <= 599)) {
    *retry_after = std::chrono::milliseconds(curl::RetryAfterMs(e));
    return Outcome::kRetry;
  }
  return Outcome::kFinal;
}

}  // namespace sluice::broker
