// The broker builds its replies as the typed views of schemas/replies.h and
// encodes them with proto::Encode. What goes on the wire is what the JSON
// replies it built before were: the body is its own JSON through
// to_msgpack (keys in byte order, nil where the JSON has null, integers in
// their shortest form), and it decodes with the client's typed decoders.
#include "tests/broker/broker_fixture.h"

#include <thread>

#include "schemas/replies.h"

namespace sluice::broker::testing {
namespace {

class TypedRepliesTest : public BrokerLoopTest {
 protected:
  // Sends `body` (with a fresh req) and returns the REPLY's body, checked to
  // be the bytes of its JSON.
  std::string Reply(Peer& p, Command c, json body) {
    body["req"] = ++req_;
    p.SendJson(c, body);
    Msg m = p.Recv();
    EXPECT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kReply)) << (m.cmd ? m.Json().dump() : "no answer");
    if (m.cmd != static_cast<std::uint8_t>(Command::kReply)) return {};
    const json j = json::from_msgpack(m.body);
    EXPECT_EQ(j["req"], req_);
    EXPECT_EQ(j["ok"], true);
    auto again = json::to_msgpack(j);
    EXPECT_EQ(std::string(again.begin(), again.end()), m.body) << "not the bytes of its JSON: " << j.dump();
    return m.body;
  }
  template <typename R>
  R Typed(const std::string& body) {
    R r;
    sluice::Status s = proto::Decode(body, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  // Waits until WORKERS shows `n` workers: a READY from another connection
  // may be read after a request sent later.
  std::size_t WaitWorkers(Peer& c, std::size_t n) {
    std::size_t got = 0;
    for (int i = 0; i < 200; ++i) {
      got = c.Request(Command::kWorkers, json::object())["workers"].size();
      if (got == n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return got;
  }

  std::uint64_t req_ = 1000;
};

TEST_F(TypedRepliesTest, EveryReplyIsTheBytesOfItsJson) {
  StartBroker();
  Peer w(ctx_, endpoint_);
  w.Ready("w1", 1, {}, 1000, 0, {"k"});
  Peer c(ctx_, endpoint_);
  ASSERT_EQ(WaitWorkers(c, 1), 1u);
  const json params = {{"a", "b"}, {"n", 3}, {"neg", -5}, {"nested", {{"x", {1, 2, nullptr}}}}};
  const std::string a = Submit(c, {{"kind", "k"},
                                   {"params", params},
                                   {"key", "k1"},
                                   {"priority", -5},
                                   {"concurrency_key", "db"},
                                   {"concurrency_limit", 2}});
  Msg job = w.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));
  const std::string b = Submit(c, {{"kind", "other"}});  // waits: no worker runs it

  // A running job, with detail: params as submitted, one attempt running.
  proto::JobReply st = Typed<proto::JobReply>(Reply(c, Command::kStatus, {{"id", a}}));
  EXPECT_EQ(st.job.id, a);
  EXPECT_EQ(st.job.state, "running");
  EXPECT_EQ(st.job.priority, -5);
  EXPECT_EQ(st.job.concurrency_key, "db");
  EXPECT_EQ(st.job.concurrency_limit, 2u);
  ASSERT_EQ(st.job.attempts.size(), 1u);
  EXPECT_FALSE(st.job.attempts[0].finished_ms.has_value());
  EXPECT_EQ(proto::ToJson(st.job)["params"], params);
  EXPECT_EQ(proto::ToJson(st.job)["outputs"], nullptr);
  // A queued job says why it waits.
  st = Typed<proto::JobReply>(Reply(c, Command::kStatus, {{"id", b}}));
  EXPECT_NE(st.job.waiting.find("'other'"), std::string::npos) << st.job.waiting;

  EXPECT_EQ(Typed<proto::ListReply>(Reply(c, Command::kList, json::object())).jobs.size(), 2u);
  EXPECT_EQ(Typed<proto::ListReply>(Reply(c, Command::kList, {{"state", "running"}})).jobs.size(), 1u);
  EXPECT_EQ(Typed<proto::ListReply>(Reply(c, Command::kList, {{"state", "queued"}, {"limit", 5}})).jobs.size(), 1u);
  proto::WorkersReply workers = Typed<proto::WorkersReply>(Reply(c, Command::kWorkers, json::object()));
  ASSERT_EQ(workers.workers.size(), 1u);
  EXPECT_EQ(workers.workers[0].worker, "w1");
  EXPECT_EQ(workers.workers[0].busy, 1u);
  ASSERT_EQ(workers.workers[0].running.size(), 1u);
  EXPECT_EQ(workers.workers[0].running[0].job, a);
  proto::StatsReply stats = Typed<proto::StatsReply>(Reply(c, Command::kStats, json::object()));
  EXPECT_EQ(stats.stats.doc["counters"]["submitted"], 2);
  EXPECT_TRUE(Typed<proto::SchedulesReply>(Reply(c, Command::kSchedules, json::object())).schedules.empty());
  EXPECT_TRUE(Typed<proto::ExtractionsReply>(Reply(c, Command::kExtractions, json::object())).extractions.empty());

  // CANCEL_JOB and RETRY answer with the job.
  st = Typed<proto::JobReply>(Reply(c, Command::kCancelJob, {{"id", b}}));
  EXPECT_EQ(st.job.state, "cancelled");
  EXPECT_TRUE(st.job.finished_ms.has_value());
  st = Typed<proto::JobReply>(Reply(c, Command::kRetry, {{"id", b}}));
  EXPECT_EQ(st.job.state, "queued");

  // A finished attempt: its outcome, error and outputs.
  w.Result(a, 1, Outcome::kFailed, "boom", false);
  for (int i = 0; i < 200 && st.job.state != "dead"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st = Typed<proto::JobReply>(Reply(c, Command::kStatus, {{"id", a}}));
  }
  EXPECT_EQ(st.job.state, "dead");
  EXPECT_EQ(st.job.error.rfind("boom", 0), 0u) << st.job.error;
  ASSERT_EQ(st.job.attempts.size(), 1u);
  EXPECT_EQ(st.job.attempts[0].outcome, "failed");
  EXPECT_EQ(st.job.attempts[0].error, "boom");
  EXPECT_EQ(st.job.attempts[0].worker, "w1");
}

}  // namespace
}  // namespace sluice::broker::testing
