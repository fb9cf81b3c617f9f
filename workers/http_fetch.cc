#include "workers/http_fetch.h"

#include <curl/curl.h>

#include <algorithm>

#include "schemas/curl_wrapper.h"

namespace sluice::worker {
namespace {

constexpr long kBufferBytes = 128 * 1024;
constexpr int kMaxPollMs = 1000;

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

namespace {

// The transfer's options: redirects (http and https only), no content
// decoding, the time limits, the body to OnWrite.
void SetOptions(CURL* e, const HttpRequest& request, curl_slist* headers, char* error_buffer,
                Transfer* t) {
  const long stall_s = std::max<long>(1, static_cast<long>(request.stall.count()));
  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, request.max_redirects);
  curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, HttpUserAgent().data());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, stall_s * 1000));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferBytes);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  if (request.max_bytes != 0)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_bytes));
}

// Runs the transfer on the multi interface, so that the wait can include the
// token's fd: a CANCEL ends the transfer within a poll wake-up, not at the
// next progress tick. Sets result->stopped_by when the token stopped it.
CURLcode RunTransfer(CURLM* multi, CURL* e, const CancelToken& cancel, char* error_buffer,
                     HttpResult* result) {
  auto stop = [&] {
    result->stopped_by = cancel.reason();
    return result->stopped_by != StopReason::kNone;
  };
  auto wait = [&] {
    int wait_ms = std::min(kMaxPollMs, PollTimeoutMs(Clock::now(), cancel.deadline()));
    if (cancel.fd() < 0) wait_ms = std::min(wait_ms, 10);
    curl_waitfd extra{cancel.fd(), CURL_WAIT_POLLIN, 0};
    curl_multi_poll(multi, cancel.fd() >= 0 ? &extra : nullptr, cancel.fd() >= 0 ? 1 : 0, wait_ms, nullptr);
  };
  return curl::Perform(multi, e, error_buffer, stop, wait).code;
}

// How the transfer ended, from who stopped it, its code and its status.
void Classify(const HttpRequest& request, const Transfer& t, CURLcode code, const char* error_buffer,
              HttpResult* result) {
  const bool not_2xx = result->head.status < 200 || result->head.status > 299;
  if (result->stopped_by != StopReason::kNone) {
    result->end = HttpResult::End::kStopped;
  } else if (t.sink_stopped) {
    result->end = HttpResult::End::kSinkStopped;
  } else if (code == CURLE_OK || (t.not_2xx && code == CURLE_WRITE_ERROR)) {
    result->end = HttpResult::End::kComplete;
  } else if (code == CURLE_FILESIZE_EXCEEDED && not_2xx) {
    result->end = HttpResult::End::kComplete;  // an error page too big to matter
  } else {
    result->end = HttpResult::End::kFailed;
    if (code == CURLE_FILESIZE_EXCEEDED) result->too_large = true;
    if (result->too_large) {
      result->retryable = false;
      result->error = "the body is larger than max_bytes = " + std::to_string(request.max_bytes);
    } else {
      result->retryable = !curl::IsPermanent(code);
      result->error = curl::ErrorText(code, error_buffer);
    }
  }
}

}  // namespace

namespace {

// The handles of the calling thread (a worker slot thread runs one transfer
// at a time), kept from one HttpGet to the next so that the multi handle's
// connection pool keeps connections alive: a source's next file reuses the
// TCP (and TLS) connection instead of a new handshake. Connections idle
// longer than libcurl's CURLOPT_MAXAGE_CONN (118 s) are not reused; a
// kept connection the origin closed meanwhile is noticed and replaced by
// libcurl. The easy handle is reset before and after each transfer, so no
// option (headers, limits, pointers into a finished call) carries over.
struct ThreadHandles {
  curl::Easy easy;
  curl::Multi multi;
};

ThreadHandles* Handles() {
  thread_local ThreadHandles h;
  if (!h.easy) h.easy = curl::MakeEasy();
  if (!h.multi) h.multi.reset(curl_multi_init());
  return h.easy && h.multi ? &h : nullptr;
}

}  // namespace

HttpResult HttpGet(const HttpRequest& request, const CancelToken& cancel, HttpBodySink* sink) {
  curl::GlobalInit();
  HttpResult result;
  ThreadHandles* handles = Handles();
  if (handles == nullptr) {
    result.error = "libcurl: cannot create a handle";
    return result;
  }
  CURL* easy = handles->easy.get();
  curl_easy_reset(easy);
  curl::HeaderList headers;
  if (!curl::MakeHeaderList(request.headers, &headers)) {
    result.error = "libcurl: out of memory";
    return result;
  }
  Transfer t;
  t.easy = easy;
  t.sink = sink;
  t.max_bytes = request.max_bytes;
  t.result = &result;
  char error_buffer[CURL_ERROR_SIZE] = {};
  SetOptions(easy, request, headers.get(), error_buffer, &t);
  const CURLcode code = RunTransfer(handles->multi.get(), easy, cancel, error_buffer, &result);
  if (!t.head_read) ReadHead(easy, &result.head);
  result.retry_after_ms = curl::RetryAfterMs(easy);
  Classify(request, t, code, error_buffer, &result);
  curl_easy_reset(easy);  // drops the pointers to this call's headers, buffer and sink
  return result;
}

}  // namespace sluice::worker
