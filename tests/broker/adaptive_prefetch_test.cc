// Adaptive prefetch and DONE, on the broker's loop in-process: a worker that
// says READY `adaptive` gets no prefetch before its first result, then up to
// its declared prefetch; what it holds beyond its slots is asked back
// (RECALL) when another worker has a free slot and nothing else to take.
#include <map>
#include <set>

#include "tests/broker/broker_fixture.h"

namespace sluice::broker {
namespace {

using namespace sluice::broker::testing;  // NOLINT: the fixture's vocabulary

constexpr auto kJob = static_cast<std::uint8_t>(Command::kJob);

json Jobs(int n) {
  json jobs = json::array();
  for (int i = 0; i < n; ++i) jobs.push_back({{"kind", "k"}});
  return jobs;
}

// Reads JOBs (skipping ACKs) until `n` arrived.
std::vector<json> Jobs(Peer& worker, int n) {
  std::vector<json> got;
  while (static_cast<int>(got.size()) < n) {
    Msg m = worker.Recv(10000);
    if (m.cmd == 0) {
      ADD_FAILURE() << "only " << got.size() << " of " << n << " JOBs";
      break;
    }
    if (m.cmd == kJob) got.push_back(m.Json());
  }
  return got;
}

TEST_F(BrokerLoopTest, AdaptiveWorkerGetsPrefetchOnlyOnceItsPaceIsKnown) {
  config_.prefetch_target_us = 60LL * 1000 * 1000;  // any pace opens the whole window
  StartBroker();
  Peer client(ctx_, endpoint_), worker(ctx_, endpoint_);
  client.Request(Command::kSubmit, {{"jobs", Jobs(20)}});
  worker.Ready("w1", 2, {}, 60000, 5, {"k"}, true);
  std::vector<json> first = Jobs(worker, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(worker.UntilFence().empty()) << "prefetch before the worker's pace is known";
  worker.Result(first[0]["job"], 1, Outcome::kSucceeded);
  // One slot freed, and the window opened: 1 + 5 prefetched, never more.
  std::vector<json> more = Jobs(worker, 6);
  EXPECT_EQ(more.size(), 6u);
  for (const Msg& m : worker.UntilFence()) EXPECT_NE(m.cmd, kJob) << "more than slots + prefetch";
}

TEST_F(BrokerLoopTest, PrefetchedJobsAreRecalledForAnIdleWorker) {
  config_.prefetch_target_us = 60LL * 1000 * 1000;
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  client.Request(Command::kSubmit, {{"jobs", Jobs(11)}});
  w1.Ready("w1", 2, {}, 60000, 8, {"k"}, true);
  std::vector<json> held = Jobs(w1, 2);
  ASSERT_EQ(held.size(), 2u);
  w1.Result(held[0]["job"], 1, Outcome::kSucceeded);
  // One slot freed and the window open: the other 9 (2 slots + 8 prefetch
  // minus the one still held).
  ASSERT_EQ(Jobs(w1, 9).size(), 9u);
  // w1 holds 10 with 2 slots. w2 comes with 3 free slots and the queue is
  // empty: 3 of w1's newest are asked back.
  w2.Ready("w2", 3, {}, 60000);
  Msg recall;
  for (Msg m = w1.Recv(10000); m.cmd != 0; m = w1.Recv(10000)) {
    if (m.cmd == static_cast<std::uint8_t>(Command::kRecall)) {
      recall = m;
      break;
    }
  }
  ASSERT_EQ(recall.cmd, static_cast<std::uint8_t>(Command::kRecall));
  json asked = recall.Json()["jobs"];
  ASSERT_EQ(asked.size(), 3u);
  // w1 had started one of them already: it hands back the other two.
  for (int i = 0; i < 2; ++i) w1.Result(asked[i][0], asked[i][1], Outcome::kReturned, "recalled");
  std::vector<json> moved = Jobs(w2, 2);
  ASSERT_EQ(moved.size(), 2u);
  std::set<std::string> returned = {asked[0][0], asked[1][0]};
  for (const json& j : moved) {
    EXPECT_EQ(returned.count(j["job"]), 1u) << j.dump();
    EXPECT_EQ(j["attempt"], 2);
  }
  // w2 has a slot free still, so more of w1's are asked for; never the
  // third of the first RECALL again (w1 kept it: it runs it).
  int again = 0;
  for (const Msg& m : w1.UntilFence()) {
    if (m.cmd != static_cast<std::uint8_t>(Command::kRecall)) continue;
    const json body = m.Json();
    for (const json& p : body["jobs"]) {
      EXPECT_NE(p[0], asked[2][0]) << "asked twice";
      ++again;
    }
  }
  // How many depends on whether the two RESULTs shared a loop turn.
  EXPECT_GE(again, 1);
  EXPECT_LE(again, 3);
  json stats = Stats(client);
  EXPECT_EQ(stats["counters"]["recalled"], 3 + again);
  EXPECT_EQ(stats["counters"]["returned"], 2);
}

TEST_F(BrokerLoopTest, ADrainingWorkerIsNotAskedBack) {
  config_.prefetch_target_us = 60LL * 1000 * 1000;
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  client.Request(Command::kSubmit, {{"jobs", Jobs(3)}});
  w1.Ready("w1", 2, {}, 60000, 8, {"k"}, true);
  ASSERT_EQ(Jobs(w1, 2).size(), 2u);
  std::string drain;
  proto::Encode(proto::Heartbeat{0}, &drain);
  w1.Send(Command::kHeartbeat, drain);
  EXPECT_TRUE(w1.UntilFence().empty());
  // w2 takes the queued one; w1's two run there (it drains): not asked for.
  w2.Ready("w2", 3, {}, 60000);
  ASSERT_EQ(Jobs(w2, 1).size(), 1u);
  for (const Msg& m : w1.UntilFence()) EXPECT_NE(m.cmd, static_cast<std::uint8_t>(Command::kRecall));
  EXPECT_EQ(Stats(client)["counters"]["recalled"], 0);
}

TEST_F(BrokerLoopTest, AWorkerWithoutAdaptiveIsNeverAskedBack) {
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  client.Request(Command::kSubmit, {{"jobs", Jobs(6)}});
  w1.Ready("w1", 2, {}, 60000, 4);  // fixed prefetch, as a worker of PROTOCOL.md before `adaptive`
  ASSERT_EQ(Jobs(w1, 6).size(), 6u);
  w2.Ready("w2", 3, {}, 60000);
  EXPECT_TRUE(w2.UntilFence().empty());
  for (const Msg& m : w1.UntilFence()) EXPECT_NE(m.cmd, static_cast<std::uint8_t>(Command::kRecall));
}

TEST_F(BrokerLoopTest, FreeSlotsAreFilledBeforeAnyPrefetch) {
  config_.prefetch_target_us = 60LL * 1000 * 1000;
  StartBroker();
  Peer client(ctx_, endpoint_), w1(ctx_, endpoint_), w2(ctx_, endpoint_);
  w1.Ready("w1", 1, {}, 60000, 8, {"k"}, true);
  // One quick job opens w1's window (its pace is known).
  std::string id = Submit(client, {{"kind", "k"}});
  ASSERT_EQ(Jobs(w1, 1).size(), 1u);
  w1.Result(id, 1, Outcome::kSucceeded);
  EXPECT_TRUE(w1.UntilFence().size() <= 1);  // its ACK
  w2.Ready("w2", 4, {}, 60000);
  EXPECT_TRUE(w2.UntilFence().empty());
  // 5 jobs, 1 + 4 free slots: each worker gets its slots; w1's window
  // would take all 5 if prefetch came first.
  client.Request(Command::kSubmit, {{"jobs", Jobs(5)}});
  EXPECT_EQ(Jobs(w2, 4).size(), 4u);
  int to_w1 = 0;
  for (const Msg& m : w1.UntilFence()) to_w1 += m.cmd == kJob;
  EXPECT_EQ(to_w1, 1);
}

TEST_F(BrokerLoopTest, DoneIsPushedAfterTheEndIsRecorded) {
  StartBroker();
  Peer client(ctx_, endpoint_), other(ctx_, endpoint_), worker(ctx_, endpoint_);
  json r = client.Request(Command::kSubmit, {{"jobs", Jobs(2)}, {"notify", true}});
  ASSERT_EQ(r["jobs"].size(), 2u);
  std::string a = r["jobs"][0]["id"], b = r["jobs"][1]["id"];
  // Another client's job, without notify: nothing is pushed for it.
  std::string c = Submit(other, {{"kind", "k"}});
  worker.Ready("w1", 3, {}, 60000);
  std::vector<json> jobs = Jobs(worker, 3);
  ASSERT_EQ(jobs.size(), 3u);
  worker.Result(a, 1, Outcome::kSucceeded);
  worker.Result(b, 1, Outcome::kFailed, "boom", false);
  worker.Result(c, 1, Outcome::kSucceeded);
  std::map<std::string, std::string> done;
  while (done.size() < 2) {
    Msg m = client.Recv(10000);
    ASSERT_NE(m.cmd, 0) << "no DONE";
    ASSERT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kDone));
    proto::DoneMsg d;
    ASSERT_TRUE(proto::Decode(m.body, &d).ok());
    done[d.job] = std::string(JobStateName(d.state));
    // Sent after the commit: the state is there to read.
    EXPECT_EQ(Status(other, d.job)["job"]["state"], done[d.job]);
  }
  EXPECT_EQ(done[a], "succeeded");
  EXPECT_EQ(done[b], "dead");
  for (const Msg& m : other.UntilFence()) EXPECT_NE(m.cmd, static_cast<std::uint8_t>(Command::kDone));
}

}  // namespace
}  // namespace sluice::broker
