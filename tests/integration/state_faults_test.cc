// The broker against real faults on its state database, as processes:
//   - a second process holds BEGIN EXCLUSIVE for 4 s during a flood of
//     submissions: the broker stays up, keeps its workers, answers every
//     SUBMIT (late or refused, never silently), and every acknowledged job
//     is stored;
//   - the state database's disk (a small tmpfs) fills: SUBMITs are refused
//     with `internal` naming the full disk, queries go on, nothing
//     acknowledged is lost, and once space is freed the broker takes work
//     again by itself, without a restart. (Skipped where mount is not allowed.)
#include "tests/integration/integration_test.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <sys/stat.h>
#include <fstream>

namespace sluice::testing {
namespace {

class StateFaultsTest : public IntegrationTest {
 protected:
  void TearDown() override {
    if (locker_) locker_->KillGroup();
    cluster_.KillAll();  // the processes go before the mount does
    if (!mount_.empty()) ::umount2(mount_.c_str(), MNT_DETACH);
    IntegrationTest::TearDown();
  }

  // Submits `n` jobs with big params, one SUBMIT each; returns the ids
  // acknowledged, and counts the refusals by error text.
  std::vector<std::string> Flood(int n, std::size_t param_bytes, std::map<std::string, int>* refused) {
    std::vector<std::string> ok;
    const std::string pad(param_bytes, 'x');
    for (int i = 0; i < n; ++i) {
      std::vector<proto::SubmittedJob> out;
      Answer a = client().Submit({Spec("test.noop", json{{"pad", pad}, {"i", i}})}, &out, Scaled(Ms(30000)));
      if (a.ok() && out.size() == 1) {
        ok.push_back(out[0].id);
      } else {
        EXPECT_NE(a.kind, Answer::Kind::kTimeout) << "a SUBMIT was not answered";
        (*refused)[a.body.is_object() ? a.body.value("message", "?") : a.Describe()]++;
      }
    }
    return ok;
  }

  // One small SUBMIT, again until one is accepted (the broker recovers by
  // itself) or a generous deadline passes: its id, or none.
  std::vector<std::string> SubmitOnceWritable() {
    std::vector<std::string> after;
    WaitUntil([&] {
      std::map<std::string, int> r;
      after = Flood(1, 10, &r);
      return !after.empty();
    }, Scaled(Ms(30000)), Ms(100));
    return after;
  }

  std::unique_ptr<Process> locker_;
  std::string mount_;
};

// The lock is held 4 s: 40 times the loop's busy timeout (100 ms), long
// enough for the broker's write probes to back off several times.
TEST_F(StateFaultsTest, ExclusiveLockForSecondsDuringAFloodLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Process& worker = cluster_.StartWorker(2);
  ASSERT_TRUE(WaitForWorkers(1));
  std::map<std::string, int> refused;
  std::vector<std::string> acked = Flood(50, 100, &refused);

  const std::string locked = dir_.File("locked");
  const std::string script =
      "import sqlite3, sys, time, pathlib\n"
      "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
      "c.execute('BEGIN EXCLUSIVE')\n"
      "pathlib.Path(sys.argv[2]).write_text('1')\n"
      "time.sleep(4)\n"
      "c.execute('ROLLBACK')\n";
  locker_ = std::make_unique<Process>(
      "locker", std::vector<std::string>{"/usr/bin/python3", "-c", script, cluster_.state_path(), locked},
      dir_.path());
  ASSERT_TRUE(WaitUntil([&] { return std::ifstream(locked).good(); }, Scaled(Ms(30000))));

  // The flood goes on while the lock is held, and after.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (std::chrono::steady_clock::now() < until) {
    auto more = Flood(20, 100, &refused);
    acked.insert(acked.end(), more.begin(), more.end());
  }
  auto exited = locker_->Wait(Scaled(Ms(30000)));
  ASSERT_TRUE(exited.has_value());
  EXPECT_TRUE(exited->exited && exited->code == 0) << exited->ToString();
  EXPECT_FALSE(refused.empty()) << "no SUBMIT was refused while the lock was held";
  for (const auto& [message, n] : refused)
    EXPECT_NE(message.find("lock"), std::string::npos) << n << " x " << message;

  // Writes again, by itself; the broker never stopped and kept its worker.
  std::vector<std::string> after = SubmitOnceWritable();
  ASSERT_EQ(after.size(), 1u);
  acked.push_back(after[0]);
  EXPECT_TRUE(cluster_.broker()->Running());
  json w = WorkerByPid(worker.pid());
  EXPECT_TRUE(w.is_object()) << "the worker was dropped";
  for (const auto& id : acked) {
    json job = WaitForState(id, {"succeeded"}, Scaled(Ms(60000)));
    EXPECT_EQ(job.value("state", ""), "succeeded") << id << ": " << job.dump();
  }
  Answer stats = client().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats.body["stats"]["counters"]["lost"], 0) << "heartbeats stalled: a worker was declared lost";
}

TEST_F(StateFaultsTest, FullDiskRefusesNewWorkAndRecoversWhenSpaceIsFreed) {
  mount_ = dir_.File("small");
  ::mkdir(mount_.c_str(), 0755);
  if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=4m") != 0) {
    mount_.clear();
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << ")";
  }
  // A filler that leaves the database little room; deleting it frees space.
  const std::string filler = mount_ + "/filler";
  {
    std::ofstream f(filler, std::ios::binary);
    std::string mb(1 << 20, '\0');
    for (int i = 0; i < 3; ++i) f << mb;
  }
  cluster_.set_state_path(mount_ + "/state.sqlite");
  ASSERT_NO_FATAL_FAILURE(StartBroker());

  std::map<std::string, int> refused;
  std::vector<std::string> acked;
  for (int round = 0; round < 40 && refused.empty(); ++round) {
    auto more = Flood(10, 16 * 1024, &refused);
    acked.insert(acked.end(), more.begin(), more.end());
  }
  ASSERT_FALSE(refused.empty()) << "the disk never filled";
  ASSERT_FALSE(acked.empty());
  for (const auto& [message, n] : refused)
    EXPECT_TRUE(message.find("disk is full") != std::string::npos ||
                message.find("does not take writes") != std::string::npos)
        << n << " x " << message;
  // Still serving queries, not writable.
  Answer stats = client().Stats();
  ASSERT_TRUE(stats.ok()) << stats.Describe();
  EXPECT_EQ(stats.body["stats"]["state_db"]["writable"], false);
  EXPECT_TRUE(cluster_.broker()->Running());

  ::unlink(filler.c_str());
  std::vector<std::string> after = SubmitOnceWritable();
  ASSERT_EQ(after.size(), 1u) << "the broker did not take work again after space was freed";
  acked.push_back(after[0]);
  for (const auto& id : acked) {
    json job = client().Job(id);
    EXPECT_TRUE(job.is_object() && job.value("state", "") == "queued") << id << ": " << job.dump();
  }
  EXPECT_TRUE(cluster_.broker()->Running());
}

}  // namespace
}  // namespace sluice::testing
