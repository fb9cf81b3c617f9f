// The broker when its state database fails, and the rules for RESULTs
// (PROTOCOL.md §4-§5), in the loop with a clock the test moves. Faults come
// through the fault seam (schemas/fault_vfs.h) or a real lock held by a
// second connection.
//
// What must hold:
//   - a full disk, an I/O error or a lock held elsewhere never stops the
//     broker: what the failed transaction would have acknowledged gets
//     `internal` naming the cause, queries and heartbeats are served, new
//     work is refused, and writes resume by themselves once possible;
//   - nothing acknowledged is lost, nothing refused is stored;
//   - a RESULT from a connection without READY is neither recorded nor
//     ACKed; after READY, a RESULT for an attempt with no known lease (after
//     a restart) is recorded once and the job is not run again.
#include <sqlite3.h>

#include "schemas/fault_vfs.h"
#include "tests/broker/broker_fixture.h"

namespace sluice::broker::testing {
namespace {

bool AnyOf(const std::vector<Msg>& ms, Command c) {
  for (const auto& m : ms)
    if (m.cmd == static_cast<std::uint8_t>(c)) return true;
  return false;
}

class StoreFaultsTest : public BrokerLoopTest {
 protected:
  void SetUp() override {
    BrokerLoopTest::SetUp();
    ASSERT_TRUE(fault::Register());
    fault::Clear();
    config_.state_vfs = fault::kVfsName;
  }
  void TearDown() override {
    fault::Clear();
    BrokerLoopTest::TearDown();
  }
  // SUBMIT of one job: the REPLY's id, or "" with *error set to the ERROR.
  std::string TrySubmit(Peer& c, json spec, json* error) {
    json r = c.Request(Command::kSubmit, {{"jobs", json::array({spec})}});
    if (r.contains("jobs")) return r["jobs"][0]["id"];
    *error = r;
    return "";
  }
  // Submits until one is accepted (the broker probes by itself), within a
  // generous deadline.
  std::string SubmitOnceWritable(Peer& c, json spec) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      json error;
      std::string id = TrySubmit(c, spec, &error);
      if (!id.empty()) return id;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  }
};

TEST_F(StoreFaultsTest, DiskFullRefusesWithInternalServesQueriesAndRecoversWithoutRestart) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  const std::string a = Submit(c, {{"kind", "k"}});
  ASSERT_FALSE(a.empty());

  fault::Arm(fault::Op::kWrite, SQLITE_FULL);
  json error;
  EXPECT_EQ(TrySubmit(c, {{"kind", "k"}, {"key", "refused-1"}}, &error), "");
  EXPECT_EQ(error.value("code", ""), "internal") << error.dump();
  EXPECT_NE(error.value("message", "").find("disk is full"), std::string::npos) << error.dump();

  // Degraded: queries are answered, new work is refused at once, the cause named.
  json stats = Stats(c);
  EXPECT_EQ(stats["state_db"]["writable"], false) << stats.dump();
  EXPECT_NE(stats["state_db"]["error"].get<std::string>().find("disk is full"), std::string::npos);
  EXPECT_EQ(Status(c, a)["job"]["state"], "queued");
  EXPECT_EQ(TrySubmit(c, {{"kind", "k"}, {"key", "refused-2"}}, &error), "");
  EXPECT_EQ(error.value("code", ""), "internal");

  // Space again: the broker takes writes by itself, and kept what it acknowledged.
  fault::Clear();
  const std::string b = SubmitOnceWritable(c, {{"kind", "k"}, {"key", "after"}});
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(Status(c, a)["job"]["state"], "queued");
  EXPECT_EQ(Status(c, b)["job"]["state"], "queued");
  // Nothing refused was stored: the refused keys are free.
  json r = c.Request(Command::kSubmit, {{"jobs", json::array({{{"kind", "k"}, {"key", "refused-1"}}})}});
  EXPECT_EQ(r["jobs"][0]["created"], true) << r.dump();
  EXPECT_EQ(Stats(c)["state_db"]["writable"], true);
  StopBroker();
}

