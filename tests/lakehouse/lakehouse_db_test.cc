// OpenLakehouse and whose file it is (schemas/database_owner.h): new files
// are stamped, lakehouses of earlier releases are stamped on first open,
// anything else is refused and left exactly as it was.
#include "pipeline/lakehouse/lakehouse_db.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pipeline/lakehouse/lakehouse_schema.h"
#include "pipeline/lakehouse/raw_loader.h"
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

// A lakehouse of the previous layout (what the loader wrote before
// `_load_id`: the ledger without load_id, raw tables with `_source_file`
// and `_ingest_date` only) gets load ids on its first open, in ledger order
// (the order the files were loaded, not their names), and later loads
// continue after them.
TEST_F(LakehouseDbTest, PreviousLayoutGetsLoadIdsInLedgerOrder) {
  ASSERT_TRUE(files::MakeDb(
      path(),
      "PRAGMA journal_mode=WAL; PRAGMA application_id=1397506885;"
      "CREATE TABLE _sluice_loaded_files (path TEXT PRIMARY KEY, raw_table TEXT NOT NULL, rows INTEGER NOT NULL,"
      " loaded_at TEXT NOT NULL);"
      "CREATE TABLE \"raw_p\" (\"k\" TEXT, \"v\" TEXT, \"_source_file\" TEXT, \"_ingest_date\" TEXT);"
      "CREATE TABLE \"raw_j\" (\"k\", \"_source_file\" TEXT, \"_ingest_date\" TEXT);"
      // loaded first: the name that sorts last
      "INSERT INTO _sluice_loaded_files VALUES ('p/2024/03/f0.csv.gz', 'raw_p', 2, '2024-03-05 06:00:00');"
      "INSERT INTO raw_p VALUES ('a', '22', 'p/2024/03/f0.csv.gz', '2024-03-01'),"
      " ('b', '1', 'p/2024/03/f0.csv.gz', '2024-03-01');"
      "INSERT INTO _sluice_loaded_files VALUES ('j/2024/03/j.json.gz', 'raw_j', 1, '2024-03-05 06:00:00');"
      "INSERT INTO raw_j VALUES (7, 'j/2024/03/j.json.gz', '2024-03-01');"
      "INSERT INTO _sluice_loaded_files VALUES ('p/2024/03/0a.csv.gz', 'raw_p', 1, '2024-03-05 06:00:00');"
      "INSERT INTO raw_p VALUES ('a', '999', 'p/2024/03/0a.csv.gz', '2024-03-01');"
      // a file with no rows: recorded, no table
      "INSERT INTO _sluice_loaded_files VALUES ('e/2024/03/e.csv.gz', 'raw_e', 0, '2024-03-05 06:00:00');"));
  sluice::Database db;
  Status s = OpenLakehouse(db, path());
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto newest = [&db](const std::string& key) {
    return Scalar(db, "SELECT v FROM raw_p WHERE k = '" + key + "' ORDER BY _load_id DESC LIMIT 1");
  };
  EXPECT_EQ(newest("a"), "999");
  EXPECT_EQ(Scalar(db, "SELECT group_concat(path, ',') FROM (SELECT path FROM _sluice_loaded_files ORDER BY load_id)"),
            "p/2024/03/f0.csv.gz,j/2024/03/j.json.gz,p/2024/03/0a.csv.gz,e/2024/03/e.csv.gz");
  const std::string mismatched =
      " AS r LEFT JOIN _sluice_loaded_files AS l ON l.path = r._source_file"
      " WHERE r._load_id IS NULL OR l.load_id IS NOT r._load_id OR typeof(r._load_id) <> 'integer'";
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM raw_p" + mismatched), "0");
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM raw_j" + mismatched), "0");
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM raw_p"), "3");
  EXPECT_EQ(Scalar(db, "PRAGMA integrity_check"), "ok");

  // Opening again changes nothing; the next file loaded comes after them all.
  const std::string ids = Scalar(db, "SELECT group_concat(path || '=' || load_id, ',') FROM _sluice_loaded_files");
  db.Close();
  ASSERT_TRUE(OpenLakehouse(db, path()).ok());
  EXPECT_EQ(Scalar(db, "SELECT group_concat(path || '=' || load_id, ',') FROM _sluice_loaded_files"), ids);
  testing::WriteGzip(dir_.path() + "/landing/p/2024/03/00.csv.gz", "k,v\na,55\n");
  RawSource src;
  src.table = "raw_p";
  src.glob = "p/*.csv.gz";
  auto r = LoadRaw(db, {src}, dir_.path() + "/landing");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->files_loaded, 1);
  EXPECT_EQ(newest("a"), "55");
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM raw_p WHERE _load_id >= (SELECT _load_id FROM raw_p WHERE v = '55')"), "1");
}

// A lakehouse of schema version 1 (load ids, built models, an export, no
// model state): version 2 adds the model state tables and the exports'
// inputs column; its tables, rows and export history stay as they were.
TEST_F(LakehouseDbTest, VersionOneGetsTheModelStateTables) {
  ASSERT_TRUE(files::MakeDb(
      path(),
      "PRAGMA journal_mode=WAL; PRAGMA application_id=1397506885; PRAGMA user_version=1;"
      "CREATE TABLE _sluice_loaded_files (path TEXT PRIMARY KEY, raw_table TEXT NOT NULL, rows INTEGER NOT NULL, "
      "loaded_at TEXT NOT NULL, load_id INTEGER);"
      "CREATE UNIQUE INDEX _sluice_loaded_files_load_id ON _sluice_loaded_files (load_id);"
      "INSERT INTO _sluice_loaded_files VALUES ('p/2024/01/a.csv.gz', 'raw_p', 1, 'x', 1);"
      "CREATE TABLE raw_p (v, _source_file, _ingest_date, _load_id); INSERT INTO raw_p VALUES (7, 'p', 'd', 1);"
      "CREATE TABLE staging_p AS SELECT v FROM raw_p;"
      "CREATE TABLE _sluice_exports (version INTEGER PRIMARY KEY, exported_at TEXT NOT NULL, "
      "tables INTEGER NOT NULL, rows INTEGER NOT NULL);"
      "INSERT INTO _sluice_exports VALUES (4, 'x', 1, 1);"));
  sluice::Database db;
  Status s = OpenLakehouse(db, path());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Scalar(db, "PRAGMA user_version"), std::to_string(LakehouseSchemaVersion()));
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM _sluice_model_builds"), "0");
  EXPECT_EQ(Scalar(db, "SELECT count(*) FROM _sluice_model_intervals"), "0");
  EXPECT_EQ(Scalar(db, "SELECT version || '/' || coalesce(inputs, 'NULL') FROM _sluice_exports"), "4/NULL");
  EXPECT_EQ(Scalar(db, "SELECT v FROM staging_p"), "7");
  EXPECT_EQ(Scalar(db, "SELECT max(load_id) FROM _sluice_loaded_files"), "1");
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
