// InspectDatabaseFile: which files sluice may open, which it refuses, and
// that a refused (or any inspected) file is left exactly as it was.
#include "schemas/database_owner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/schemas/db_files.h"

namespace sluice {
namespace {

using testing::FileSnapshot;
using testing::Snapshot;

class DatabaseOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-owner-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "x.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A kind whose unstamped files have a table `ours` and user_version 3.
  static DatabaseKind Kind() {
    return {"test database", "a table ours and user_version 3", [](const DatabaseContents& c) {
              return c.user_version == 3 && c.HasTable("ours");
            }};
  }
  // Inspects; expects a refusal whose message names the file and says
  // `why`, and the file unchanged.
  void ExpectRefused(const std::string& why) {
    FileSnapshot before = Snapshot(path_);
    auto r = InspectDatabaseFile(path_, Kind());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find(path_), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
    EXPECT_TRUE(Snapshot(path_) == before) << "the file or its side files changed";
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(DatabaseOwnerTest, AbsentOrEmptyFileIsNew) {
  auto r = InspectDatabaseFile(path_, Kind());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, DatabaseOwner::kNew);
  testing::WriteAll(path_, "");
  r = InspectDatabaseFile(path_, Kind());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, DatabaseOwner::kNew);
  // A database with no schema at all (e.g. only its journal mode was set).
  std::filesystem::remove(path_);
  ASSERT_TRUE(testing::MakeDb(path_, "PRAGMA journal_mode=WAL"));
  r = InspectDatabaseFile(path_, Kind());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, DatabaseOwner::kNew);
}

TEST_F(DatabaseOwnerTest, StampedFileIsSluices) {
  ASSERT_TRUE(testing::MakeDb(path_, "CREATE TABLE anything (x)"));
  {
    Database db;
    ASSERT_TRUE(db.Open(path_).ok());
    ASSERT_TRUE(StampApplicationId(db).ok());
  }
  FileSnapshot before = Snapshot(path_);
  auto r = InspectDatabaseFile(path_, Kind());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, DatabaseOwner::kSluice);
  EXPECT_TRUE(Snapshot(path_) == before);
  // The id is 'SLCE' in the header, big-endian at offset 68.
  EXPECT_EQ(before.bytes.substr(68, 4), "SLCE");
}

TEST_F(DatabaseOwnerTest, UnstampedFileWithItsKindsTablesIsSluicesUnstamped) {
  ASSERT_TRUE(testing::MakeDb(path_, "CREATE TABLE ours (x); PRAGMA user_version=3"));
  auto r = InspectDatabaseFile(path_, Kind());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, DatabaseOwner::kSluiceUnstamped);
}

TEST_F(DatabaseOwnerTest, AnotherApplicationsTablesAreRefused) {
  ASSERT_TRUE(testing::MakeForeignDb(path_));
  ExpectRefused("is not a test database (no application_id, user_version 0, tables notes, tags");
  // Our table but the wrong user_version is not ours either.
  std::filesystem::remove(path_);
  ASSERT_TRUE(testing::MakeDb(path_, "CREATE TABLE ours (x); PRAGMA user_version=0"));
  ExpectRefused("is not a test database");
}

TEST_F(DatabaseOwnerTest, AnotherApplicationsIdIsRefused) {
  ASSERT_TRUE(testing::MakeDb(path_, "CREATE TABLE ours (x); PRAGMA user_version=3; "
                                     "PRAGMA application_id=1179603782"));  // 'FOSF'
  ExpectRefused("belongs to another application (application_id 0x464F5346; sluice's is 0x534C4345)");
}

TEST_F(DatabaseOwnerTest, RandomBytesAreRefused) {
  testing::WriteRandomBytes(path_, 8192);
  ExpectRefused("it is not a SQLite database");
  testing::WriteAll(path_, "hello");
  ExpectRefused("too short to be a SQLite database (5 bytes)");
}

TEST_F(DatabaseOwnerTest, TruncatedDatabaseIsRefused) {
  ASSERT_TRUE(testing::MakeDb(path_, "PRAGMA page_size=4096; CREATE TABLE ours (x); PRAGMA user_version=3;"
                                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000)"
                                     " INSERT INTO ours SELECT randomblob(200) FROM n"));
  const auto size = std::filesystem::file_size(path_);
  ASSERT_GT(size, 8 * 4096u);
  testing::Truncate(path_, 4 * 4096);  // whole pages, fewer than the header counts
  ExpectRefused("it is truncated: its header counts");
  testing::Truncate(path_, 4 * 4096 - 100);  // not even whole pages
  ExpectRefused("is not a whole number of 4096-byte pages");
}

TEST_F(DatabaseOwnerTest, CorruptSchemaIsRefused) {
  ASSERT_TRUE(testing::MakeDb(path_, "CREATE TABLE ours (x); PRAGMA user_version=3"));
  testing::Scribble(path_, 100, 200);  // page 1's b-tree: sqlite_master
  ExpectRefused("");
  auto r = InspectDatabaseFile(path_, Kind());
  EXPECT_NE(r.status().message().find("malformed"), std::string::npos) << r.status().message();
}

TEST_F(DatabaseOwnerTest, SeesTablesThatAreOnlyInTheWal) {
  // A WAL database whose tables were never checkpointed: the main file has
  // only the header page. The inspection must read through the WAL.
  Database writer;
  ASSERT_TRUE(writer.Open(path_).ok());
  ASSERT_TRUE(writer.Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                          "CREATE TABLE notes (x); INSERT INTO notes VALUES (1)")
                  .ok());
  ASSERT_GT(std::filesystem::file_size(path_ + "-wal"), 0u);
  const std::string main_bytes = testing::ReadAll(path_);
  const std::string wal_bytes = testing::ReadAll(path_ + "-wal");
  auto r = InspectDatabaseFile(path_, Kind());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tables notes"), std::string::npos) << r.status().message();
  EXPECT_EQ(testing::ReadAll(path_), main_bytes);
  EXPECT_EQ(testing::ReadAll(path_ + "-wal"), wal_bytes);
}

TEST_F(DatabaseOwnerTest, ADirectoryIsRefused) {
  std::filesystem::create_directories(path_);
  auto r = InspectDatabaseFile(path_, Kind());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace sluice
