// `models check`: unknown tables and columns with file and line, raw
// columns from a lakehouse opened read only, and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/models/model_check.h"
#include "tests/models/models_folder.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ModelCheck, UnknownColumnOfAnUpstreamModelWithFileAndLine) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT k, price FROM raw_prices\n");
  f.Write("foundation/foundation_b.sql",
          "MODEL (name foundation_b, kind FULL);\n-- the price\nSELECT a.k,\n       a.pricee AS p\nFROM staging_a AS a\n");
  auto report = CheckModelsFolder(f.dir(), nullptr);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].Text(), "foundation/foundation_b.sql:4: unknown column 'a.pricee' in model foundation_b");
  EXPECT_EQ(report->problems[0].model, "foundation_b");
  EXPECT_EQ(report->raw_inferred, std::vector<std::string>{"raw_prices"});
  EXPECT_EQ(FormatCheckReport(*report),
            "foundation/foundation_b.sql:4: unknown column 'a.pricee' in model foundation_b\n"
            "raw columns not known (inferred from the models, not checked): raw_prices\n"
            "1 problem\n");
}

TEST(ModelCheck, UnknownTableWithFileAndLine) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT p.k\nFROM raw_prices p,\n  raw_nope\n");
  CheckOptions options;
  options.declared_raw_tables = std::set<std::string>{"raw_prices"};
  auto report = CheckModelsFolder(f.dir(), nullptr, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].path, "staging/staging_a.sql");
  EXPECT_EQ(report->problems[0].line, 4);
  EXPECT_EQ(report->problems[0].message, "unknown table 'raw_nope' (not a model, a known raw table or a CTE)");
}

TEST(ModelCheck, RawColumnsComeFromTheLakehouseWhichIsNotWritten) {
  ModelsFolder f;
  const std::string path = (f.dir() / "lake" / "lakehouse.db").string();
  {
    Database db;
    ASSERT_TRUE(lakehouse::OpenLakehouse(db, path).ok());
    ASSERT_TRUE(db.Exec("CREATE TABLE raw_prices (\"k\", \"price\", \"_source_file\", \"_ingest_date\", \"_load_id\" INTEGER)").ok());
  }
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind FULL);\nWITH t AS (\n  SELECT k, prize AS price FROM raw_prices\n)\nSELECT * FROM t\n");
  f.Write("staging/staging_b.sql", "MODEL (name staging_b, kind FULL);\nSELECT k, price, _load_id FROM raw_prices\n");
  const std::string before = Read(path);
  const auto mtime = std::filesystem::last_write_time(path);
  Database db;
  ASSERT_TRUE(lakehouse::OpenLakehouseReadOnly(db, path).ok());
  auto report = CheckModelsFolder(f.dir(), &db);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].Text(), "staging/staging_a.sql:3: unknown column 'prize' in model staging_a");
  EXPECT_TRUE(report->raw_inferred.empty());
  db.Close();
  EXPECT_EQ(Read(path), before);
  EXPECT_EQ(std::filesystem::last_write_time(path), mtime);
}

TEST(ModelCheck, TheDefaultModelsAreClean) {
  auto report = CheckModelsFolder(std::filesystem::path(SLUICE_SOURCE_DIR) / "pipeline/default/models", nullptr);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->problems.empty()) << FormatCheckReport(*report);
  EXPECT_EQ(report->models, 13);
}

}  // namespace
}  // namespace sluice::models
