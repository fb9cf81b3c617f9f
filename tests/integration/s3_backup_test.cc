// Database snapshots in the test S3 store (schemas/db_backup.h): a backup
// restores to the same tables; a snapshot that is corrupt, foreign, of a
// newer schema or missing its tables is refused and the target left as it
// was; --at picks an older one; an existing target is replaced only when
// asked, without its old -wal. Exits 77 (skipped) where node, s3rver or
// botocore is missing.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "schemas/database_owner.h"
#include "schemas/db_backup.h"
#include "schemas/s3_client.h"
#include "schemas/sqlite_db.h"
#include "schemas/state_schema.h"
#include "tests/integration/s3_front.h"
#include "tests/integration/temp_dir.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

// The gzip of a whole file.
std::string GzipOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, raw.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class S3BackupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("sluice-s3-backup");
    S3Front::Options options;
    options.buckets = {"sluice-backup"};
    front_ = new S3Front(dir_->path(), options);
    if (front_->skipped()) {
      std::cerr << "SKIPPED: " << front_->error() << "\n";
      std::exit(77);
    }
  }
  static void TearDownTestSuite() {
    delete front_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(front_->ok()) << front_->error();
    config_.access_key_id = S3Front::kAccessKey;
    config_.secret_access_key = S3Front::kSecretKey;
    config_.endpoint = front_->endpoint();
    client_ = std::make_unique<s3::Client>(config_);
    // Each test its own prefix.
    location_.bucket = "sluice-backup";
    location_.prefix = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    work_ = dir_->File(location_.prefix);
    fs::create_directories(work_);
  }

  // A state database as the broker makes one: stamped, its tables, a version.
  std::string MakeStateDb(const std::string& name, int version, std::int64_t app_id, int rows) {
    const std::string path = work_ + "/" + name;
    Database db;
    EXPECT_TRUE(db.Open(path).ok());
    EXPECT_TRUE(db.Exec("PRAGMA journal_mode=WAL").ok());
    EXPECT_TRUE(db.Exec("CREATE TABLE jobs(id TEXT PRIMARY KEY, state TEXT); CREATE TABLE attempts(job TEXT);"
                        "CREATE TABLE counters(name TEXT, value INTEGER)")
                    .ok());
    for (int i = 0; i < rows; ++i)
      EXPECT_TRUE(db.Exec("INSERT INTO jobs VALUES ('j" + std::to_string(i) + "', 'succeeded')").ok());
    EXPECT_TRUE(db.Exec("PRAGMA user_version=" + std::to_string(version)).ok());
    EXPECT_TRUE(db.Exec("PRAGMA application_id=" + std::to_string(app_id)).ok());
    return path;
  }

  static std::int64_t Rows(const std::string& path) {
    Database db;
    if (!db.Open(path, true).ok()) return -1;
    auto q = db.Prepare("SELECT count(*) FROM jobs");
    if (!q.ok() || q->Step() != SQLITE_ROW) return -1;
    return q->Int(0);
  }

  Result<backup::BackupReport> Backup(const std::string& path, system_clock::time_point at) {
    return backup::BackupDatabase(*client_, location_, backup::StateSubject(), path, work_, backup::Retention{}, at);
  }

  static TempDir* dir_;
  static S3Front* front_;
  s3::Config config_;
  std::unique_ptr<s3::Client> client_;
  s3::Location location_;
  std::string work_;
};
TempDir* S3BackupTest::dir_ = nullptr;
S3Front* S3BackupTest::front_ = nullptr;

