#include "producers/param_flags.h"

#include <gtest/gtest.h>

#include "producers/job_spec.h"

namespace sluice {
namespace {

using json = nlohmann::json;

TEST(ParamsFromFlags, ParamGivesStringsEvenWhenTheyLookLikeNumbers) {
  auto p = ParamsFromFlags({"url=https://x/a?b=c", "n=5", "empty="}, {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (json{{"url", "https://x/a?b=c"}, {"n", "5"}, {"empty", ""}}));
}

TEST(ParamsFromFlags, ParamJsonGivesAnyJsonValue) {
  auto p = ParamsFromFlags({}, {"n=5", "ratio=0.25", "on=true", "none=null", "s=\"text\"",
                                "list=[1,\"two\",3]", "headers={\"Accept\":\"text/csv\"}"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)["n"], json(5));
  EXPECT_TRUE((*p)["n"].is_number_integer());
  EXPECT_EQ((*p)["ratio"], json(0.25));
  EXPECT_EQ((*p)["on"], json(true));
  EXPECT_TRUE((*p)["none"].is_null());
  EXPECT_EQ((*p)["s"], json("text"));
  EXPECT_EQ((*p)["list"], json::parse(R"([1,"two",3])"));
  EXPECT_EQ((*p)["headers"], json::parse(R"({"Accept":"text/csv"})"));
}

TEST(ParamsFromFlags, BothFlagsTogetherBuildOneMap) {
  auto p = ParamsFromFlags({"a=x"}, {"b=[1]"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (json{{"a", "x"}, {"b", {1}}}));
}

TEST(ParamsFromFlags, SplitsAtTheFirstEquals) {
  auto p = ParamsFromFlags({"q=a=b"}, {"m={\"k\":\"v=w\"}"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["q"], "a=b");
  EXPECT_EQ((*p)["m"]["k"], "v=w");
}

TEST(ParamsFromFlags, BadSyntaxIsAnInvalidArgumentNamingTheFlag) {
  struct Case {
    std::vector<std::string> params, jsons;
    const char* names;
  };
  for (const Case& c : {Case{{"novalue"}, {}, "--param 'novalue'"},
                        Case{{"=v"}, {}, "--param '=v'"},
                        Case{{}, {"k"}, "--param-json 'k'"},
                        Case{{}, {"k={"}, "--param-json 'k={'"},
                        Case{{}, {"k=not json"}, "--param-json 'k=not json'"},
                        Case{{}, {"k=1 2"}, "--param-json 'k=1 2'"},
                        Case{{}, {"k="}, "--param-json 'k='"}}) {
    auto p = ParamsFromFlags(c.params, c.jsons);
    ASSERT_FALSE(p.ok()) << c.names;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.names), std::string::npos) << p.status().message();
  }
}

TEST(ParamsFromFlags, AKeyGivenTwiceIsRefused) {
  EXPECT_FALSE(ParamsFromFlags({"a=1", "a=2"}, {}).ok());
  auto p = ParamsFromFlags({"a=1"}, {"a=2"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("'a' is given twice"), std::string::npos);
}

TEST(ParamsToMsgpack, EncodesTheObjectAsAMsgpackMap) {
  auto p = ParamsFromFlags({"a=x"}, {"n=7", "h={\"k\":[1,2]}"});
  ASSERT_TRUE(p.ok());
  auto packed = ParamsToMsgpack(*p);
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(json::from_msgpack(*packed), *p);
  EXPECT_EQ(*ParamsToMsgpack(json::object()), proto::kEmptyMap);
  EXPECT_FALSE(ParamsToMsgpack(json::array()).ok());
}

}  // namespace
}  // namespace sluice
