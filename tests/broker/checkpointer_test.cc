// The Checkpointer against a writer like the broker's (wal_autocheckpoint=0):
// frames really reach the database file, and the WAL stays bounded.
//
// Regression: its connection never read the database, so with SQLite 3.40
// every checkpoint returned SQLITE_OK and copied nothing; the database file
// stayed at 4 KiB while the WAL grew without bound.
#include "broker/checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "broker/job_store.h"

namespace sluice::broker {
namespace {

std::int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

// Waits (up to 30 s) until the checkpointer has finished a run that started
// after this call: a fence, not a sleep.
bool WaitForNextRun(const Checkpointer& c) {
  const std::int64_t runs = c.runs() + 1;  // the run under way may have started before
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.runs() <= runs) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class CheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-ckpt-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "state.sqlite").string();
    ASSERT_TRUE(store_.Open(path_, SyncMode::kNormal).ok());
    // Writes go through Begin/Commit: the store commits nothing else.
    ASSERT_TRUE(store_.Begin().ok());
    ASSERT_TRUE(store_.db().Exec("CREATE TABLE filler (x BLOB)").ok());
    ASSERT_TRUE(store_.Commit().ok());
  }
  void TearDown() override {
    store_.Close();
    std::filesystem::remove_all(dir_);
  }
  // Begin as the broker's loop does: a lock held by the checkpointer past
  // the store's busy timeout (its TRUNCATE step copies and syncs while it
  // holds the write lock, which takes longer on a loaded machine under
  // sanitizers) fails Begin with SQLITE_BUSY, and the loop tries again
  // later. Any other error fails the test.
  void BeginRetryingBusy() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      const Status s = store_.Begin();
      if (s.ok()) return;
      ASSERT_EQ(store_.last_error_code() & 0xff, SQLITE_BUSY) << s.ToString();
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the write lock was never free: " << s.ToString();
      ++busy_begins_;
    }
  }
  // `n` transactions of 64 rows of 1 KiB each.
  void Write(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_NO_FATAL_FAILURE(BeginRetryingBusy());
      ASSERT_TRUE(store_.db()
                      .Exec("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<64) "
                            "INSERT INTO filler SELECT randomblob(1024) FROM r")
                      .ok());
      ASSERT_TRUE(store_.Commit().ok());
    }
  }

  std::filesystem::path dir_;
  std::string path_;
  JobStore store_;
  int busy_begins_ = 0;  // Begins that found the checkpointer holding the lock
};

TEST_F(CheckpointerTest, CheckpointsReachTheDatabaseFile) {
  Checkpointer c(path_, /*interval_ms=*/20, /*truncate_above_bytes=*/1 << 30);  // PASSIVE only
  ASSERT_NO_FATAL_FAILURE(Write(30));  // ~2 MiB
  ASSERT_TRUE(WaitForNextRun(c));
  EXPECT_EQ(c.failures(), 0);
  EXPECT_GT(c.pages_checkpointed(), 400) << "no WAL frame reached the database file";
  EXPECT_GT(FileSize(path_), 1 << 20);
  EXPECT_GT(c.wal_bytes(), 0);
  EXPECT_GT(c.last_ms(), 0);
}

// The loop nudges the thread as the WAL grows; a nudge makes a run at once,
// not at the next interval (an hour here).
TEST_F(CheckpointerTest, ANudgeMakesARunAtOnce) {
  Checkpointer c(path_, /*interval_ms=*/3600 * 1000, /*truncate_above_bytes=*/1 << 30);
  ASSERT_NO_FATAL_FAILURE(Write(30));  // ~2 MiB
  EXPECT_EQ(c.runs(), 0);
  c.Nudge();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.runs() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(c.runs(), 1) << "no run after a nudge";
  // Copied everything: nothing else writes while it runs.
  EXPECT_GT(c.pages_checkpointed(), 400);
  EXPECT_EQ(c.failures(), 0);
  EXPECT_EQ(c.truncations(), 0);  // the WAL is far under the bound
}

TEST_F(CheckpointerTest, WalStaysUnderItsBoundWhileWritesKeepComing) {
  constexpr std::int64_t kTruncateAbove = 1 << 20;
  Checkpointer c(path_, /*interval_ms=*/20, kTruncateAbove, /*busy_ms=*/20);
  std::int64_t max_wal = 0;
  for (int round = 0; round < 40; ++round) {  // ~40 MiB in all
    ASSERT_NO_FATAL_FAILURE(Write(16));        // ~1 MiB
    max_wal = std::max(max_wal, FileSize(path_ + "-wal"));
    // Let the checkpointer in every 4 MiB: what it does with the WAL is
    // what is measured, not how fast this loop writes.
    if (round % 4 == 3) {
      ASSERT_TRUE(WaitForNextRun(c));
    }
  }
  ASSERT_TRUE(WaitForNextRun(c));
  EXPECT_EQ(c.failures(), 0);
  EXPECT_GT(c.truncations(), 0);
  EXPECT_LT(max_wal, 8 * kTruncateAbove) << "the WAL grew to " << max_wal << " bytes";
  EXPECT_LE(c.wal_bytes(), kTruncateAbove);
  EXPECT_GT(FileSize(path_), 30 << 20);
  if (busy_begins_ > 0) std::printf("%d Begin(s) waited out a TRUNCATE checkpoint\n", busy_begins_);
}

}  // namespace
}  // namespace sluice::broker