TEST_F(StoreFaultsTest, FsyncErrorIsRetriedByItself) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  fault::Arm(fault::Op::kSync, SQLITE_IOERR_FSYNC, 1);
  json error;
  EXPECT_EQ(TrySubmit(c, {{"kind", "k"}}, &error), "");
  EXPECT_EQ(error.value("code", ""), "internal");
  EXPECT_NE(error.value("message", "").find("I/O error"), std::string::npos) << error.dump();
  EXPECT_GE(fault::Injected(), 1);
  // The fault was one-off: the next probe succeeds and work is accepted again.
  EXPECT_FALSE(SubmitOnceWritable(c, {{"kind", "k"}}).empty());
  EXPECT_EQ(Stats(c)["counters"]["store_failures"], 1);
  StopBroker();
}

TEST_F(StoreFaultsTest, LockHeldElsewhereNeitherKillsNorFreezesTheBroker) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  const std::string a = Submit(c, {{"kind", "k"}});
  Peer w(ctx_, endpoint_);
  w.Ready("w1", 0);
  EXPECT_FALSE(AnyOf(w.UntilFence(), Command::kError));

  // A second connection (another process would do the same) holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(config_.state_path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE; UPDATE counters SET value=value", nullptr, nullptr, nullptr),
            SQLITE_OK);
  json error;
  EXPECT_EQ(TrySubmit(c, {{"kind", "k"}}, &error), "");
  EXPECT_EQ(error.value("code", ""), "internal");
  EXPECT_NE(error.value("message", "").find("lock"), std::string::npos) << error.dump();
  // Heartbeats and queries go on.
  w.Send(Command::kHeartbeat, "");
  EXPECT_FALSE(AnyOf(w.UntilFence(), Command::kError));
  EXPECT_EQ(Status(c, a)["job"]["state"], "queued");
  EXPECT_EQ(Stats(c)["workers"], 1);

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_FALSE(SubmitOnceWritable(c, {{"kind", "k"}}).empty());
  StopBroker();
}

TEST_F(StoreFaultsTest, InjectedBusyLockIsRefusedAndCleared) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  fault::Arm(fault::Op::kLock, SQLITE_BUSY);
  json error;
  EXPECT_EQ(TrySubmit(c, {{"kind", "k"}}, &error), "");
  EXPECT_EQ(error.value("code", ""), "internal");
  fault::Clear();
  EXPECT_FALSE(SubmitOnceWritable(c, {{"kind", "k"}}).empty());
  StopBroker();
}

TEST_F(StoreFaultsTest, ResultWhileDegradedIsHeldUnackedThenRecorded) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  Peer w(ctx_, endpoint_);
  const std::string id = Submit(c, {{"kind", "k"}});
  w.Ready("w1", 1);
  Msg job = w.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));

  fault::Arm(fault::Op::kLock, SQLITE_BUSY);
  w.Result(id, 1, Outcome::kSucceeded);
  std::vector<Msg> seen = w.UntilFence();
  EXPECT_FALSE(AnyOf(seen, Command::kAck)) << "a RESULT that was not stored was ACKed";
  EXPECT_FALSE(AnyOf(seen, Command::kError));
  EXPECT_EQ(Status(c, id)["job"]["state"], "running");

  fault::Clear();
  // The probe succeeds by itself; the held RESULT is recorded and ACKed.
  Msg ack = w.Recv(30000);
  ASSERT_EQ(ack.cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(c, id)["job"];
  EXPECT_EQ(st["state"], "succeeded");
  EXPECT_EQ(st["attempts"].size(), 1u);
  StopBroker();
}

TEST_F(StoreFaultsTest, WriteFailureMidRunReloadsStateAndWorkersReannounce) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  Peer w(ctx_, endpoint_);
  const std::string id = Submit(c, {{"kind", "k"}});
  w.Ready("w1", 2);
  ASSERT_EQ(w.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));

  // A SUBMIT whose commit fails: refused, and the broker reloads in place.
  fault::Arm(fault::Op::kWrite, SQLITE_FULL);
  json error;
  EXPECT_EQ(TrySubmit(c, {{"kind", "k"}}, &error), "");
  // The worker is told to introduce itself again.
  Msg bye = w.Recv();
  ASSERT_EQ(bye.cmd, static_cast<std::uint8_t>(Command::kBye));
  fault::Clear();
  w.Ready("w1", 2, {{id, 1}});  // still running the attempt it was given
  w.Result(id, 1, Outcome::kSucceeded);
  // Accepted once the broker takes writes again.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  json st;
  while (std::chrono::steady_clock::now() < deadline) {
    st = Status(c, id)["job"];
    if (st["state"] == "succeeded") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(st["state"], "succeeded") << st.dump();
  EXPECT_EQ(st["attempts"].size(), 1u);
  StopBroker();
}

