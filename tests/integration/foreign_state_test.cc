// sluice-broker on a --state file that is not sluice's: another
// application's database, a truncated or corrupt sluice database, random
// bytes. The broker exits 3 with a message naming the file and why, and the
// file's sha256 is what it was (no -wal or -shm appears either). An
// unstamped state database of an earlier release is opened and stamped.
#include <cstdio>

#include "schemas/database_owner.h"
#include "tests/integration/integration_test.h"
#include "tests/schemas/db_files.h"

namespace sluice::testing {
namespace {

std::string Sha256(const std::string& path) {
  std::string out;
  FILE* p = ::popen(("sha256sum '" + path + "' 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  return out.substr(0, out.find(' '));
}

class ForeignStateTest : public IntegrationTest {
 protected:
  // Starts the broker on the file as it is; expects exit 3, `why` in its
  // stderr, and the file unchanged.
  void ExpectRefused(const std::string& what, const std::string& why) {
    const std::string path = cluster_.state_path();
    const std::string sum = Sha256(path);
    ASSERT_EQ(sum.size(), 64u) << "sha256sum did not run";
    const FileSnapshot before = Snapshot(path);
    Status s = cluster_.StartBroker();
    ASSERT_FALSE(s.ok()) << what << ": the broker started";
    auto exit = cluster_.broker()->Wait(Scaled(Ms(10000)));
    ASSERT_TRUE(exit.has_value()) << what;
    EXPECT_TRUE(exit->exited && exit->code == 3) << what << ": " << exit->ToString();
    const std::string err = cluster_.broker()->Stderr();
    EXPECT_NE(err.find("refusing " + path), std::string::npos) << what << ": " << err;
    EXPECT_NE(err.find(why), std::string::npos) << what << ": " << err;
    EXPECT_EQ(Sha256(path), sum) << what;
    EXPECT_TRUE(Snapshot(path) == before) << what << ": the file or its side files changed";
    EXPECT_FALSE(std::filesystem::exists(path + "-wal")) << what;
  }
};

TEST_F(ForeignStateTest, BrokerRefusesFilesThatAreNotItsOwnAndLeavesThemUnchanged) {
  const std::string path = cluster_.state_path();
  ASSERT_TRUE(MakeForeignDb(path));
  ExpectRefused("another application's database", "is not a sluice state database");

  std::filesystem::remove(path);
  WriteRandomBytes(path, 100000);
  ExpectRefused("random bytes", "is not a SQLite database");

  // A real state database of this broker, then cut short and then damaged.
  std::filesystem::remove(path);
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  std::vector<proto::JobSpec> specs(2000, Spec("test.noop"));
  ASSERT_EQ(SubmitAll(specs).size(), specs.size());
  client_.reset();
  ASSERT_TRUE(cluster_.StopBroker(SIGTERM).exited);  // a clean stop checkpoints the WAL
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 16 * 4096u);
  Truncate(path, size / 2 / 4096 * 4096);
  ExpectRefused("a truncated state database", "truncated");
  Scribble(path, 100, 400);
  ExpectRefused("a corrupt state database", "refusing");
}

TEST_F(ForeignStateTest, UnstampedStateDatabaseOfAnEarlierReleaseIsStamped) {
  // What a release before the stamp left: the schema, no application_id.
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const std::string id = SubmitOne(Spec("test.noop"));
  ASSERT_FALSE(id.empty());
  client_.reset();
  ASSERT_TRUE(cluster_.StopBroker(SIGTERM).exited);
  {
    Database db;
    ASSERT_TRUE(db.Open(cluster_.state_path()).ok());
    ASSERT_TRUE(db.Exec("PRAGMA application_id = 0").ok());
  }
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  json job = client().Job(id, Scaled(Ms(10000)));
  EXPECT_EQ(job.value("id", ""), id);
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("PRAGMA application_id"), kApplicationId);
}

}  // namespace
}  // namespace sluice::testing
