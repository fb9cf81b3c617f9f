#include "pipeline/lakehouse/raw_source.h"

#include <gtest/gtest.h>

#include "tests/lakehouse/lake_fixture.h"

namespace sluice::lakehouse {
namespace {

std::string ErrorOf(const std::string& text) {
  auto r = ParseSources(text, "models/sources.toml");
  return r.ok() ? "<ok>" : r.status().message();
}

TEST(ReadSources, ParsesEntries) {
  auto r = ParseSources(R"(
[[raw]]
table = "raw_usda_psd"
glob = "usda_psd/*.csv.gz"
format = "csv"

[[raw]]
table = "raw_weather"
glob = "weather/**/*.json.gz"
format = "json"
records = "data.daily"

[[raw]]
table = "raw_events_2"
glob = "events/*.ndjson.gz"
format = "ndjson"
)",
                        "sources.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].table, "raw_usda_psd");
  EXPECT_EQ((*r)[0].glob, "usda_psd/*.csv.gz");
  EXPECT_EQ((*r)[0].format, RawFormat::kCsv);
  EXPECT_EQ((*r)[0].line, 2);
  EXPECT_EQ((*r)[1].format, RawFormat::kJson);
  EXPECT_EQ((*r)[1].records, "data.daily");
  EXPECT_EQ((*r)[2].format, RawFormat::kNdjson);
  EXPECT_EQ((*r)[2].records, "");
}

TEST(ReadSources, ErrorsNameFileAndLine) {
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"raw_a\"\nglob = \"a/*\"\nformat = \"xml\"\n"),
            "models/sources.toml:4: unknown format 'xml' (expected csv, json or ndjson)");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"usda\"\nglob = \"a/*\"\nformat = \"csv\"\n"),
            "models/sources.toml:2: bad table name 'usda': it must be \"raw_\" then [a-z0-9_], at most 64 bytes");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"raw_A-b\"\nglob = \"a/*\"\nformat = \"csv\"\n").substr(0, 24),
            "models/sources.toml:2: b");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"raw_a\"\nglob = \"a/*\"\nformat = \"csv\"\n\n"
                    "[[raw]]\ntable = \"raw_a\"\nglob = \"b/*\"\nformat = \"csv\"\n"),
            "models/sources.toml:6: duplicate table 'raw_a' (first declared on line 1)");
  EXPECT_EQ(ErrorOf("\n[[raw]]\ntable = \"raw_a\"\nformat = \"csv\"\n"),
            "models/sources.toml:2: [[raw]] without 'glob'");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"raw_a\"\nglob = \"a/*\"\nformat = \"csv\"\nschema = \"x\"\n"),
            "models/sources.toml:5: unknown key 'schema' in [[raw]] (known: table, glob, format, records)");
  EXPECT_EQ(ErrorOf("title = \"x\"\n"), "models/sources.toml:1: unknown key 'title' (expected [[raw]] entries or [project])");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"raw_a\"\nglob = \"a/*\"\nformat = \"csv\"\nrecords = \"x\"\n"),
            "models/sources.toml:5: 'records' applies to format = \"json\" only");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = 3\n"), "models/sources.toml:2: 'table' must be a string");
  EXPECT_EQ(ErrorOf("[[raw]]\ntable = \"raw_a\"\nglob = \"../etc/*\"\nformat = \"csv\"\n").substr(0, 33),
            "models/sources.toml:3: bad glob '");
  EXPECT_EQ(ErrorOf("raw = 1\n"), "models/sources.toml:1: 'raw' must be an array of tables ([[raw]])");
  // A TOML syntax error carries toml++'s line.
  std::string syntax = ErrorOf("[[raw]]\ntable = \"raw_a\"\nglob = \n");
  EXPECT_EQ(syntax.substr(0, 22), "models/sources.toml:3:") << syntax;
}

TEST(ReadSources, ReadsAFileAndReportsAMissingOne) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/sources.toml",
                     "[[raw]]\ntable = \"raw_a\"\nglob = \"a/*.csv.gz\"\nformat = \"csv\"\n");
  auto r = ReadSources(dir.path() + "/sources.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 1u);
  auto missing = ReadSources(dir.path() + "/nope.toml");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace sluice::lakehouse
