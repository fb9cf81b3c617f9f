// What PROTOCOL.md documents as invalid is refused: raw frames sent to the
// broker's loop get ERROR bad_request naming the field, and nothing is
// changed (a later LIST, the fence, shows no job).
#include <msgpack.hpp>

#include <tuple>

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
  ASSERT_EQ(WaitWorkers(c, 1), 1u);
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

// RUN, RUNS, PAUSE, RESUME and RELOAD are decoded with the codecs of
// schemas/requests.h, as the other requests are (PROTOCOL.md §6): `req` is
// required, names follow the name rule, a RUNS `limit` above 10,000 is
// refused, and the refusal echoes the request's `req`.
TEST_F(StrictRequestsTest, WorkflowRequestsHaveTheOneStrictness) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  auto pack = [](const json& j) {
    auto v = json::to_msgpack(j);
    return std::string(v.begin(), v.end());
  };
  // No req (it was optional; RELOAD read no field at all).
  const std::tuple<Command, std::string, json> no_req[] = {
      {Command::kRun, "RUN", {{"workflow", "w"}}},
      {Command::kRuns, "RUNS", json::object()},
      {Command::kPause, "PAUSE", {{"workflow", "w"}}},
      {Command::kResume, "RESUME", {{"workflow", "w"}}},
      {Command::kReload, "RELOAD", json::object()},
  };
  for (const auto& [cmd, name, body] : no_req) {
    SCOPED_TRACE(name);
    json e = Refused(c, cmd, pack(body));
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["message"], name + ": missing field 'req'");
    EXPECT_EQ(e["req"], 0);
  }
  // A RUNS limit above 10,000 (it was clamped), or not a uint (it was ignored).
  json e = Refused(c, Command::kRuns, pack({{"req", 5}, {"limit", 10001}}));
  EXPECT_EQ(e["code"], "bad_request");
  EXPECT_EQ(e["message"], "RUNS: field 'limit' must be at most 10000");
  EXPECT_EQ(e["req"], 5);
  e = Refused(c, Command::kRuns, pack({{"req", 6}, {"limit", "all"}}));
  EXPECT_EQ(e["code"], "bad_request");
  EXPECT_EQ(e["req"], 6);
  e = Refused(c, Command::kRuns, pack({{"req", 7}, {"state", "dead"}}));
  EXPECT_EQ(e["message"], "RUNS: field 'state' is not a run state: 'dead'");
  // A malformed workflow name is bad_request (it was not_found).
  for (const auto& [cmd, name] : {std::pair{Command::kRun, "RUN"}, std::pair{Command::kPause, "PAUSE"},
                                  std::pair{Command::kResume, "RESUME"}}) {
    SCOPED_TRACE(name);
    e = Refused(c, cmd, pack({{"req", 8}, {"workflow", "no such"}}));
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["message"], std::string(name) + ": field 'workflow' must be 1-64 characters of [A-Za-z0-9._-]");
    EXPECT_EQ(e["req"], 8);
  }
  e = Refused(c, Command::kRun, pack({{"req", 9}, {"workflow", "w"}, {"params", {{"a b", "x"}}}}));
  EXPECT_EQ(e["code"], "bad_request");
  EXPECT_NE(e["message"].get<std::string>().find("'params' key 'a b'"), std::string::npos) << e.dump();
  e = Refused(c, Command::kRun, pack({{"req", 10}, {"workflow", "w"}, {"params", {{"n", 1}}}}));
  EXPECT_EQ(e["message"], "RUN: field 'params' must map strings to strings");
  // Well-formed, they are answered.
  EXPECT_EQ(c.Request(Command::kRun, {{"workflow", "w"}})["code"], "not_found");
  EXPECT_EQ(c.Request(Command::kPause, {{"workflow", "w"}})["code"], "not_found");
  json runs = c.Request(Command::kRuns, {{"limit", 10000}});
  EXPECT_EQ(runs.value("ok", false), true) << runs.dump();
  EXPECT_EQ(runs["runs"], json::array());
}

// STATUS, RETRY and CANCEL_JOB: an `id` is required and not empty; one that
// is no job id (nor, for STATUS and CANCEL_JOB, a run id) is not_found.
TEST_F(StrictRequestsTest, IdRequestsTellJobIdsFromRunIds) {
  StartBroker();
  Peer c(ctx_, endpoint_);
  for (const auto& [cmd, name] : {std::pair{Command::kStatus, "STATUS"}, std::pair{Command::kRetry, "RETRY"},
                                  std::pair{Command::kCancelJob, "CANCEL_JOB"}}) {
    SCOPED_TRACE(name);
    json e = c.Request(cmd, {{"id", ""}});
    EXPECT_EQ(e["code"], "bad_request");
    EXPECT_EQ(e["message"], std::string(name) + ": field 'id' must not be empty");
    e = c.Request(cmd, json::object());
    EXPECT_EQ(e["message"], std::string(name) + ": missing field 'id'");
    e = c.Request(cmd, {{"id", "x"}});
    EXPECT_EQ(e["code"], "not_found");
    EXPECT_EQ(e["message"], "no job 'x' (job ids look like j123)");
    EXPECT_EQ(c.Request(cmd, {{"id", "j77"}})["code"], "not_found");
  }
  // A run id that names no run: not_found from the runs (no registry here).
  EXPECT_EQ(c.Request(Command::kStatus, {{"id", "r9"}})["code"], "not_found");
  EXPECT_EQ(c.Request(Command::kCancelJob, {{"id", "r9"}})["code"], "not_found");
  EXPECT_EQ(c.Request(Command::kRetry, {{"id", "r9"}})["code"], "not_found");
  // LIST and EXTRACTIONS: a limit above 10,000 is refused.
  for (Command cmd : {Command::kList, Command::kExtractions}) {
    json e = c.Request(cmd, {{"limit", 10001}});
    EXPECT_EQ(e["code"], "bad_request") << e.dump();
  }
}

}  // namespace
}  // namespace sluice::broker::testing
