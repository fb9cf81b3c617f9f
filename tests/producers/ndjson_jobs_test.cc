#include "producers/ndjson_jobs.h"

#include <sstream>

#include <gtest/gtest.h>

#include "producers/job_spec.h"

namespace sluice {
namespace {

using json = nlohmann::json;

Result<std::vector<proto::JobSpec>> Read(const std::string& text) {
  std::istringstream in(text);
  return ReadJobSpecsNdjson(in);
}

TEST(ReadJobSpecsNdjson, ReadsEveryFieldOfTheProtocol) {
  auto specs = Read(
      R"({"kind":"extract.http","params":{"url":"http://x","n":[1,2]},"queue":"q1","priority":-5,)"
      R"("max_attempts":3,"backoff_ms":500,"timeout_ms":60000,"delay_ms":10,"run_at_ms":1700000000000,"key":"k1"})"
      "\n"
      R"({"kind":"exec"})"
      "\n");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 2u);
  const auto& a = (*specs)[0];
  EXPECT_EQ(a.kind, "extract.http");
  EXPECT_EQ(json::from_msgpack(a.params), json::parse(R"({"url":"http://x","n":[1,2]})"));
  EXPECT_EQ(a.queue, "q1");
  EXPECT_EQ(a.priority, -5);
  EXPECT_EQ(a.max_attempts, 3u);
  EXPECT_EQ(a.backoff_ms, 500u);
  EXPECT_EQ(a.timeout_ms, 60000u);
  EXPECT_EQ(a.delay_ms, 10u);
  EXPECT_EQ(a.run_at_ms, 1700000000000u);
  EXPECT_EQ(a.key, "k1");
  const auto& b = (*specs)[1];
  EXPECT_EQ(b.kind, "exec");
  EXPECT_EQ(b.params, proto::kEmptyMap);
  EXPECT_EQ(b.queue, "default");
  EXPECT_EQ(b.max_attempts, 0u);  // the broker's default
}

TEST(ReadJobSpecsNdjson, SkipsBlankLinesAndCarriageReturns) {
  auto specs = Read("\n{\"kind\":\"a\"}\r\n   \n\t\n{\"kind\":\"b\"}");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[1].kind, "b");
  EXPECT_TRUE(Read("").ok());
  EXPECT_TRUE(Read("")->empty());
}

TEST(ReadJobSpecsNdjson, NullMeansAbsent) {
  auto specs = Read(R"({"kind":"a","queue":null,"key":null,"params":null})");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  EXPECT_EQ((*specs)[0].queue, "default");
}

// The message for a bad line: "line N: ...".
std::string Error(const std::string& text) {
  auto specs = Read(text);
  EXPECT_FALSE(specs.ok()) << text;
  if (specs.ok()) return "";
  EXPECT_EQ(specs.status().code(), Code::kInvalidArgument);
  return specs.status().message();
}

TEST(ReadJobSpecsNdjson, ABadLineFailsEverythingAndNamesItsNumber) {
  const std::string good = "{\"kind\":\"a\"}\n";
  EXPECT_EQ(Error(good + good + "{\"kind\":\n" + good), "line 3: not valid JSON");
  // Blank lines count.
  EXPECT_EQ(Error("\n\n" + good + "[1]\n"), "line 4: a job spec must be a JSON object");
  EXPECT_EQ(Error(good + "{}\n"), "line 2: missing field 'kind'");
  EXPECT_EQ(Error("{\"kind\":\"a\",\"max_attempt\":3}"), "line 1: unknown field 'max_attempt'");
}

TEST(ReadJobSpecsNdjson, WrongTypesAndRangesAreRefused) {
  auto has = [](const std::string& text, const std::string& part) {
    const std::string msg = Error(text);
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  has(R"({"kind":5})", "line 1: field 'kind' must be a string");
  has(R"({"kind":"bad kind!"})", "field 'kind' must be 1-64 characters");
  has(R"({"kind":"a","params":[1]})", "field 'params' must be a JSON object");
  has(R"({"kind":"a","priority":"high"})", "field 'priority' must be an integer");
  has(R"({"kind":"a","priority":5000})", "field 'priority' must be in [-1000, 1000]");
  has(R"({"kind":"a","max_attempts":-1})", "field 'max_attempts' must be a non-negative integer");
  has(R"({"kind":"a","max_attempts":1001})", "field 'max_attempts' must be at most 1000");
  has(R"({"kind":"a","backoff_ms":1.5})", "field 'backoff_ms' must be a non-negative integer");
  has(R"({"kind":"a","queue":""})", "field 'queue' must be 1-64 characters");
  has(R"({"kind":"a","key":")" + std::string(300, 'k') + "\"}", "field 'key' longer than 256 bytes");
}

TEST(ReadJobSpecsNdjson, AConcurrencyLimitOfZeroIsRefusedAsTheBrokerWould) {
  EXPECT_EQ(Error(R"({"kind":"a","concurrency_key":"db","concurrency_limit":0})"),
            "line 1: field 'concurrency_limit' must be 1-100000 (absent: the default)");
  EXPECT_EQ(Error(R"({"kind":"a","concurrency_key":"db","concurrency_limit":100001})"),
            "line 1: field 'concurrency_limit' must be 1-100000 (absent: the default)");
  EXPECT_EQ(Error(R"({"kind":"a","concurrency_limit":-1})"),
            "line 1: field 'concurrency_limit' must be a non-negative integer");
  auto specs = Read(R"({"kind":"a","concurrency_key":"db","concurrency_limit":100000})"
                    "\n"
                    R"({"kind":"a","concurrency_key":"db","concurrency_limit":null})");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  EXPECT_EQ((*specs)[0].concurrency_limit, 100000u);
  EXPECT_EQ((*specs)[1].concurrency_limit, 0u);  // null: absent, the default
}

TEST(JobSpecFromJson, IntegralFloatsCountAsIntegers) {
  auto spec = JobSpecFromJson(json::parse(R"({"kind":"a","timeout_ms":1e3,"priority":2.0})"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->timeout_ms, 1000u);
  EXPECT_EQ(spec->priority, 2);
}

TEST(ValidateJobSpec, AgreesWithTheSubmitCodec) {
  proto::JobSpec spec;
  spec.kind = "exec";
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.priority = 1001;
  Status s = ValidateJobSpec(spec);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'priority' must be in [-1000, 1000]");
  spec.priority = 0;
  spec.params = std::string(1, '\x91') + '\x01';  // an array, not a map
  EXPECT_FALSE(ValidateJobSpec(spec).ok());
}

}  // namespace
}  // namespace sluice
