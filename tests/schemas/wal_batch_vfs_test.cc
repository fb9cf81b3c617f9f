// The WAL write-gathering VFS (schemas/wal_batch_vfs.h): a commit is one
// write, and what it gathers is in the file once the commit returns, for
// other connections, after a SIGKILL, and with a failed write failing the
// commit.
#include "schemas/wal_batch_vfs.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "schemas/fault_vfs.h"
#include "schemas/sqlite_db.h"

namespace sluice {
namespace {

// A fresh folder, removed with what is in it.
class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "sluice-walbatch-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) != nullptr ? t : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::int64_t Count(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << st.status().message();
  if (!st.ok() || st->Step() != SQLITE_ROW) return -1;
  return st->Int(0);
}

void OpenWal(Database& db, const std::string& path, const char* vfs, const char* sync = "NORMAL") {
  ASSERT_TRUE(db.Open(path, false, vfs).ok()) << db.error();
  ASSERT_TRUE(db.Exec("PRAGMA journal_mode=WAL").ok());
  ASSERT_TRUE(db.Exec(std::string("PRAGMA synchronous=") + sync).ok());
}

TEST(WalBatchVfs, ACommitIsOneWriteAndOtherConnectionsSeeIt) {
  TempDir tmp;
  const std::string path = tmp.path() + "/a.sqlite";
  const char* vfs = walbatch::Register();
  ASSERT_NE(vfs, nullptr);
  Database db;
  OpenWal(db, path, vfs);
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT); CREATE INDEX t_v ON t(v)").ok());
  Database reader;
  ASSERT_TRUE(reader.Open(path).ok());  // the default VFS

  const walbatch::Counts before = walbatch::Totals();
  constexpr int kCommits = 100;
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_TRUE(db.Exec("BEGIN").ok());
    for (int j = 0; j < 3; ++j) {
      const std::string n = std::to_string(i * 3 + j);
      ASSERT_TRUE(db.Exec("INSERT INTO t(k, v) VALUES ('k" + n + "', 'v" + n + "')").ok()) << db.error();
    }
    ASSERT_TRUE(db.Exec("COMMIT").ok()) << db.error();
    ASSERT_EQ(Count(reader, "SELECT count(*) FROM t"), (i + 1) * 3);  // read from the file, by another handle
  }
  const walbatch::Counts after = walbatch::Totals();
  const std::int64_t in = after.writes_in - before.writes_in;
  const std::int64_t out = after.writes_out - before.writes_out;
  // Each commit writes three pages or more (the table and two indexes), as
  // a header and a page each; one write each reaches the file.
  EXPECT_GE(in, 6 * kCommits);
  EXPECT_LE(out, kCommits + 2);
  EXPECT_EQ(Count(reader, "SELECT count(*) FROM t WHERE v = 'v' || substr(k, 2)"), 3 * kCommits);
}

TEST(WalBatchVfs, ACommitSurvivesTheProcessBeingKilledRightAfter) {
  TempDir tmp;
  const std::string path = tmp.path() + "/k.sqlite";
  const char* vfs = walbatch::Register();
  ASSERT_NE(vfs, nullptr);
  {
    Database setup;
    OpenWal(setup, path, nullptr);
    ASSERT_TRUE(setup.Exec("CREATE TABLE t(x INTEGER)").ok());
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Database db;
    if (!db.Open(path, false, vfs).ok() || !db.Exec("PRAGMA synchronous=NORMAL").ok()) ::_exit(2);
    for (int i = 0; i < 50; ++i)
      if (!db.Exec("INSERT INTO t VALUES (" + std::to_string(i) + ")").ok()) ::_exit(3);
    // A transaction under way when the process dies: never seen.
    if (!db.Exec("BEGIN; INSERT INTO t VALUES (1000)").ok()) ::_exit(4);
    ::raise(SIGKILL);  // no close, no checkpoint
    ::_exit(5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exit " << WEXITSTATUS(status);
  Database after;
  ASSERT_TRUE(after.Open(path).ok());
  EXPECT_EQ(Count(after, "SELECT count(*) FROM t"), 50);
  EXPECT_EQ(Count(after, "SELECT sum(x) FROM t"), 49 * 50 / 2);
}

TEST(WalBatchVfs, AFailedWriteFailsTheCommitAndNothingOfItIsSeen) {
  TempDir tmp;
  const std::string path = tmp.path() + "/f.sqlite";
  ASSERT_TRUE(fault::Register());
  const char* vfs = walbatch::Register(fault::kVfsName);
  ASSERT_NE(vfs, nullptr);
  Database db;
  OpenWal(db, path, vfs);
  ASSERT_TRUE(db.Exec("CREATE TABLE t(x INTEGER)").ok());
  ASSERT_TRUE(db.Exec("INSERT INTO t VALUES (1)").ok());

  fault::Arm(fault::Op::kWrite, SQLITE_FULL);
  const std::int64_t injected = fault::Injected();
  Status s = db.Exec("BEGIN; INSERT INTO t VALUES (2); INSERT INTO t VALUES (3); COMMIT");
  fault::Clear();
  EXPECT_FALSE(s.ok());
  EXPECT_GT(fault::Injected(), injected);
  db.Exec("ROLLBACK");  // if SQLite left the transaction open

  Database reader;
  ASSERT_TRUE(reader.Open(path).ok());
  EXPECT_EQ(Count(reader, "SELECT count(*) FROM t"), 1);
  ASSERT_TRUE(db.Exec("INSERT INTO t VALUES (4)").ok()) << db.error();
  EXPECT_EQ(Count(reader, "SELECT sum(x) FROM t"), 5);
}

TEST(WalBatchVfs, ATransactionLargerThanThePageCacheCommitsWhole) {
  for (const char* sync : {"NORMAL", "FULL"}) {
    TempDir tmp;
    const std::string path = tmp.path() + "/big.sqlite";
    Database db;
    OpenWal(db, path, walbatch::Register(), sync);
    ASSERT_TRUE(db.Exec("PRAGMA cache_size=8; CREATE TABLE t(x INTEGER PRIMARY KEY, b BLOB)").ok());
    ASSERT_TRUE(db.Exec("BEGIN").ok());
    // ~12 MiB: the cache spills frames before the commit, many times the
    // most gathered in one write.
    ASSERT_TRUE(db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                        "INSERT INTO t SELECT i, randomblob(4000) FROM n")
                    .ok())
        << db.error();
    ASSERT_TRUE(db.Exec("UPDATE t SET b = zeroblob(100) WHERE x % 7 = 0").ok());  // pages written again
    ASSERT_TRUE(db.Exec("COMMIT").ok()) << db.error();
    Database reader;
    ASSERT_TRUE(reader.Open(path).ok());
    EXPECT_EQ(Count(reader, "SELECT count(*) FROM t"), 3000) << sync;
    EXPECT_EQ(Count(reader, "SELECT count(*) FROM t WHERE length(b) = 100"), 3000 / 7) << sync;
    auto check = reader.Prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.ok());
    ASSERT_EQ(check->Step(), SQLITE_ROW);
    EXPECT_EQ(check->Text(0), "ok") << sync;
  }
}

}  // namespace
}  // namespace sluice
