// The shared libcurl layer (schemas/curl_wrapper.h): which failures are
// permanent, error texts, header lists, and one transfer driven on a multi
// handle against a scripted local origin.
#include "schemas/curl_wrapper.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/workers/scripted_http_server.h"

namespace sluice::curl {
namespace {

using worker::testing::Reply;
using worker::testing::ScriptedHttpServer;
using worker::testing::ScriptedReply;

TEST(CurlIsPermanent, ARequestThatCannotSucceedAsItIs) {
  for (CURLcode c : {CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN,
                     CURLE_TOO_MANY_REDIRECTS, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
                     CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_LOGIN_DENIED,
                     CURLE_FILESIZE_EXCEEDED, CURLE_BAD_FUNCTION_ARGUMENT})
    EXPECT_TRUE(IsPermanent(c)) << curl_easy_strerror(c);
}

TEST(CurlIsPermanent, TransientFailuresAreNot) {
  for (CURLcode c : {CURLE_OK, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
                     CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING,
                     CURLE_SSL_CONNECT_ERROR, CURLE_WRITE_ERROR, CURLE_FAILED_INIT})
    EXPECT_FALSE(IsPermanent(c)) << curl_easy_strerror(c);
}

TEST(CurlErrorText, TheBufferFirstThenLibcurlsWordsAndTheCode) {
  EXPECT_EQ(ErrorText(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 1"),
            "Failed to connect to 127.0.0.1 port 1 (curl error 7)");
  EXPECT_EQ(ErrorText(CURLE_COULDNT_CONNECT, ""),
            std::string(curl_easy_strerror(CURLE_COULDNT_CONNECT)) + " (curl error 7)");
  EXPECT_EQ(ErrorText(CURLE_OPERATION_TIMEDOUT, nullptr),
            std::string(curl_easy_strerror(CURLE_OPERATION_TIMEDOUT)) + " (curl error 28)");
}

TEST(CurlHeaderList, KeepsEveryLineInOrder) {
  HeaderList list;
  ASSERT_TRUE(MakeHeaderList({"A: 1", "B: 2", "Expect:"}, &list));
  std::vector<std::string> lines;
  for (const curl_slist* l = list.get(); l != nullptr; l = l->next) lines.emplace_back(l->data);
  EXPECT_EQ(lines, (std::vector<std::string>{"A: 1", "B: 2", "Expect:"}));
  ASSERT_TRUE(MakeHeaderList({}, &list));
  EXPECT_EQ(list, nullptr);
}

// A GET of `url` driven by Perform(); `stop` as given.
struct Get {
  Easy easy;
  Multi multi;
  char error[CURL_ERROR_SIZE] = {};
  Performed done;
  explicit Get(const std::string& url, const std::function<bool()>& stop = [] { return false; }) {
    GlobalInit();
    easy = MakeEasy();
    multi.reset(curl_multi_init());
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
    CURLM* m = multi.get();
    done = Perform(m, easy.get(), error, stop, [m] { curl_multi_poll(m, nullptr, 0, 50, nullptr); });
  }
};

TEST(CurlPerform, RunsATransferToItsEndAndReadsRetryAfter) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(503, "Retry-After: 120\r\n", "busy"); });
  Get get(server.Url("/x"));
  EXPECT_FALSE(get.done.stopped);
  EXPECT_EQ(get.done.code, CURLE_OK);
  long status = 0;
  curl_easy_getinfo(get.easy.get(), CURLINFO_RESPONSE_CODE, &status);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(RetryAfterMs(get.easy.get()), 120000u);
}

TEST(CurlPerform, NoRetryAfterIsZero) {
  ScriptedHttpServer server([](int, const std::string&) { return Reply(200, "", "ok"); });
  Get get(server.Url("/x"));
  EXPECT_EQ(get.done.code, CURLE_OK);
  EXPECT_EQ(RetryAfterMs(get.easy.get()), 0u);
}

TEST(CurlPerform, StopsWhenAsked) {
  ScriptedHttpServer server([](int, const std::string&) { return ScriptedReply{"", true}; });
  int rounds = 0;
  Get get(server.Url("/x"), [&] { return ++rounds == 3; });
  EXPECT_TRUE(get.done.stopped);
  EXPECT_EQ(rounds, 3);
}

TEST(CurlPerform, AFailedTransferHasItsCode) {
  std::string url;
  {
    ScriptedHttpServer gone([](int, const std::string&) { return Reply(200, "", ""); });
    url = gone.Url("/x");
  }  // nothing listens there any more
  Get get(url);
  EXPECT_FALSE(get.done.stopped);
  EXPECT_EQ(get.done.code, CURLE_COULDNT_CONNECT);
  EXPECT_FALSE(IsPermanent(get.done.code));
  EXPECT_NE(ErrorText(get.done.code, get.error).find("(curl error 7)"), std::string::npos);
}

}  // namespace
}  // namespace sluice::curl
