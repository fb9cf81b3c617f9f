// Bad input gets a clear error (or is dropped) and changes nothing; the
// broker keeps serving. After garbage frames, oversized messages and fields,
// a wrong protocol version, unknown or misdirected commands and invalid
// SUBMITs, the broker process is alive and a normal submit + run works.
#include "tests/integration/integration_test.h"

#include <random>

namespace sluice::testing {
namespace {

class BadInputTest : public IntegrationTest {
 protected:
  std::string RandomBytes(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng_() & 0xff);
    return s;
  }
  static std::string Cmd(proto::Command c) { return std::string(1, static_cast<char>(c)); }
  static std::string Proto() { return std::string(proto::kProtocol); }

  // The next REPLY/ERROR on `c` within `timeout`, decoded; discarded if none.
  static json NextAnswer(WireClient& c, Ms timeout, std::uint8_t* command = nullptr,
                         std::string* frame0 = nullptr) {
    auto m = c.Receive(timeout);
    if (!m) return json(json::value_t::discarded);
    if (command != nullptr) *command = m->command;
    if (frame0 != nullptr && !m->frames.empty()) *frame0 = m->frames[0];
    return m->Json();
  }

  std::mt19937 rng_{20240501};
};

TEST_F(BadInputTest, BrokerSurvivesGarbageAndKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const Ms answer_timeout = Scaled(Ms(15000));

  {
    SCOPED_TRACE("not sluice framing at all: dropped, no crash");
    WireClient raw(cluster_.endpoint());
    ASSERT_TRUE(raw.SendFrames({RandomBytes(100)}));
    std::vector<std::string> ten;
    for (int i = 0; i < 10; ++i) ten.push_back(RandomBytes(1 + rng_() % 200));
    ASSERT_TRUE(raw.SendFrames(ten));
    ASSERT_TRUE(raw.SendFrames({RandomBytes(7), RandomBytes(1), RandomBytes(50)}));
    ASSERT_TRUE(raw.SendFrames({Proto(), RandomBytes(3), RandomBytes(10)}));  // command frame of 3 bytes
    ASSERT_TRUE(raw.SendFrames({std::string(), std::string()}));
    std::vector<std::string> many(40, "x");
    ASSERT_TRUE(raw.SendFrames(many));
  }

  WireClient c(cluster_.endpoint());
  {
    SCOPED_TRACE("wrong protocol version -> ERROR version, framed SLUICE1");
    ASSERT_TRUE(c.SendFrames({"SLUICE9", Cmd(proto::Command::kStatus), MsgpackMap({{"req", 7}, {"id", "j1"}})}));
    std::uint8_t cmd = 0;
    std::string frame0;
    json e = NextAnswer(c, answer_timeout, &cmd, &frame0);
    ASSERT_TRUE(e.is_object()) << "no answer to a SLUICE9 message";
    EXPECT_EQ(cmd, static_cast<std::uint8_t>(proto::Command::kError));
    EXPECT_EQ(frame0, "SLUICE1");
    EXPECT_EQ(e.value("code", ""), "version") << e.dump();
    EXPECT_EQ(e.value("ok", true), false) << e.dump();
    EXPECT_NE(e.value("message", "").find("SLUICE1"), std::string::npos)
        << "the message should list the supported versions: " << e.dump();
  }
  {
    SCOPED_TRACE("unknown command byte -> ERROR unknown_command");
    ASSERT_TRUE(c.SendFrames({Proto(), std::string(1, '\x7f'), MsgpackMap({{"req", 8}})}));
    std::uint8_t cmd = 0;
    json e = NextAnswer(c, answer_timeout, &cmd);
    ASSERT_TRUE(e.is_object()) << "no answer to command 0x7f";
    EXPECT_EQ(cmd, static_cast<std::uint8_t>(proto::Command::kError));
    EXPECT_EQ(e.value("code", ""), "unknown_command") << e.dump();
  }
  {
    SCOPED_TRACE("a broker->worker command sent to the broker -> ERROR unknown_command");
    Answer a = c.Request(proto::Command::kJob, json{{"job", "j1"}, {"attempt", 1}, {"kind", "test.noop"}},
                         answer_timeout);
    EXPECT_EQ(a.code(), "unknown_command") << a.Describe();
  }
  {
    SCOPED_TRACE("SUBMIT whose body is not msgpack -> bad_request");
    ASSERT_TRUE(c.Send(proto::Command::kSubmit, RandomBytes(64)));
    json e = NextAnswer(c, answer_timeout);
    ASSERT_TRUE(e.is_object()) << "no answer to an undecodable SUBMIT";
    EXPECT_EQ(e.value("code", ""), "bad_request") << e.dump();
  }
  {
    SCOPED_TRACE("SUBMIT whose body is a msgpack array -> bad_request");
    ASSERT_TRUE(c.Send(proto::Command::kSubmit, MsgpackMap(json::array({1, 2, 3}))));
    json e = NextAnswer(c, answer_timeout);
    ASSERT_TRUE(e.is_object());
    EXPECT_EQ(e.value("code", ""), "bad_request") << e.dump();
  }
  {
    SCOPED_TRACE("SUBMIT with a truncated body -> bad_request");
    std::string body = MsgpackMap({{"req", 9}, {"jobs", json::array({{{"kind", "test.noop"}}})}});
    body.resize(body.size() - 4);
    ASSERT_TRUE(c.Send(proto::Command::kSubmit, body));
    json e = NextAnswer(c, answer_timeout);
    ASSERT_TRUE(e.is_object());
    EXPECT_EQ(e.value("code", ""), "bad_request") << e.dump();
  }
  {
    SCOPED_TRACE("SUBMIT with a bad kind -> bad_request naming jobs[1] and kind; nothing created");
    Answer a = c.Request(proto::Command::kSubmit,
                         json{{"jobs", json::array({{{"kind", "test.noop"}}, {{"kind", "bad kind!"}}})}},
                         answer_timeout);
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
    std::string msg = a.body.is_object() ? a.body.value("message", "") : "";
    EXPECT_NE(msg.find("jobs[1]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("kind"), std::string::npos) << msg;
    EXPECT_EQ(a.body.value("req", json(0)), c.last_req()) << "the ERROR should echo the request's req";
  }
  {
    SCOPED_TRACE("SUBMIT with a 2 MiB params map -> bad_request");
    json params{{"blob", std::string(2 << 20, 'x')}};
    Answer a = c.Request(proto::Command::kSubmit, json{{"jobs", json::array({{{"kind", "test.noop"}, {"params", params}}})}},
                         answer_timeout);
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
  }
  {
    SCOPED_TRACE("SUBMIT with a 300-byte key and an out-of-range priority -> bad_request");
    Answer a = c.Request(proto::Command::kSubmit,
                         json{{"jobs", json::array({{{"kind", "test.noop"}, {"key", std::string(300, 'k')}}})}},
                         answer_timeout);
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
    a = c.Request(proto::Command::kSubmit,
                  json{{"jobs", json::array({{{"kind", "test.noop"}, {"priority", 5000}}})}}, answer_timeout);
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
    a = c.Request(proto::Command::kSubmit, json{{"jobs", json::array()}}, answer_timeout);
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
  }
  {
    SCOPED_TRACE("STATUS of an unknown id -> not_found; RETRY of it too");
    Answer a = c.Status("j999999", answer_timeout);
    EXPECT_EQ(a.code(), "not_found") << a.Describe();
    a = c.Retry("j999999", answer_timeout);
    EXPECT_EQ(a.code(), "not_found") << a.Describe();
    a = c.Request(proto::Command::kStatus, json::object(), answer_timeout);  // no id
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
  }
  {
    SCOPED_TRACE("RESULT from a connection that never sent READY -> unknown_worker");
    ASSERT_TRUE(c.Send(proto::Command::kResult,
                       MsgpackMap({{"job", "j1"}, {"attempt", 1}, {"outcome", "succeeded"}})));
    // Neither recorded nor ACKed (PROTOCOL.md §5.3): the ERROR is the answer.
    json e;
    for (int i = 0; i < 3; ++i) {
      std::uint8_t cmd = 0;
      e = NextAnswer(c, answer_timeout, &cmd);
      if (!e.is_object() || cmd == static_cast<std::uint8_t>(proto::Command::kError)) break;
    }
    ASSERT_TRUE(e.is_object()) << "no ERROR in answer to a RESULT without READY";
    EXPECT_EQ(e.value("code", ""), "unknown_worker") << e.dump();
  }
  {
    SCOPED_TRACE("a message over ZMQ_MAXMSGSIZE (64 MiB) closes only that connection");
    WireClient big(cluster_.endpoint());
    ASSERT_TRUE(big.Send(proto::Command::kSubmit, std::string((64 << 20) + 4096, 'z'), Scaled(Ms(30000))));
    // The broker does not answer it; wait a moment for it to be read.
    auto m = big.Receive(Scaled(Ms(3000)));
    EXPECT_FALSE(m.has_value()) << "an answer to a 64 MiB message";
  }
  ASSERT_TRUE(cluster_.broker()->Running()) << "the broker died of bad input: " << cluster_.broker()->Describe();

  // Still serving: a normal submit runs to the end, on the same client
  // connection that sent the garbage and on a fresh one.
  cluster_.StartWorker(2);
  const std::string id1 = SubmitOne(Spec("test.noop"));
  ASSERT_FALSE(id1.empty());
  std::vector<proto::SubmittedJob> out;
  Answer a = c.Submit({Spec("test.noop")}, &out, answer_timeout);
  ASSERT_TRUE(a.ok()) << a.Describe();
  ASSERT_EQ(out.size(), 1u);
  for (const auto& id : {id1, out[0].id}) {
    json job = WaitForState(id, {"succeeded", "dead", "cancelled"});
    EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
  }
  ASSERT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();

  // None of the bad SUBMITs created anything; bad messages were counted.
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), 2);
  Answer stats = client().Stats();
  ASSERT_TRUE(stats.ok()) << stats.Describe();
  json counters = stats.body["stats"].value("counters", json::object());
  EXPECT_GT(counters.value("bad_messages", 0), 0) << stats.body.dump();
}

}  // namespace
}  // namespace sluice::testing
