// OpenLakehouse and whose file it is (schemas/database_owner.h): new files
// are stamped, lakehouses of earlier releases are stamped on first open,
// anything else is refused and left exactly as it was.
#include "pipeline/lakehouse/lakehouse_db.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "schemas/database_owner.h"
#include "tests/lakehouse/lake_fixture.h"
#include "tests/schemas/db_files.h"

namespace sluice::lakehouse {
namespace {

namespace files = sluice::testing;
using testing::Scalar;

class LakehouseDbTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/lake/lakehouse.sqlite"; }
  testing::TempDir dir_;
};

TEST_F(LakehouseDbTest, NewLakehouseIsStamped) {
  sluice::Database db;
  Status s = OpenLakehouse(db, path());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Scalar(db, "PRAGMA application_id"), std::to_string(kApplicationId));
  db.Close();
  s = OpenLakehouse(db, path());
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// Every lakehouse written before the stamp: the load ledger, no id.
TEST_F(LakehouseDbTest, LakehouseOfAnEarlierReleaseIsStampedAndKept) {
  ASSERT_TRUE(files::MakeDb(path(),
                            "PRAGMA journal_mode=WAL;"
                            "CREATE TABLE _sluice_loaded_files (path TEXT PRIMARY KEY, raw_table TEXT, "
                            "rows INTEGER, loaded_at TEXT);"
                            "INSERT INTO _sluice_loaded_files VALUES ('a.csv.gz', 'raw_a', 2, 'x');"
                            "CREATE TABLE raw_a (v); INSERT INTO raw_a VALUES (1), (2);"));
  sluice::Database db;
  Status s = OpenLakehouse(db, path());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Scalar(db, "PRAGMA application_id"), std::to_string(kApplicationId));
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM raw_a"), "2");
}

TEST_F(LakehouseDbTest, ExportCounterAloneMarksAnEarlierLakehouseToo) {
  ASSERT_TRUE(files::MakeDb(path(),
                            "CREATE TABLE _sluice_exports (version INTEGER PRIMARY KEY, exported_at TEXT, "
                            "tables INTEGER, rows INTEGER); CREATE TABLE serving_x (v);"));
  sluice::Database db;
  Status s = OpenLakehouse(db, path());
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST_F(LakehouseDbTest, RefusesForeignCorruptTruncatedAndRandomFilesWithoutChangingThem) {
  auto expect_refused = [&](const std::string& what, const std::string& why) {
    const files::FileSnapshot before = files::Snapshot(path());
    sluice::Database db;
    Status s = OpenLakehouse(db, path());
    EXPECT_FALSE(s.ok()) << what;
    EXPECT_EQ(s.code(), Code::kCorruption) << what;
    EXPECT_NE(s.message().find(path()), std::string::npos) << what << ": " << s.message();
    EXPECT_NE(s.message().find(why), std::string::npos) << what << ": " << s.message();
    db.Close();
    EXPECT_TRUE(files::Snapshot(path()) == before) << what << ": the refused file changed";
    EXPECT_FALSE(std::filesystem::exists(path() + "-wal")) << what;
  };
  ASSERT_TRUE(files::MakeForeignDb(path()));
  expect_refused("foreign", "is not a sluice lakehouse");
  std::filesystem::remove(path());
  ASSERT_TRUE(files::MakeDb(path(), "CREATE TABLE _sluice_loaded_files (p); PRAGMA application_id=7"));
  expect_refused("another id", "belongs to another application");
  std::filesystem::remove(path());
  ASSERT_TRUE(files::MakeDb(path(), "CREATE TABLE _sluice_loaded_files (p);"
                                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500)"
                                    " INSERT INTO _sluice_loaded_files SELECT randomblob(300) FROM n"));
  files::Truncate(path(), 2 * 4096);
  expect_refused("truncated", "truncated");
  files::Scribble(path(), 100, 300);
  expect_refused("corrupt", "refusing");
  files::WriteRandomBytes(path(), 10000);
  expect_refused("random", "not a SQLite database");
}

}  // namespace
}  // namespace sluice::lakehouse
