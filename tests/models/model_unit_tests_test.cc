// Model unit tests (*.test.toml): fixtures in, expected rows out.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "pipeline/models/model_tests.h"
#include "tests/models/models_folder.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;

void WriteModels(const ModelsFolder& f) {
  f.Write("foundation/foundation_fct_prices.sql",
          "MODEL (name foundation_fct_prices, kind INCREMENTAL_BY_TIME_RANGE (time_column price_date));\n"
          "SELECT commodity_code, price_date, price FROM staging_prices\n"
          "WHERE price_date BETWEEN @start_ds AND @end_ds");
  f.Write("staging/staging_prices.sql",
          "MODEL (name staging_prices, kind VIEW);\nSELECT * FROM raw_prices");
  f.Write("serving/serving_monthly_prices.sql",
          "MODEL (name serving_monthly_prices, kind FULL, grain (commodity_code, month));\n"
          "SELECT commodity_code, substr(price_date, 1, 7) AS month, avg(price) AS avg_price, count(*) AS n\n"
          "FROM foundation_fct_prices GROUP BY 1, 2 ORDER BY 1, 2");
}

const char* kPassing = R"toml(
[[test]]
name = "monthly average"
model = "serving_monthly_prices"
[test.inputs.foundation_fct_prices]
rows = [
  { commodity_code = "0711100", price_date = "2024-01-02", price = 1.5 },
  { commodity_code = "0711100", price_date = 2024-01-03, price = 2 },
  { commodity_code = "0901210", price_date = "2024-02-01", price = 0.1 },
  { commodity_code = "0901210", price_date = "2024-02-02", price = 0.2 },
]
[test.expect]
# avg 0.15000000000000002 in floating point, 1.75 from 1.5 and integer 2; n is ignored
rows = [
  { commodity_code = "0901210", month = "2024-02", avg_price = 0.15 },
  { commodity_code = "0711100", month = "2024-01", avg_price = 1.75 },
]

[[test]]
name = "interval filter"
model = "foundation_fct_prices"
start_ds = "2024-01-02"
end_ds = "2024-01-02"
[test.inputs.staging_prices]
rows = [
  { commodity_code = "a", price_date = "2024-01-01", price = 1 },
  { commodity_code = "a", price_date = "2024-01-02", price = 2.0 },
  { commodity_code = "b", price_date = "2024-01-02" },
]
[test.expect]
ordered = true
rows = [ { commodity_code = "a", price = 2 }, { commodity_code = "b" } ]
)toml";

TEST(ModelUnitTests, PassingTests) {
  ModelsFolder f;
  WriteModels(f);
  f.Write("serving/serving_monthly_prices.test.toml", kPassing);
  auto report = RunModelTests(f.dir());
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->run, 2);
  EXPECT_EQ(report->failed, 0) << FormatModelTestReport(*report);
  EXPECT_EQ(report->passed, 2);
  EXPECT_EQ(FormatModelTestReport(*report),
            "PASS serving/serving_monthly_prices.test.toml: monthly average (serving_monthly_prices)\n"
            "PASS serving/serving_monthly_prices.test.toml: interval filter (foundation_fct_prices)\n"
            "2 tests, 2 passed, 0 failed\n");
}

// The README's `sluice models test pipeline/default/models`: a folder given
// relative to the working directory (its test files were once looked for
// under the folder twice: "File could not be opened").
TEST(ModelUnitTests, AFolderRelativeToTheWorkingDirectory) {
  ModelsFolder f;
  WriteModels(f);
  f.Write("serving/serving_monthly_prices.test.toml", kPassing);
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(f.dir().parent_path());
  auto report = RunModelTests(f.dir().filename() / ".");
  auto plain = RunModelTests(f.dir().filename());
  std::filesystem::current_path(before);
  for (const auto* r : {&report, &plain}) {
    ASSERT_TRUE(r->ok()) << r->status().message();
    EXPECT_EQ((*r)->failed, 0) << FormatModelTestReport(**r);
    EXPECT_EQ((*r)->passed, 2) << FormatModelTestReport(**r);
    ASSERT_EQ((*r)->cases.size(), 2u);
    EXPECT_EQ((*r)->cases[0].file, "serving/serving_monthly_prices.test.toml");
  }
}

