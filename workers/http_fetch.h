// One HTTP GET with libcurl, its body streamed to a sink: the seam between
// the extract handler and the network.
//
// What libcurl is asked to do: follow redirects (at most max_redirects,
// http and https only, also for the first URL: no file://), leave the body
// as the origin sent it (no content decoding: a gzip body arrives as gzip),
// fail a transfer that takes longer than `timeout` or sees no byte for
// `stall`, and stop at once when the CancelToken stops (its fd is polled
// next to the transfer's sockets). Only the body of a final 2xx response
// reaches the sink; any other status ends the transfer at its headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workers/cancel_token.h"

namespace sluice::worker {

struct HttpRequest {
  std::string url;                   // resolved: may hold secrets, never shown
  std::vector<std::string> headers;  // "Name: value", resolved
  std::chrono::milliseconds timeout{300000};
  std::chrono::seconds stall{30};    // >= 1 s
  long max_redirects = 10;            // 0: a 3xx is the response
  std::uint64_t max_bytes = 0;       // body limit; 0: none
};

// The final response's status line and the headers the extractor uses.
struct HttpResponseHead {
  long status = 0;  // 0: no response
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string content_encoding;
  std::optional<std::uint64_t> content_length;
};

class HttpBodySink {
 public:
  virtual ~HttpBodySink() = default;
  // A chunk of a 2xx body, in order. `head` is complete by the first call.
  // Return false to end the transfer (HttpResult::End::kSinkStopped).
  virtual bool OnBody(const HttpResponseHead& head, std::string_view chunk) = 0;
};

struct HttpResult {
  enum class End : std::uint8_t {
    kComplete,     // a final response arrived whole (any status; see head)
    kFailed,       // the transfer failed: see error, retryable
    kSinkStopped,  // the sink said stop
    kStopped,      // the CancelToken stopped it: see stopped_by
  };
  End end = End::kFailed;
  HttpResponseHead head;
  std::string error;       // libcurl's words (may quote the resolved URL's host)
  bool retryable = true;   // for kFailed: DNS, connect, timeout, truncation...
  bool too_large = false;  // for kFailed: the body would pass max_bytes
  std::uint64_t retry_after_ms = 0;  // the response's Retry-After (seconds or date), 0: none
  StopReason stopped_by = StopReason::kNone;
  std::uint64_t body_bytes = 0;  // body bytes handed to the sink
};

// Never throws; the sink is called on this thread.
HttpResult HttpGet(const HttpRequest& request, const CancelToken& cancel, HttpBodySink* sink);

// "sluice-worker/<version>".
std::string_view HttpUserAgent();

}  // namespace sluice::worker
