#include "schemas/curl_wrapper.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

namespace sluice::curl {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

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

Easy MakeEasy() { return Easy(curl_easy_init()); }

bool MakeHeaderList(const std::vector<std::string>& lines, HeaderList* out) {
  out->reset();
  curl_slist* list = nullptr;
  for (const std::string& line : lines) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) {
      curl_slist_free_all(list);
      return false;
    }
    list = next;
  }
  out->reset(list);
  return true;
}

Performed Perform(CURLM* multi, CURL* easy, char* error_buffer, const std::function<bool()>& stop,
                  const std::function<void()>& wait) {
  Performed done;
  curl_multi_add_handle(multi, easy);
  while (true) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      done.code = CURLE_FAILED_INIT;
      std::snprintf(error_buffer, CURL_ERROR_SIZE, "%s", curl_multi_strerror(mc));
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left))
        if (m->msg == CURLMSG_DONE) done.code = m->data.result;
      break;
    }
    if (stop()) {
      done.stopped = true;
      break;
    }
    wait();
  }
  curl_multi_remove_handle(multi, easy);
  return done;
}

std::string ErrorText(CURLcode code, const char* error_buffer) {
  std::string text = error_buffer != nullptr && error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  return text + " (curl error " + std::to_string(static_cast<int>(code)) + ")";
}

std::uint64_t RetryAfterMs(CURL* easy) {
  curl_off_t seconds = 0;
  if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &seconds) != CURLE_OK || seconds <= 0) return 0;
  return static_cast<std::uint64_t>(std::min<curl_off_t>(seconds, 7 * 86400)) * 1000;
}

}  // namespace sluice::curl
