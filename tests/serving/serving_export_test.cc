#include "pipeline/serving/serving_export.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "pipeline/serving/serving_reader.h"
#include "schemas/database_owner.h"
#include "tests/integration/temp_dir.h"
#include "tests/schemas/db_files.h"

namespace sluice::serving {
namespace {

namespace fs = std::filesystem;

std::int64_t Int(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << sql;
  if (!st.ok()) return -1;
  EXPECT_EQ(st->Step(), SQLITE_ROW) << sql << ": " << st->error();
  return st->Int(0);
}

std::string Text(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << sql;
  if (!st.ok() || st->Step() != SQLITE_ROW) return "<none>";
  return std::string(st->Text(0));
}

class ServingExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lake_.Open(dir_.File("lakehouse.sqlite")).ok());
    ASSERT_TRUE(lake_.Exec("PRAGMA journal_mode=WAL;"
                           "CREATE TABLE raw_x (a);"
                           "CREATE TABLE staging_x (a);"
                           "CREATE TABLE serving_prices (day TEXT, price REAL);"
                           "INSERT INTO serving_prices VALUES ('2024-01-01', 1.5), ('2024-01-02', 2.5);"
                           "CREATE TABLE serving_empty (k TEXT);"
                           "CREATE VIEW serving_latest AS SELECT * FROM serving_prices "
                           "ORDER BY day DESC LIMIT 1;")
                    .ok());
  }
  std::string serving() const { return dir_.File("out/analytics.sqlite"); }
  std::vector<std::string> FilesInOut() const {
    std::vector<std::string> names;
    for (auto& e : fs::directory_iterator(dir_.File("out"))) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  testing::TempDir dir_{"sluice-serving"};
  Database lake_;
};

TEST_F(ServingExportTest, CopiesOnlyServingTablesIntoARollbackJournalFile) {
  auto r = ExportServing(lake_, serving());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 1);
  ASSERT_EQ(r->tables.size(), 3u);
  EXPECT_EQ(r->tables[0].name, "serving_empty");
  EXPECT_EQ(r->tables[1].name, "serving_latest");
  EXPECT_EQ(r->tables[1].rows, 1);
  EXPECT_EQ(r->tables[2].name, "serving_prices");
  EXPECT_EQ(r->rows, 3);
  EXPECT_GT(r->bytes, 0);

  Database out;
  ASSERT_TRUE(out.Open(serving(), /*read_only=*/true).ok());
  EXPECT_EQ(Text(out, "PRAGMA journal_mode"), "delete");
  EXPECT_EQ(Int(out, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 4);
  EXPECT_EQ(Int(out, "SELECT count(*) FROM sqlite_master WHERE name IN ('raw_x', 'staging_x')"), 0);
  EXPECT_EQ(Text(out, "SELECT type FROM sqlite_master WHERE name = 'serving_latest'"), "table");
  EXPECT_EQ(Text(out, "SELECT group_concat(day || '=' || price, ';') FROM "
                      "(SELECT * FROM serving_prices ORDER BY day)"),
            "2024-01-01=1.5;2024-01-02=2.5");
  EXPECT_EQ(Int(out, "SELECT version FROM _sluice_export"), 1);
  EXPECT_EQ(Int(out, "SELECT rows FROM _sluice_export"), 3);
  // Nothing but the database itself is left in the folder.
  EXPECT_EQ(FilesInOut(), std::vector<std::string>{"analytics.sqlite"});
}

TEST_F(ServingExportTest, VersionsGrowAndEachExportIsANewFile) {
  ASSERT_TRUE(ExportServing(lake_, serving()).ok());
  struct stat first {};
  ASSERT_EQ(::stat(serving().c_str(), &first), 0);
  ASSERT_TRUE(lake_.Exec("INSERT INTO serving_prices VALUES ('2024-01-03', 3.5)").ok());
  auto r = ExportServing(lake_, serving());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 2);
  struct stat second {};
  ASSERT_EQ(::stat(serving().c_str(), &second), 0);
  EXPECT_NE(first.st_ino, second.st_ino);
  Database out;
  ASSERT_TRUE(out.Open(serving(), true).ok());
  EXPECT_EQ(Int(out, "SELECT count(*) FROM serving_prices"), 3);
  EXPECT_EQ(Int(out, "SELECT version FROM _sluice_export"), 2);
  EXPECT_EQ(Int(lake_, "SELECT max(version) FROM _sluice_exports"), 2);
}