TEST_F(S3BackupTest, ABackupRestoresToTheSameRowsAndAtPicksAnOlderOne) {
  const std::string db = MakeStateDb("state.sqlite", schema::CurrentVersion(), kApplicationId, 5);
  const auto t1 = system_clock::now() - std::chrono::hours(2);
  auto first = Backup(db, t1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_GT(first->gz_bytes, 0u);
  EXPECT_EQ(first->key, location_.prefix + "/state/state-" + first->stamp + ".sqlite.gz");
  {
    Database w;
    ASSERT_TRUE(w.Open(db).ok());
    ASSERT_TRUE(w.Exec("INSERT INTO jobs VALUES ('j99', 'queued')").ok());
  }
  auto second = Backup(db, t1 + std::chrono::hours(1));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto again = Backup(db, t1 + std::chrono::hours(1));  // the same second: never replaced
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kConflict);

  auto stamps = backup::ListSnapshots(*client_, location_, backup::StateSubject());
  ASSERT_TRUE(stamps.ok()) << stamps.status().ToString();
  EXPECT_EQ(stamps.value(), (std::vector<std::string>{first->stamp, second->stamp}));

  const std::string newest = work_ + "/restored/state.sqlite";
  auto restored = backup::RestoreDatabase(*client_, location_, backup::StateSubject(), newest, {});
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored.value(), second->stamp);
  EXPECT_EQ(Rows(newest), 6);

  const std::string older = work_ + "/older.sqlite";
  auto at = backup::RestoreDatabase(*client_, location_, backup::StateSubject(), older, {.at = first->stamp});
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(Rows(older), 5);
  auto none = backup::RestoreDatabase(*client_, location_, backup::StateSubject(), work_ + "/x.sqlite",
                                      {.at = "19990101"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
}

TEST_F(S3BackupTest, AnExistingTargetIsReplacedOnlyWhenAskedAndLosesItsOldWal) {
  const std::string db = MakeStateDb("state.sqlite", schema::CurrentVersion(), kApplicationId, 3);
  ASSERT_TRUE(Backup(db, system_clock::now()).ok());
  const std::string target = MakeStateDb("target.sqlite", schema::CurrentVersion(), kApplicationId, 9);
  std::ofstream(target + "-wal") << "an old WAL that belongs to the old file";
  auto refused = backup::RestoreDatabase(*client_, location_, backup::StateSubject(), target, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kConflict);
  EXPECT_EQ(Rows(target), 9);
  auto replaced = backup::RestoreDatabase(*client_, location_, backup::StateSubject(), target, {.replace = true});
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_FALSE(fs::exists(target + "-wal"));
  EXPECT_EQ(Rows(target), 3);
}

TEST_F(S3BackupTest, SnapshotsThatFailACheckAreRefusedAndTheTargetIsUntouched) {
  struct Case {
    std::string name;
    std::string db;  // path of a database to back up; "" = upload junk instead
    std::string expect;
  };
  std::vector<Case> cases = {
      {"newer", MakeStateDb("newer.sqlite", schema::CurrentVersion() + 1, kApplicationId, 1), "schema version"},
      {"foreign", MakeStateDb("foreign.sqlite", schema::CurrentVersion(), 0x12345678, 1), "not a sluice database"},
      {"junk", "", "gzip"},
  };
  {
    Database db;
    const std::string path = work_ + "/notables.sqlite";
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Exec("CREATE TABLE other(x); PRAGMA user_version=1; PRAGMA application_id=" +
                        std::to_string(kApplicationId))
                    .ok());
    cases.push_back({"notables", path, "no table jobs"});
  }
  for (const Case& c : cases) {
    s3::Location where = location_.Child(c.name);
    // A backup refuses to upload them in the first place ...
    if (!c.db.empty()) {
      auto refused = backup::BackupDatabase(*client_, where, backup::StateSubject(), c.db, work_,
                                            backup::Retention{}, system_clock::now());
      ASSERT_FALSE(refused.ok()) << c.name;
      EXPECT_NE(refused.status().message().find(c.expect), std::string::npos) << refused.status().message();
      auto listed = backup::ListSnapshots(*client_, where, backup::StateSubject());
      ASSERT_TRUE(listed.ok());
      EXPECT_TRUE(listed->empty()) << c.name << ": uploaded anyway";
    }
    // ... so put them there as another tool would.
    const std::string object = c.db.empty() ? std::string("this is not gzip at all") : GzipOf(c.db);
    ASSERT_TRUE(client_->PutBytes(where.bucket, where.Key("state/state-20261201T000000Z.sqlite.gz"), object, {}).ok());
    const std::string target = work_ + "/" + c.name + "-restored.sqlite";
    auto r = backup::RestoreDatabase(*client_, where, backup::StateSubject(), target, {});
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << c.name << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.name << ": " << r.status().message();
    EXPECT_FALSE(fs::exists(target)) << c.name;
    // Nothing left behind next to it either.
    for (const auto& e : fs::directory_iterator(work_))
      EXPECT_EQ(e.path().filename().string().find(c.name + "-restored.sqlite."), std::string::npos)
          << e.path();
  }
}

TEST_F(S3BackupTest, RetentionPrunesOldSnapshots) {
  const std::string db = MakeStateDb("state.sqlite", schema::CurrentVersion(), kApplicationId, 1);
  const auto start = system_clock::now() - std::chrono::hours(24 * 30);
  backup::Retention keep{.keep_last = 2, .keep_daily = 0, .keep_weekly = 0};
  std::vector<std::string> stamps;
  for (int i = 0; i < 4; ++i) {
    auto r = backup::BackupDatabase(*client_, location_, backup::StateSubject(), db, work_, keep,
                                    start + std::chrono::hours(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    stamps.push_back(r->stamp);
    EXPECT_EQ(r->pruned.size(), i >= 2 ? 1u : 0u);
  }
  auto listed = backup::ListSnapshots(*client_, location_, backup::StateSubject());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed.value(), (std::vector<std::string>{stamps[2], stamps[3]}));
}

}  // namespace
}  // namespace sluice::testing
