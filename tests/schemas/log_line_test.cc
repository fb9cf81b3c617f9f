// FormatLogLine: the two formats of a log line, read back by the same
// strict readers the integration test uses; values that need quoting
// (spaces, quotes, newlines, '=', text that is not UTF-8) round-trip.
#include "schemas/log_line.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/logfmt_parse.h"

namespace sluice {
namespace {

using testing::ParseLogfmt;

constexpr std::int64_t kMs = 1796466541680;  // 2026-12-05T10:29:01.680Z

TEST(LogLine, LogfmtHasTimeLevelMsgThenTheFields) {
  const std::string line = FormatLogLine(LogFormat::kLogfmt, kMs, LogLevel::kWarn, "job j4 is dead",
                                         {{"job", "j4"}, {"attempt", "2", true}, {"kind", "test.fail"}});
  EXPECT_EQ(line, "time=2026-12-05T10:29:01.680Z level=warn msg=\"job j4 is dead\" job=j4 attempt=2 kind=test.fail\n");
  auto parsed = ParseLogfmt(line.substr(0, line.size() - 1));
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(*parsed.Find("kind"), "test.fail");
}

TEST(LogLine, ValuesThatNeedQuotingRoundTrip) {
  const std::string nasty = "a b=c \"quoted\" back\\slash\nnew line\ttab";
  const std::string broken = std::string("bad \xff\xfe utf8");
  for (LogFormat f : {LogFormat::kLogfmt, LogFormat::kJson}) {
    const std::string line =
        FormatLogLine(f, kMs, LogLevel::kInfo, nasty, {{"error", nasty}, {"empty", ""}, {"bytes", broken}});
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
    const std::string body = line.substr(0, line.size() - 1);
    if (f == LogFormat::kLogfmt) {
      auto parsed = ParseLogfmt(body);
      ASSERT_EQ(parsed.error, "") << body;
      EXPECT_EQ(*parsed.Find("msg"), nasty);
      EXPECT_EQ(*parsed.Find("error"), nasty);
      EXPECT_EQ(*parsed.Find("empty"), "");
      EXPECT_EQ(*parsed.Find("bytes"), "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8");  // U+FFFD each
    } else {
      auto j = nlohmann::json::parse(body);
      EXPECT_EQ(j["time"], "2026-12-05T10:29:01.680Z");
      EXPECT_EQ(j["level"], "info");
      EXPECT_EQ(j["msg"], nasty);
      EXPECT_EQ(j["error"], nasty);
      EXPECT_EQ(j["empty"], "");
      EXPECT_EQ(body.rfind("{\"time\":", 0), 0u);
    }
  }
}

TEST(LogLine, NumbersAreBareInJson) {
  const std::string line =
      FormatLogLine(LogFormat::kJson, kMs, LogLevel::kInfo, "job ended", {{"attempt", "3", true}, {"duration_ms", "1.5", true}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["attempt"], 3);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 1.5);
}

TEST(LogLine, Formats) {
  EXPECT_EQ(ParseLogFormat("logfmt"), LogFormat::kLogfmt);
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("JSON").has_value());
  EXPECT_EQ(LogLevelName(LogLevel::kError), "error");
}

}  // namespace
}  // namespace sluice
