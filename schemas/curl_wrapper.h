// The libcurl pieces the worker's fetches (workers/http_fetch.cc) and the
// broker's alert posts (broker/alert_sender.cc) share: the once-per-process
// global init, which failures are permanent, owning handles, and driving
// one transfer on a multi handle so that a caller can poll its own fd or
// flag beside the transfer's sockets.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sluice::curl {

// curl_global_init, once per process; thread-safe. Call before creating a
// handle.
void GlobalInit();

// Failures that the same request will meet again, so retrying cannot help:
// a bad or unsupported URL, a refused TLS peer or certificate, a login
// denied, too many redirects, a size limit passed.
bool IsPermanent(CURLcode code);

struct EasyCleanup {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiCleanup {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyCleanup>;
using Multi = std::unique_ptr<CURLM, MultiCleanup>;
using HeaderList = std::unique_ptr<curl_slist, SlistFree>;

// A new easy handle (GlobalInit() first); null when libcurl cannot make one.
Easy MakeEasy();

// `lines` ("Name: value") as a curl_slist. False when out of memory (then
// *out is null).
bool MakeHeaderList(const std::vector<std::string>& lines, HeaderList* out);

// How a transfer driven by Perform() ended.
struct Performed {
  CURLcode code = CURLE_OK;  // the transfer's result; meaningless when stopped
  bool stopped = false;      // `stop` said stop before the transfer ended
};

// Adds `easy` to `multi`, runs it to its end and removes it again. Between
// rounds it asks `stop` (true: abandon the transfer) and then calls `wait`,
// which should block in curl_multi_poll (with any fds of the caller's own)
// for a bounded time. A multi-level failure is CURLE_FAILED_INIT, its text
// written to `error_buffer` (CURL_ERROR_SIZE bytes, as CURLOPT_ERRORBUFFER).
Performed Perform(CURLM* multi, CURL* easy, char* error_buffer, const std::function<bool()>& stop,
                  const std::function<void()>& wait);

// A failed transfer in words: libcurl's error buffer when it has text, else
// curl_easy_strerror(code); then " (curl error N)".
std::string ErrorText(CURLcode code, const char* error_buffer);

// The response's Retry-After (seconds or an HTTP date) in milliseconds,
// at most 7 days; 0 when there is none.
std::uint64_t RetryAfterMs(CURL* easy);

}  // namespace sluice::curl