// Serving tables that models built (their versions in _sluice_model_builds,
// as pipeline/models/model_state.h writes them) publish only when one of
// them was built again.
TEST_F(ServingExportTest, PublishesOnlyWhenAServingTableChanged) {
  ASSERT_TRUE(lake_.Exec("CREATE TABLE _sluice_model_builds (model TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                         "fingerprint TEXT NOT NULL, version INTEGER NOT NULL, built_at TEXT NOT NULL, "
                         "inputs TEXT NOT NULL);"
                         "INSERT INTO _sluice_model_builds VALUES ('serving_prices', 'FULL', 'f', 1, 'now', '{}'),"
                         " ('serving_empty', 'FULL', 'f', 2, 'now', '{}')")
                  .ok());
  auto first = ExportServing(lake_, serving());
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->published);
  struct stat before {};
  ASSERT_EQ(::stat(serving().c_str(), &before), 0);

  auto again = ExportServing(lake_, serving());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->published);
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(again->rows, 3);
  EXPECT_EQ(again->reason, "no serving table changed since export 1");
  struct stat after {};
  ASSERT_EQ(::stat(serving().c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(Int(lake_, "SELECT count(*) FROM _sluice_exports"), 1);

  // force publishes anyway.
  auto forced = ExportServing(lake_, serving(), {}, /*force=*/true);
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->published);
  EXPECT_EQ(forced->version, 2);

  // A serving table built again: a new export.
  ASSERT_TRUE(lake_.Exec("UPDATE _sluice_model_builds SET version = 3 WHERE model = 'serving_empty'").ok());
  auto rebuilt = ExportServing(lake_, serving());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_TRUE(rebuilt->published);
  EXPECT_EQ(rebuilt->version, 3);
  EXPECT_FALSE(ExportServing(lake_, serving())->published);

  // The file gone (or replaced by another export): published again.
  fs::remove(serving());
  auto restored = ExportServing(lake_, serving());
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->published);
  EXPECT_TRUE(fs::exists(serving()));

  // A serving table no model built: its changes cannot be known, every export publishes.
  ASSERT_TRUE(lake_.Exec("CREATE TABLE serving_by_hand (k TEXT)").ok());
  EXPECT_TRUE(ExportServing(lake_, serving())->published);
  EXPECT_TRUE(ExportServing(lake_, serving())->published);
}

TEST_F(ServingExportTest, FailureLeavesTheOldFileAndNoTempFiles) {
  ASSERT_TRUE(ExportServing(lake_, serving()).ok());
  // A serving view that cannot be read fails the export half-way.
  ASSERT_TRUE(lake_.Exec("CREATE TABLE gone (a); CREATE VIEW serving_zbroken AS SELECT a FROM gone;"
                         "DROP TABLE gone;")
                  .ok());
  auto r = ExportServing(lake_, serving());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("serving_zbroken"), std::string::npos) << r.status().message();
  EXPECT_EQ(FilesInOut(), std::vector<std::string>{"analytics.sqlite"});
  Database out;
  ASSERT_TRUE(out.Open(serving(), true).ok());
  EXPECT_EQ(Int(out, "SELECT version FROM _sluice_export"), 1);
  // The lakehouse connection is usable again (no transaction, nothing attached).
  EXPECT_EQ(Int(lake_, "SELECT count(*) FROM pragma_database_list WHERE name = 'out'"), 0);
  ASSERT_TRUE(lake_.Exec("DROP VIEW serving_zbroken").ok());
  auto again = ExportServing(lake_, serving());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->version, 2);
}

TEST_F(ServingExportTest, NoServingTablesIsAnErrorAndWritesNothing) {
  ASSERT_TRUE(lake_.Exec("DROP VIEW serving_latest; DROP TABLE serving_prices; DROP TABLE serving_empty")
                  .ok());
  auto r = ExportServing(lake_, serving());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no serving_ tables"), std::string::npos);
  EXPECT_FALSE(fs::exists(serving()));
}

TEST_F(ServingExportTest, TempFilesOfACrashedExportAreSwept) {
  fs::create_directories(dir_.File("out"));
  { std::ofstream(dir_.File("out/analytics.sqlite.tmp-999-0")) << "half"; }
  { std::ofstream(dir_.File("out/analytics.sqlite.tmp-999-0-journal")) << "half"; }
  { std::ofstream(dir_.File("out/other.sqlite")) << "keep"; }
  ASSERT_TRUE(ExportServing(lake_, serving()).ok());
  EXPECT_EQ(FilesInOut(), (std::vector<std::string>{"analytics.sqlite", "other.sqlite"}));
}