TEST(ModelUnitTests, WrongExpectationFailsWithADiff) {
  ModelsFolder f;
  WriteModels(f);
  f.Write("tests/monthly.test.toml", R"toml(
[[test]]
name = "wrong average"
model = "serving_monthly_prices"
[test.inputs.foundation_fct_prices]
rows = [ { commodity_code = "0711100", price_date = "2024-01-02", price = 1.5 },
         { commodity_code = "0711100", price_date = "2024-01-03", price = 2.5 } ]
[test.expect]
rows = [ { commodity_code = "0711100", month = "2024-01", avg_price = 2.5 } ]

[[test]]
name = "right count"
model = "serving_monthly_prices"
[test.inputs.foundation_fct_prices]
rows = [ { commodity_code = "x", price_date = "2024-01-02", price = 1.5 } ]
[test.expect]
rows = [ { n = 1 } ]
)toml");
  auto report = RunModelTests(f.dir());
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->run, 2);
  EXPECT_EQ(report->passed, 1);
  EXPECT_EQ(report->failed, 1);
  ASSERT_EQ(report->messages.size(), 1u);
  EXPECT_EQ(report->messages[0],
            "FAIL tests/monthly.test.toml: wrong average (serving_monthly_prices)\n"
            "  expected 1 rows, got 1\n"
            "  missing rows (expected, not returned):\n"
            "    {commodity_code = \"0711100\", month = \"2024-01\", avg_price = 2.5}\n"
            "  unexpected rows (returned, not expected):\n"
            "    {commodity_code = \"0711100\", month = \"2024-01\", avg_price = 2.0}");
}

TEST(ModelUnitTests, OrderedComparisonAndTypes) {
  ModelsFolder f;
  WriteModels(f);
  f.Write("a.test.toml", R"toml(
[[test]]
name = "order matters"
model = "serving_monthly_prices"
[test.inputs.foundation_fct_prices]
rows = [ { commodity_code = "a", price_date = "2024-01-02", price = 1 },
         { commodity_code = "b", price_date = "2024-01-02", price = 1 } ]
[test.expect]
ordered = true
rows = [ { commodity_code = "b" }, { commodity_code = "a" } ]

[[test]]
name = "text is not a number"
model = "serving_monthly_prices"
[test.inputs.foundation_fct_prices]
rows = [ { commodity_code = "a", price_date = "2024-01-02", price = 1 } ]
[test.expect]
rows = [ { commodity_code = "a", avg_price = "1.0" } ]
)toml");
  auto report = RunModelTests(f.dir());
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->failed, 2);
  ASSERT_EQ(report->messages.size(), 2u);
  EXPECT_NE(report->messages[0].find("row 1: expected {commodity_code = \"b\"}\n"
                                     "              got {commodity_code = \"a\"}"),
            std::string::npos)
      << report->messages[0];
  EXPECT_NE(report->messages[1].find("unexpected rows (returned, not expected):\n"
                                     "    {commodity_code = \"a\", avg_price = 1.0}"),
            std::string::npos)
      << report->messages[1];
}

TEST(ModelUnitTests, BadTestFilesAreReportedAsFailures) {
  ModelsFolder f;
  WriteModels(f);
  f.Write("a.test.toml", "[[test]\nname = ");
  f.Write("b.test.toml", R"toml(
[[test]]
name = "no such model"
model = "serving_nope"
[test.expect]
rows = []

[[test]]
name = "missing input"
model = "serving_monthly_prices"
[test.expect]
rows = []

[[test]]
name = "no such column"
model = "serving_monthly_prices"
[test.inputs.foundation_fct_prices]
columns = ["commodity_code", "price_date", "price"]
rows = []
[test.expect]
rows = [ { colour = "red" } ]
)toml");
  auto report = RunModelTests(f.dir());
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->run, 4);
  EXPECT_EQ(report->failed, 4);
  const std::string text = FormatModelTestReport(*report);
  EXPECT_NE(text.find("FAIL a.test.toml: line 1"), std::string::npos) << text;
  EXPECT_NE(text.find("b.test.toml:2: no model named 'serving_nope' in the folder"), std::string::npos) << text;
  EXPECT_NE(text.find("the model reads foundation_fct_prices: give it as [test.inputs.foundation_fct_prices] rows"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("the output has no column 'colour' (it has: commodity_code, month, avg_price, n)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("4 tests, 0 passed, 4 failed"), std::string::npos) << text;
}

TEST(ModelUnitTests, BrokenModelsFailTheWholeRun) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT * FROM nowhere");
  auto report = RunModelTests(f.dir());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("unknown table 'nowhere'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::models
