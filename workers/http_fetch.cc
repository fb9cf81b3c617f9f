#include "workers/http_fetch.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>

namespace sluice::worker {
namespace {

constexpr long kBufferBytes = 128 * 1024;
constexpr int kMaxPollMs = 1000;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Failures that the same request will meet again.
bool IsPermanent(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_LOGIN_DENIED:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return true;
    default:
      return false;
  }
}

std::string HeaderValue(CURL* easy, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) return {};
  return h->value;
}

void ReadHead(CURL* easy, HttpResponseHead* head) {
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &head->status);
  head->etag = HeaderValue(easy, "ETag");
  head->last_modified = HeaderValue(easy, "Last-Modified");
  head->content_type = HeaderValue(easy, "Content-Type");
  head->content_encoding = HeaderValue(easy, "Content-Encoding");
  curl_off_t length = -1;
  curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  head->content_length.reset();
  if (length >= 0) head->content_length = static_cast<std::uint64_t>(length);
}

struct Transfer {
  CURL* easy = nullptr;
  HttpBodySink* sink = nullptr;
  std::uint64_t max_bytes = 0;
  HttpResult* result = nullptr;
  bool head_read = false;
  bool not_2xx = false;    // the final response is not 2xx: its body is not wanted
  bool sink_stopped = false;
};

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  HttpResult& r = *t->result;
  if (!t->head_read) {
    ReadHead(t->easy, &r.head);
    t->head_read = true;
    t->not_2xx = r.head.status < 200 || r.head.status > 299;
  }
  if (t->not_2xx) return CURL_WRITEFUNC_ERROR;  // stop: the status says all
  if (t->max_bytes != 0 && r.body_bytes + bytes > t->max_bytes) {
    r.too_large = true;
    return CURL_WRITEFUNC_ERROR;
  }
  r.body_bytes += bytes;
  if (!t->sink->OnBody(r.head, std::string_view(data, bytes))) {
    t->sink_stopped = true;
    return CURL_WRITEFUNC_ERROR;
  }
  return bytes;
}

}  // namespace

std::string_view HttpUserAgent() {
  static const std::string agent = std::string("sluice-worker/") + SLUICE_VERSION;
  return agent;
}

HttpResult HttpGet(const HttpRequest& request, const CancelToken& cancel, HttpBodySink* sink) {
  GlobalInit();
  HttpResult result;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(), curl_multi_cleanup);
  if (!easy || !multi) {
    result.error = "libcurl: cannot create a handle";
    return result;
  }
  curl_slist* raw_headers = nullptr;
  for (const std::string& h : request.headers) {
    curl_slist* next = curl_slist_append(raw_headers, h.c_str());
    if (next == nullptr) {
      curl_slist_free_all(raw_headers);
      result.error = "libcurl: out of memory";
      return result;
    }
    raw_headers = next;
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, curl_slist_free_all);

  Transfer t;
  t.easy = easy.get();
  t.sink = sink;
  t.max_bytes = request.max_bytes;
  t.result = &result;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const long stall_s = std::max<long>(1, static_cast<long>(request.stall.count()));
  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));

  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, request.max_redirects);
  curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, HttpUserAgent().data());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, stall_s * 1000));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferBytes);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  if (request.max_bytes != 0)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_bytes));

  // The multi interface, so that the wait can include the token's fd: a
  // CANCEL ends the transfer within a poll wake-up, not at the next
  // progress tick.
  curl_multi_add_handle(multi.get(), e);
  CURLcode code = CURLE_OK;
  while (true) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi.get(), &running);
    if (mc != CURLM_OK) {
      code = CURLE_FAILED_INIT;
      std::snprintf(error_buffer, sizeof error_buffer, "%s", curl_multi_strerror(mc));
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi.get(), &left))
        if (m->msg == CURLMSG_DONE) code = m->data.result;
      break;
    }
    if (StopReason why = cancel.reason(); why != StopReason::kNone) {
      result.stopped_by = why;
      break;
    }
    int wait_ms = std::min(kMaxPollMs, PollTimeoutMs(Clock::now(), cancel.deadline()));
    if (cancel.fd() < 0) wait_ms = std::min(wait_ms, 10);
    curl_waitfd extra{cancel.fd(), CURL_WAIT_POLLIN, 0};
    curl_multi_poll(multi.get(), cancel.fd() >= 0 ? &extra : nullptr, cancel.fd() >= 0 ? 1 : 0,
                    wait_ms, nullptr);
  }
  curl_multi_remove_handle(multi.get(), e);

  if (!t.head_read) ReadHead(e, &result.head);
  curl_off_t retry_after_s = 0;
  if (curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after_s) == CURLE_OK && retry_after_s > 0)
    result.retry_after_ms = static_cast<std::uint64_t>(std::min<curl_off_t>(retry_after_s, 7 * 86400)) * 1000;

  if (result.stopped_by != StopReason::kNone) {
    result.end = HttpResult::End::kStopped;
  } else if (t.sink_stopped) {
    result.end = HttpResult::End::kSinkStopped;
  } else if (code == CURLE_OK || (t.not_2xx && code == CURLE_WRITE_ERROR)) {
    result.end = HttpResult::End::kComplete;
  } else if (code == CURLE_FILESIZE_EXCEEDED &&
             (result.head.status < 200 || result.head.status > 299)) {
    result.end = HttpResult::End::kComplete;  // an error page too big to matter
  } else {
    result.end = HttpResult::End::kFailed;
    if (code == CURLE_FILESIZE_EXCEEDED) result.too_large = true;
    if (result.too_large) {
      result.retryable = false;
      result.error = "the body is larger than max_bytes = " + std::to_string(request.max_bytes);
    } else {
      result.retryable = !IsPermanent(code);
      result.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      result.error += " (curl error " + std::to_string(static_cast<int>(code)) + ")";
    }
  }
  return result;
}

}  // namespace sluice::worker
