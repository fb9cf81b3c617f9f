// Integers and booleans in a built-in kind's params, given as themselves or
// as a string holding one in its strict form ("1500", "-3", "true").
#include "workers/param_scalars.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "workers/job_params.h"

namespace sluice::worker {
namespace {

// The params `json_text` as a worker decodes them.
class Params {
 public:
  explicit Params(const std::string& json_text) {
    auto bytes = nlohmann::json::to_msgpack(nlohmann::json::parse(json_text));
    raw_.assign(bytes.begin(), bytes.end());
    EXPECT_TRUE(view_.Parse(raw_).ok());
  }
  proto::MapReader Reader() const { return proto::MapReader(view_.map(), "p params"); }

 private:
  std::string raw_;
  ParamsView view_;
};

TEST(ParamScalars, UintFromANumberOrADigitString) {
  for (const char* text : {R"({"ms": 1500})", R"({"ms": "1500"})"}) {
    Params p(text);
    auto r = p.Reader();
    std::uint64_t ms = 0;
    ReadParamUint(r, "ms", &ms, /*required=*/true);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_EQ(ms, 1500u) << text;
  }
  Params zero(R"({"ms": "0"})");
  auto r = zero.Reader();
  std::uint64_t ms = 7;
  ReadParamUint(r, "ms", &ms, true);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(ms, 0u);
}

TEST(ParamScalars, UintRefusesLooseText) {
  for (const char* text :
       {R"({"ms": "15ab"})", R"({"ms": ""})", R"({"ms": " 15"})", R"({"ms": "15 "})", R"({"ms": "+15"})",
        R"({"ms": "-1"})", R"({"ms": "1.5"})", R"({"ms": "0x10"})", R"({"ms": "18446744073709551616"})",
        R"({"ms": -1})", R"({"ms": true})"}) {
    Params p(text);
    auto r = p.Reader();
    std::uint64_t ms = 42;
    ReadParamUint(r, "ms", &ms, true);
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find("'ms'"), std::string::npos) << r.status().message();
    EXPECT_EQ(ms, 42u) << text;
  }
}

TEST(ParamScalars, UintLimitAppliesToText) {
  Params p(R"({"n": "11"})");
  auto r = p.Reader();
  std::uint64_t n = 0;
  ReadParamUint(r, "n", &n, true, /*max=*/10);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at most 10"), std::string::npos) << r.status().message();
}

TEST(ParamScalars, AbsentIsAnErrorOnlyWhenRequired) {
  Params p("{}");
  auto optional = p.Reader();
  std::uint64_t n = 5;
  ReadParamUint(optional, "n", &n, false);
  EXPECT_TRUE(optional.ok());
  EXPECT_EQ(n, 5u);
  auto required = p.Reader();
  ReadParamUint(required, "n", &n, true);
  EXPECT_FALSE(required.ok());
}

TEST(ParamScalars, IntFromANumberOrASignedDigitString) {
  for (const auto& [text, want] : {std::pair{R"({"k": -3})", -3}, {R"({"k": "-3"})", -3},
                                   {R"({"k": "3"})", 3}, {R"({"k": 3})", 3}}) {
    Params p(text);
    auto r = p.Reader();
    std::int64_t k = 0;
    ReadParamInt(r, "k", &k, true, INT64_MIN, INT64_MAX);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_EQ(k, want) << text;
  }
  for (const char* text : {R"({"k": "-"})", R"({"k": "3-"})", R"({"k": "--3"})", R"({"k": "+3"})",
                           R"({"k": "3e2"})", R"({"k": "9223372036854775808"})"}) {
    Params p(text);
    auto r = p.Reader();
    std::int64_t k = 0;
    ReadParamInt(r, "k", &k, true, INT64_MIN, INT64_MAX);
    EXPECT_FALSE(r.ok()) << text;
  }
  Params out_of_range(R"({"k": "-5"})");
  auto r = out_of_range.Reader();
  std::int64_t k = 0;
  ReadParamInt(r, "k", &k, true, 0, 10);
  EXPECT_FALSE(r.ok());
}

TEST(ParamScalars, BoolFromABooleanOrTrueFalseText) {
  for (const auto& [text, want] : {std::pair{R"({"load": true})", true}, {R"({"load": "true"})", true},
                                   {R"({"load": false})", false}, {R"({"load": "false"})", false}}) {
    Params p(text);
    auto r = p.Reader();
    bool load = !want;
    ReadParamBool(r, "load", &load, true);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_EQ(load, want) << text;
  }
  for (const char* text : {R"({"load": "True"})", R"({"load": "1"})", R"({"load": "yes"})",
                           R"({"load": ""})", R"({"load": 1})"}) {
    Params p(text);
    auto r = p.Reader();
    bool load = true;
    ReadParamBool(r, "load", &load, true);
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find("'load'"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace sluice::worker
