#include "broker/alert_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "broker/log.h"

namespace sluice::broker {
namespace {

constexpr int kMaxPollMs = 1000;
// A server's Retry-After is honoured up to this; longer would hold up every
// alert behind this one.
constexpr std::chrono::milliseconds kMaxRetryAfter{5 * 60 * 1000};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Transport failures that the same request will meet again.
bool IsPermanent(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_LOGIN_DENIED:
      return true;
    default:
      return false;
  }
}

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

AlertSender::AlertSender(AlertSenderConfig config)
    : config_(std::move(config)), enabled_(!config_.url.empty()) {
  if (!enabled_) return;
  GlobalInit();
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
      if (folded_ == 0) first_folded_ = SteadyClock::now();
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

void AlertSender::Loop() {
  const std::size_t burst = static_cast<std::size_t>(std::max(1, config_.burst));
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (queue_.empty() && folded_ == 0) {
      cv_.wait(lock);
      continue;
    }
    const auto now = SteadyClock::now();
    while (!post_starts_.empty() && now - post_starts_.front() >= config_.window)
      post_starts_.pop_front();
    if (post_starts_.size() >= burst) {
      // Limited: fold what waits into the next summary, then sleep until the
      // oldest post leaves the window (an Enqueue wakes us to fold again).
      if (!queue_.empty()) {
        if (folded_ == 0) first_folded_ = now;
        folded_ += static_cast<std::int64_t>(queue_.size());
        stats_.suppressed += static_cast<std::int64_t>(queue_.size());
        // Alerts dropped while the queue was full came after the queued ones.
        if (queue_.back().seq > latest_folded_.seq) latest_folded_ = std::move(queue_.back());
        queue_.clear();
      }
      cv_.wait_until(lock, post_starts_.front() + config_.window);
      continue;
    }
    Alert alert;
    const bool summary = folded_ > 0;
    if (summary) {
      const auto elapsed = std::chrono::ceil<std::chrono::seconds>(now - first_folded_).count();
      std::string head = "sluice: " + std::to_string(folded_) + " more alert" + (folded_ == 1 ? "" : "s");
      alert.title = head + "; latest: " + latest_folded_.title;
      alert.text = head + " in the last " + std::to_string(std::max<std::int64_t>(1, elapsed)) + " s";
      if (folded_dropped_ > 0)
        alert.text += " (" + std::to_string(folded_dropped_) + " dropped: the alert queue was full)";
      alert.text += "; latest: " + latest_folded_.text;
      folded_ = folded_dropped_ = 0;
      latest_folded_ = Alert{};
      stats_.summaries++;
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
      const auto wait = std::max(delay, std::min(retry_after, kMaxRetryAfter));
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, wait, [this] { return stop_.load(); })) {
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

AlertSender::Outcome AlertSender::PostOnce(const Alert& alert, std::chrono::milliseconds* retry_after,
                                           std::string* error) {
  auto* multi = static_cast<CURLM*>(multi_);
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  if (multi == nullptr || !easy) {
    *error = "libcurl: cannot create a handle";
    return Outcome::kFinal;
  }
  const std::string title = HeaderSafe(alert.title);
  curl_slist* raw_headers = nullptr;
  for (const std::string& h :
       {std::string("Content-Type: text/plain; charset=utf-8"),
        title.empty() ? std::string() : "Title: " + title, std::string("Tags: warning"),
        std::string("Expect:")}) {
    if (h.empty()) continue;
    curl_slist* next = curl_slist_append(raw_headers, h.c_str());
    if (next == nullptr) {
      curl_slist_free_all(raw_headers);
      *error = "libcurl: out of memory";
      return Outcome::kRetry;
    }
    raw_headers = next;
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, curl_slist_free_all);

  static const std::string agent = std::string("sluice-broker/") + SLUICE_VERSION;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const long timeout_ms = std::max<long>(1, static_cast<long>(config_.timeout.count()));
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(alert.text.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, alert.text.data());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, DiscardBody);

  // The multi interface, so that Stop() can end the wait at once
  // (curl_multi_wakeup) rather than at the timeout.
  curl_multi_add_handle(multi, e);
  CURLcode code = CURLE_OK;
  bool stopped = false;
  while (true) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      code = CURLE_FAILED_INIT;
      std::snprintf(error_buffer, sizeof error_buffer, "%s", curl_multi_strerror(mc));
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left))
        if (m->msg == CURLMSG_DONE) code = m->data.result;
      break;
    }
    if (stop_) {
      stopped = true;
      break;
    }
    curl_multi_poll(multi, nullptr, 0, kMaxPollMs, nullptr);
  }
  curl_multi_remove_handle(multi, e);

  if (stopped) {
    *error = "stopped during the request";
    return Outcome::kStopped;
  }
  if (code != CURLE_OK) {
    *error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    *error += " (curl error " + std::to_string(static_cast<int>(code)) + ")";
    return IsPermanent(code) ? Outcome::kFinal : Outcome::kRetry;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status <= 299) return Outcome::kDelivered;
  *error = "HTTP " + std::to_string(status);
  if (status == 429 || (status >= 500 && status <= 599)) {
    curl_off_t seconds = 0;
    if (curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &seconds) == CURLE_OK && seconds > 0)
      *retry_after = std::chrono::milliseconds(std::min<curl_off_t>(seconds, 7 * 86400) * 1000);
    return Outcome::kRetry;
  }
  return Outcome::kFinal;
}

}  // namespace sluice::broker