TEST_F(ServingExportTest, ReaderReopensWhenTheFileIsReplaced) {
  ServingReader reader(serving());
  EXPECT_FALSE(reader.Get().ok());  // nothing exported yet
  ASSERT_TRUE(ExportServing(lake_, serving()).ok());
  auto db = reader.Get();
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ(Int(**db, "SELECT version FROM _sluice_export"), 1);
  EXPECT_EQ(reader.opens(), 1u);
  // Unchanged file: same connection.
  auto same = reader.Get();
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *db);
  EXPECT_EQ(reader.opens(), 1u);

  // A statement prepared on the old file keeps reading the old file.
  auto old_stmt = (*db)->Prepare("SELECT count(*) FROM serving_prices");
  ASSERT_TRUE(old_stmt.ok());
  ASSERT_TRUE(lake_.Exec("INSERT INTO serving_prices VALUES ('2024-01-03', 3.5)").ok());
  ASSERT_TRUE(ExportServing(lake_, serving()).ok());
  ASSERT_EQ(old_stmt->Step(), SQLITE_ROW);
  EXPECT_EQ(old_stmt->Int(0), 2);
  old_stmt = Statement();

  auto next = reader.Get();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(reader.opens(), 2u);
  EXPECT_EQ(Int(**next, "SELECT version FROM _sluice_export"), 2);
  EXPECT_EQ(Int(**next, "SELECT count(*) FROM serving_prices"), 3);

  // The file vanishing keeps the open connection working.
  fs::remove(serving());
  auto kept = reader.Get();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(Int(**kept, "SELECT version FROM _sluice_export"), 2);
}

TEST_F(ServingExportTest, ReaderRefusesAFileThatIsNotADatabase) {
  fs::create_directories(dir_.File("out"));
  { std::ofstream(serving()) << "this is not a database, just some text that is long enough......"; }
  ServingReader reader(serving());
  auto db = reader.Get();
  EXPECT_FALSE(db.ok());
}

// Whose files (schemas/database_owner.h).
TEST_F(ServingExportTest, ExportedFileIsStamped) {
  ASSERT_TRUE(ExportServing(lake_, serving()).ok());
  Database out;
  ASSERT_TRUE(out.Open(serving(), true).ok());
  EXPECT_EQ(Int(out, "PRAGMA application_id"), kApplicationId);
}

// Defect: any file at the serving path was replaced. Another application's
// database (or any other file) there is refused before anything is written.
TEST_F(ServingExportTest, RefusesToReplaceAFileThatIsNotSluices) {
  auto expect_refused = [&](const std::string& what, const std::string& why) {
    const testing::FileSnapshot before = testing::Snapshot(serving());
    auto r = ExportServing(lake_, serving());
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << what;
    EXPECT_NE(r.status().message().find(serving()), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << what << ": " << r.status().message();
    EXPECT_TRUE(testing::Snapshot(serving()) == before) << what << ": the file changed";
    EXPECT_EQ(FilesInOut(), std::vector<std::string>{"analytics.sqlite"}) << what;
  };
  ASSERT_TRUE(testing::MakeForeignDb(serving()));
  expect_refused("foreign", "is not a sluice serving database");
  testing::WriteRandomBytes(serving(), 5000);
  expect_refused("random", "not a SQLite database");
  // The lakehouse counted no export.
  EXPECT_EQ(Int(lake_, "SELECT count(*) FROM sqlite_master WHERE name = '_sluice_exports'"), 0);
}

// Every analytics file written before the stamp: `_sluice_export`, no id.
TEST_F(ServingExportTest, ReplacesAnUnstampedExportOfAnEarlierRelease) {
  ASSERT_TRUE(testing::MakeDb(serving(), "CREATE TABLE serving_prices (day, price);"
                                         "CREATE TABLE _sluice_export (version, exported_at, tables, rows);"
                                         "INSERT INTO _sluice_export VALUES (4, 'x', 1, 0)"));
  {
    ServingReader reader(serving());
    ASSERT_TRUE(reader.Get().ok()) << reader.Get().status().message();
  }
  auto r = ExportServing(lake_, serving());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Database out;
  ASSERT_TRUE(out.Open(serving(), true).ok());
  EXPECT_EQ(Int(out, "PRAGMA application_id"), kApplicationId);
}

TEST_F(ServingExportTest, RefusesALakehouseOfAnotherApplication) {
  ASSERT_TRUE(lake_.Exec("PRAGMA application_id = 7").ok());
  auto r = ExportServing(lake_, serving());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("belongs to another application"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(serving()));
}

TEST_F(ServingExportTest, ReaderRefusesAnotherApplicationsDatabase) {
  ASSERT_TRUE(testing::MakeForeignDb(serving()));
  const testing::FileSnapshot before = testing::Snapshot(serving());
  ServingReader reader(serving());
  auto db = reader.Get();
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("is not a sluice serving database"), std::string::npos)
      << db.status().message();
  EXPECT_TRUE(testing::Snapshot(serving()) == before);
}

}  // namespace
}  // namespace sluice::serving
