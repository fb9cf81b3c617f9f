// The state DB's WAL stays bounded: 20,000 test.noop jobs through a real
// broker and two workers, the -wal file's size sampled all along.
//
// Regression: the checkpointer's connection never read the database, so
// its checkpoints did nothing (and reported success); the WAL of this test
// grew to 18 MB while the database file stayed at 4 KiB.
#include <sys/stat.h>

#include "tests/integration/integration_test.h"

namespace sluice::testing {
namespace {

constexpr std::int64_t kMiB = 1 << 20;
// The broker's loop starts the WAL over once a commit leaves it over 16 MiB
// (JobStore::kWalRestartFrames), after copying what the checkpointer thread
// has not; a WAL file longer than 24 MiB is cut back then
// (kWalSizeLimitBytes). The checkpointer thread, nudged as the WAL grows,
// keeps this load's WAL well under that (6.6 MB seen); without working
// checkpoints it reached 18 MB. (JobStoreTest covers the loop's restart.)
constexpr std::int64_t kWalBound = 24 * kMiB;

std::int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

class WalBoundTest : public IntegrationTest {};

TEST_F(WalBoundTest, TwentyThousandJobsKeepTheWalUnderItsBound) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  cluster_.StartWorker(8);
  cluster_.StartWorker(8);
  ASSERT_TRUE(WaitForWorkers(2)) << "2 workers never showed up in WORKERS";
  const std::string wal = cluster_.state_path() + "-wal";

  constexpr int kJobs = 20000;
  std::int64_t max_wal = 0;
  std::vector<proto::JobSpec> batch(1000, Spec("test.noop"));
  for (int i = 0; i < kJobs; i += static_cast<int>(batch.size())) {
    ASSERT_EQ(SubmitAll(batch).size(), batch.size());
    max_wal = std::max(max_wal, FileSize(wal));
  }
  std::int64_t succeeded = 0;
  WaitUntil(
      [&] {
        max_wal = std::max(max_wal, FileSize(wal));
        succeeded = client().CountInState("succeeded", Scaled(Ms(10000)));
        return succeeded >= kJobs;
      },
      Scaled(Ms(300000)), Ms(50));
  ASSERT_EQ(succeeded, kJobs) << "not all jobs succeeded in time";
  EXPECT_LT(max_wal, kWalBound) << "the WAL reached " << max_wal << " bytes";

  // STATS shows the checkpoints: pages moved, the WAL's size, no failures.
  // A fence: wait for a checkpointer run that ended after the last job.
  Answer first = client().Stats(Scaled(Ms(10000)));
  ASSERT_TRUE(first.ok()) << first.Describe();
  const std::int64_t runs = first.body["stats"]["tasks"]["wal_checkpoint"].value("runs", 0);
  json ckpt;
  WaitUntil(
      [&] {
        Answer a = client().Stats(Scaled(Ms(10000)));
        if (a.ok()) ckpt = a.body["stats"]["tasks"]["wal_checkpoint"];
        return ckpt.is_object() && ckpt.value("runs", 0) > runs;
      },
      Scaled(Ms(30000)), Ms(100));
  ASSERT_TRUE(ckpt.is_object()) << ckpt.dump();
  EXPECT_GT(ckpt.value("runs", 0), runs) << ckpt.dump();
  EXPECT_EQ(ckpt.value("failures", -1), 0) << ckpt.dump();
  EXPECT_GT(ckpt.value("pages_checkpointed", 0), 1000) << ckpt.dump();
  EXPECT_GE(ckpt.value("truncations", -1), 0) << ckpt.dump();  // how many depends on the speed
  EXPECT_LT(ckpt.value("wal_bytes", kWalBound), kWalBound) << ckpt.dump();
  EXPECT_GT(ckpt.value("last_ms", 0), 0) << ckpt.dump();
  // The jobs are in the database file itself, not only in the WAL.
  EXPECT_GT(FileSize(cluster_.state_path()), 2 * kMiB);
  EXPECT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

}  // namespace
}  // namespace sluice::testing
