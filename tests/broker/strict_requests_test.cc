// What PROTOCOL.md documents as invalid is refused: raw frames sent to the
// broker's loop get ERROR bad_request naming the field, and nothing is
// changed (a later LIST, the fence, shows no job).
#include <msgpack.hpp>

#include "tests/broker/broker_fixture.h"

namespace sluice::broker::testing {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

std::string Bytes(const msgpack::sbuffer& b) { return {b.data(), b.size()}; }
void Str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

const std::string kBad = "caf\xc3";  // a character cut short

class StrictRequestsTest : public BrokerLoopTest {
 protected:
  // Sends `body` raw and returns the answer, which must be an ERROR.
  json Refused(Peer& p, Command c, const std::string& body) {
    p.Send(c, body);
    Msg m = p.Recv();
    EXPECT_EQ(m.cmd, static_cast<std::uint8_t>(Command::kError)) << "not an ERROR: " << m.Json().dump();
    return m.cmd ? m.Json() : json::object();
  }
  std::size_t JobCount(Peer& p) { return p.Request(Command::kList, json::object())["jobs"].size(); }
};

TEST_F(StrictRequestsTest, ReqOnlyRequestsNeedAMapWithAReq) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  const std::pair<Command, const char*> commands[] = {
      {Command::kStats, "STATS"}, {Command::kWorkers, "WORKERS"}, {Command::kSchedules, "SCHEDULES"}};
  for (const auto& [cmd, name] : commands) {
    SCOPED_TRACE(name);
    // Not a map: an array, an integer.
    for (const std::string& body : {std::string("\x91\x01", 2), std::string("\x05", 1)}) {
      json e = Refused(c, cmd, body);
      EXPECT_EQ(e["code"], "bad_request");
      EXPECT_EQ(e["message"].get<std::string>().rfind(std::string(name) + ": ", 0), 0u) << e.dump();
      EXPECT_NE(e["message"].get<std::string>().find("map"), std::string::npos) << e.dump();
    }
    // No req; a req that is not a non-negative integer.
    for (const json& body : {json::object(), json{{"req", "7"}}, json{{"req", -3}}, json{{"req", nullptr}}}) {
      auto v = json::to_msgpack(body);
      json e = Refused(c, cmd, std::string(v.begin(), v.end()));
      EXPECT_EQ(e["code"], "bad_request") << body.dump();
      EXPECT_NE(e["message"].get<std::string>().find("'req'"), std::string::npos) << e.dump();
      EXPECT_NE(e["message"].get<std::string>().find(name), std::string::npos) << e.dump();
    }
    // Well-formed, it is answered.
    json ok = c.Request(cmd, json::object());
    EXPECT_EQ(ok.value("ok", false), true) << ok.dump();
  }
}

TEST_F(StrictRequestsTest, AStringThatIsNotUtf8AnywhereInARequestIsRefused) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  // SUBMIT {req, jobs: [{kind, note: <bad>}]}: a field nobody reads.
  {
    msgpack::sbuffer b;
    Packer pk(b);
    pk.pack_map(2);
    Str(pk, "req");
    pk.pack(1);
    Str(pk, "jobs");
    pk.pack_array(1);
    pk.pack_map(2);
    Str(pk, "kind");
    Str(pk, "k");
    Str(pk, "note");
    Str(pk, kBad);
    json e = Refused(c, Command::kSubmit, Bytes(b));
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["req"], 1);
    EXPECT_EQ(e["message"], "SUBMIT: field 'jobs[0].note' is not valid UTF-8");
  }
  // SUBMIT with a key that is not UTF-8 in a job spec.
  {
    msgpack::sbuffer b;
    Packer pk(b);
    pk.pack_map(2);
    Str(pk, "req");
    pk.pack(2);
    Str(pk, "jobs");
    pk.pack_array(1);
    pk.pack_map(2);
    Str(pk, "kind");
    Str(pk, "k");
    Str(pk, kBad);
    pk.pack(1);
    json e = Refused(c, Command::kSubmit, Bytes(b));
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["message"], "SUBMIT: a key in 'jobs[0]' is not valid UTF-8");
  }
  // STATUS of an id that is not UTF-8: bad_request, not not_found.
  {
    msgpack::sbuffer b;
    Packer pk(b);
    pk.pack_map(2);
    Str(pk, "req");
    pk.pack(3);
    Str(pk, "id");
    Str(pk, "j" + kBad);
    json e = Refused(c, Command::kStatus, Bytes(b));
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["message"], "STATUS: field 'id' is not valid UTF-8");
  }
  // LIST and STATS with an extra field that is not UTF-8.
  for (const auto& [cmd, name] : {std::pair{Command::kList, "LIST"}, std::pair{Command::kStats, "STATS"}}) {
    msgpack::sbuffer b;
    Packer pk(b);
    pk.pack_map(2);
    Str(pk, "req");
    pk.pack(4);
    Str(pk, "x");
    pk.pack_array(2);
    Str(pk, "fine");
    Str(pk, kBad);
    json e = Refused(c, cmd, Bytes(b));
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["message"], std::string(name) + ": field 'x[1]' is not valid UTF-8");
  }
  EXPECT_EQ(JobCount(c), 0u);  // the fence: nothing was created
}

TEST_F(StrictRequestsTest, ConcurrencyLimitZeroIsRefused) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  json e = c.Request(Command::kSubmit,
                     {{"jobs", {{{"kind", "k"}, {"concurrency_key", "db"}, {"concurrency_limit", 0}}}}});
  EXPECT_EQ(e["code"], "bad_request") << e.dump();
  EXPECT_NE(e.value("message", "").find("'concurrency_limit'"), std::string::npos) << e.dump();
  EXPECT_EQ(JobCount(c), 0u);
  json ok = c.Request(Command::kSubmit,
                      {{"jobs", {{{"kind", "k"}, {"concurrency_key", "db"}, {"concurrency_limit", 1}}}}});
  EXPECT_EQ(ok.value("ok", false), true) << ok.dump();
}

TEST_F(StrictRequestsTest, ARefusedResultNamesItsJobAndAttempt) {
  StartBroker();
  Peer w(ctx_, endpoint_);
  w.Ready("w1", 1);
  Peer c(ctx_, endpoint_);
  ASSERT_EQ(c.Request(Command::kWorkers, json::object())["workers"].size(), 1u);
  const std::string id = Submit(c, {{"kind", "k"}});
  Msg job = w.Recv();
  ASSERT_EQ(job.cmd, static_cast<std::uint8_t>(Command::kJob));
  // An outcome the protocol does not know.
  json e = Refused(w, Command::kResult,
                   [&] {
                     auto v = json::to_msgpack({{"job", id}, {"attempt", 1}, {"outcome", "exploded"}});
                     return std::string(v.begin(), v.end());
                   }());
  EXPECT_EQ(e["code"], "bad_request");
  EXPECT_NE(e.value("message", "").find("'outcome'"), std::string::npos) << e.dump();
  EXPECT_EQ(e.value("job", ""), id) << e.dump();
  EXPECT_EQ(e.value("attempt", 0), 1) << e.dump();
  // A RESULT whose job and attempt cannot be read says nothing of them.
  e = Refused(w, Command::kResult, std::string("\x81\xa3job\x05", 6));
  EXPECT_EQ(e["code"], "bad_request");
  EXPECT_FALSE(e.contains("job")) << e.dump();
}

}  // namespace
}  // namespace sluice::broker::testing
