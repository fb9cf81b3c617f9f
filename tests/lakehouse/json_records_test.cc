#include "pipeline/lakehouse/json_records.h"

#include <gtest/gtest.h>

namespace sluice::lakehouse {
namespace {

TEST(JsonRecords, ColumnsAreTheUnionInOrderOfFirstAppearance) {
  auto r = ParseJsonRecords(R"([{"z":1,"a":2},{"m":3,"z":4},{"A":5}])", RawFormat::kJson, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns, (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->ColumnOf("A"), 1);
  EXPECT_EQ(r->ColumnOf("nope"), -1);
}

TEST(JsonRecords, RecordsPath) {
  auto r = ParseJsonRecords(R"({"meta":{},"data":{"daily":[{"t":1},{"t":2}]}})", RawFormat::kJson, "data.daily");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows.size(), 2u);

  EXPECT_EQ(ParseJsonRecords(R"({"data":{}})", RawFormat::kJson, "data.daily").status().message(),
            "records path 'data.daily': no key 'daily' in 'data'");
  EXPECT_EQ(ParseJsonRecords(R"({"data":[1]})", RawFormat::kJson, "data.daily").status().message(),
            "records path 'data.daily': 'data' is not an object but array");
  EXPECT_EQ(ParseJsonRecords(R"({"data":1})", RawFormat::kJson, "").status().message(),
            "the document is not an array of objects but object (set records = \"<path>\" in sources.toml)");
  EXPECT_EQ(ParseJsonRecords(R"([{"a":1}, 2])", RawFormat::kJson, "").status().message(),
            "record 2: not an object but number");
  EXPECT_EQ(ParseJsonRecords(R"([{"a":1,"A":2}])", RawFormat::kJson, "").status().message(),
            "record 1: keys 'a' and 'A' name the same column (case differs only)");
}

TEST(JsonRecords, SyntaxErrorsHaveLines) {
  auto r = ParseJsonRecords("[\n{\"a\":1},\n{\"a\": tru}\n]", RawFormat::kJson, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().substr(0, 33), "line 3, column 10: invalid JSON: ") << r.status().message();

  r = ParseJsonRecords("{\"a\":1}\n\n  \n{\"a\":2}\n{\"a\":\n", RawFormat::kNdjson, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().substr(0, 32), "line 5, column 6: invalid JSON: ") << r.status().message();

  r = ParseJsonRecords("{\"a\":1}\n[1]\n", RawFormat::kNdjson, "");
  EXPECT_EQ(r.status().message(), "line 2: not an object but array");
}

TEST(JsonRecords, NdjsonSkipsBlankLines) {
  auto r = ParseJsonRecords("{\"a\":1}\r\n\r\n{\"b\":2}", RawFormat::kNdjson, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->rows.size(), 2u);
}

}  // namespace
}  // namespace sluice::lakehouse