class ResultRulesTest : public BrokerLoopTest {};

TEST_F(ResultRulesTest, ResultWithoutReadyIsNeitherRecordedNorAcked) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  Peer real(ctx_, endpoint_);
  Peer stranger(ctx_, endpoint_);
  const std::string id = Submit(c, {{"kind", "k"}});
  real.Ready("w1", 1);
  ASSERT_EQ(real.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));

  stranger.Result(id, 1, Outcome::kFailed, "forged", false);
  std::vector<Msg> seen = stranger.UntilFence();
  EXPECT_FALSE(AnyOf(seen, Command::kAck));
  ASSERT_TRUE(AnyOf(seen, Command::kError));
  EXPECT_EQ(seen[0].Json().value("code", ""), "unknown_worker");
  EXPECT_EQ(Status(c, id)["job"]["state"], "running");

  real.Result(id, 1, Outcome::kSucceeded);
  ASSERT_EQ(real.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  json st = Status(c, id)["job"];
  EXPECT_EQ(st["state"], "succeeded");
  ASSERT_EQ(st["attempts"].size(), 1u);
  EXPECT_EQ(st["attempts"][0]["worker"], "w1");
}

TEST_F(ResultRulesTest, ResultFromAnotherWorkerThanTheLeaseHolderIsNotRecorded) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  Peer holder(ctx_, endpoint_);
  Peer other(ctx_, endpoint_);
  const std::string id = Submit(c, {{"kind", "k"}});
  holder.Ready("w1", 1);
  ASSERT_EQ(holder.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
  other.Ready("w2", 0);
  other.Result(id, 1, Outcome::kFailed, "not mine", false);
  other.UntilFence();
  EXPECT_EQ(Status(c, id)["job"]["state"], "running");
  holder.Result(id, 1, Outcome::kSucceeded);
  ASSERT_EQ(holder.Recv().cmd, static_cast<std::uint8_t>(Command::kAck));
  EXPECT_EQ(Status(c, id)["job"]["state"], "succeeded");
}

TEST_F(ResultRulesTest, ResultFinishedWhileTheBrokerWasDownIsRecordedOnceAndNotRunAgain) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Submit(c, {{"kind", "k"}}));
  {
    Peer w(ctx_, endpoint_);
    w.Ready("w1", 4);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(w.Recv().cmd, static_cast<std::uint8_t>(Command::kJob));
    StopBroker();  // the jobs finish while it is down
  }
  StartBroker();
  Peer c2(ctx_, endpoint_);
  Peer w(ctx_, endpoint_);
  // A worker that is not running anything any more, with its four results.
  w.Ready("w1", 4);
  for (const auto& id : ids) w.Result(id, 1, Outcome::kSucceeded);
  int acked = 0;
  while (acked < 4) {
    Msg m = w.Recv();
    ASSERT_NE(m.cmd, 0) << "no ACK";
    ASSERT_NE(m.cmd, static_cast<std::uint8_t>(Command::kJob)) << "a finished job was dispatched again";
    if (m.cmd == static_cast<std::uint8_t>(Command::kAck)) acked += static_cast<int>(m.Json()["acks"].size());
  }
  for (const auto& id : ids) {
    json st = Status(c2, id)["job"];
    EXPECT_EQ(st["state"], "succeeded") << id;
    EXPECT_EQ(st["attempts"].size(), 1u) << id;
  }
  // Well past every grace period, nothing is dispatched again.
  clock_.Advance(60000);
  EXPECT_FALSE(AnyOf(w.UntilFence(), Command::kJob));
}

}  // namespace
}  // namespace sluice::broker::testing
