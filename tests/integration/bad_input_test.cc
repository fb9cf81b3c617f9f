// Bad input gets a clear error (or is dropped) and changes nothing; the
// broker keeps serving. After garbage frames, oversized messages and fields,
// a wrong protocol version, unknown or misdirected commands and invalid
// SUBMITs, the broker process is alive and a normal submit + run works.
#include "tests/integration/integration_test.h"

#include <csignal>
#include <chrono>
#include <fstream>
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

// `levels` arrays inside one another (0x91 ... 0x90).
std::string NestedArrays(std::size_t levels) {
  std::string s(levels - 1, '\x91');
  s.push_back('\x90');
  return s;
}

// {"a": <levels nested arrays>}.
std::string MapOfNested(std::size_t levels) { return "\x81\xa1" "a" + NestedArrays(levels); }

// `levels` maps inside one another, {"a": {"a": ... {}}}: 3 bytes a level.
std::string NestedMaps(std::size_t levels) {
  std::string s;
  for (std::size_t i = 1; i < levels; ++i) s += "\x81\xa1" "a";
  s.push_back('\x80');
  return s;
}

// The broker's peak resident memory (VmHWM) in bytes, or -1.
std::int64_t PeakRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<Ms>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Defect (critical): a RUN with params nested ~43,000 deep segfaulted the
// broker (recursive JSON decoding); a SUBMIT nested 100,000 deep was
// stored; a 48 MiB message of nested arrays took 2 GB. Now each is
// bad_request at level 65, and the broker answers STATS afterwards.
TEST_F(BadInputTest, DeeplyNestedRunAndSubmitAreRefusedAndTheBrokerLives) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const Ms answer_timeout = Scaled(Ms(30000));
  WireClient c(cluster_.endpoint());
  {
    SCOPED_TRACE("RUN with params nested 300,000 levels (the attack used 43,000) -> bad_request");
    std::string body = std::string("\x83\xa3req\x05\xa8workflow\xa1w\xa6params") + NestedMaps(300000);
    ASSERT_TRUE(c.Send(proto::Command::kRun, body));
    json e = NextAnswer(c, answer_timeout);
    ASSERT_TRUE(e.is_object()) << "no answer to a deep RUN: " << cluster_.broker()->Describe();
    EXPECT_EQ(e.value("code", ""), "bad_request") << e.dump();
    EXPECT_EQ(e.value("message", ""), "RUN: nested deeper than 64 levels") << e.dump();
    EXPECT_EQ(e.value("req", 0), 5) << e.dump();
  }
  {
    SCOPED_TRACE("SUBMIT with params nested 100,000 levels -> bad_request, nothing stored");
    std::vector<proto::SubmittedJob> out;
    proto::JobSpec spec = Spec("test.noop");
    spec.params = MapOfNested(100000);
    Answer a = c.Submit({spec}, &out, answer_timeout);
    EXPECT_EQ(a.code(), "bad_request") << a.Describe();
    EXPECT_NE(a.body.value("message", "").find("nested deeper than 64 levels"), std::string::npos) << a.Describe();
  }
  {
    SCOPED_TRACE("SUBMIT with params nested just within the limit is taken");
    std::vector<proto::SubmittedJob> out;
    proto::JobSpec spec = Spec("test.noop");
    spec.params = MapOfNested(proto::kMaxDepth - 4);  // body, jobs, spec, params: 64 in all
    Answer a = c.Submit({spec}, &out, answer_timeout);
    ASSERT_TRUE(a.ok()) << a.Describe();
    ASSERT_EQ(out.size(), 1u);
    json job = c.Job(out[0].id, answer_timeout);
    ASSERT_TRUE(job.is_object());
    EXPECT_TRUE(job["params"].is_object()) << job.dump();
  }
  {
    SCOPED_TRACE("48 MiB of nested 1-element arrays -> bad_request, memory bounded");
    ASSERT_TRUE(c.Send(proto::Command::kSubmit, "\x82\xa3req\x09\xa4jobs" + NestedArrays(48u << 20),
                       Scaled(Ms(60000))));
    json e = NextAnswer(c, Scaled(Ms(60000)));
    ASSERT_TRUE(e.is_object()) << "no answer to a 48 MiB nest: " << cluster_.broker()->Describe();
    EXPECT_EQ(e.value("code", ""), "bad_request") << e.dump();
    EXPECT_EQ(e.value("req", 0), 9) << "the error names the request: " << e.dump();
    const std::int64_t peak = PeakRss(cluster_.broker()->pid());
    ASSERT_GT(peak, 0);
    EXPECT_LT(peak, std::int64_t{768} << 20) << "the broker peaked at " << (peak >> 20) << " MiB";
  }
  ASSERT_TRUE(cluster_.broker()->Running()) << "the broker died of deep input: " << cluster_.broker()->Describe();
  Answer stats = c.Stats(answer_timeout);
  ASSERT_TRUE(stats.ok()) << stats.Describe();
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), 1) << "only the job within the limit is stored";
}

// A database written by an older broker may hold params nested 100,000
// deep. STATUS of such a job answers (the params shown as a string saying
// why), and a worker given it refuses the attempt by name, so the job ends.
TEST_F(BadInputTest, StoredParamsTooDeepStillAnswerStatusAndEndTheJob) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const Ms answer_timeout = Scaled(Ms(30000));
  ExitStatus stopped = cluster_.StopBroker(SIGTERM);
  ASSERT_TRUE(stopped.exited) << stopped.ToString();
  std::int64_t seq = -1;
  {
    StateDb db(cluster_.state_path());
    ASSERT_TRUE(db.ok()) << db.error();
    seq = db.Scalar("SELECT value FROM counters WHERE name = 'next_job_seq'");
    ASSERT_GT(seq, 0) << db.error();
  }
  const std::string deep = MapOfNested(100000);
  const std::string now = std::to_string(NowMs());
  const std::string cols =
      "INSERT INTO jobs(seq, kind, queue, priority, params, state, attempt, failures, max_attempts, backoff_ms, "
      "timeout_ms, run_at_ms, created_ms, updated_ms, finished_ms, last_error) VALUES ";
  std::string e = StateDb::Write(cluster_.state_path(),
                                 cols + "(" + std::to_string(seq) + ", 'test.noop', 'default', 0, ?, 'queued', 0, 0, 3, 1000, 60000, " +
                                     now + ", " + now + ", " + now + ", NULL, NULL)",
                                 {deep});
  ASSERT_EQ(e, "");
  e = StateDb::Write(cluster_.state_path(),
                     cols + "(" + std::to_string(seq + 1) + ", 'test.noop', 'default', 0, ?, 'dead', 1, 1, 1, 1000, 60000, " +
                         now + ", " + now + ", " + now + ", " + now + ", 'old')",
                     {deep});
  ASSERT_EQ(e, "");
  e = StateDb::Write(cluster_.state_path(), "UPDATE counters SET value = " + std::to_string(seq + 2) +
                                                " WHERE name = 'next_job_seq'");
  ASSERT_EQ(e, "");
  auto s = cluster_.RestartBroker();
  ASSERT_TRUE(s.ok()) << s.ToString();

  WireClient c(cluster_.endpoint());
  for (std::int64_t id : {seq, seq + 1}) {
    SCOPED_TRACE("STATUS j" + std::to_string(id));
    Answer a = c.Status("j" + std::to_string(id), answer_timeout);
    ASSERT_TRUE(a.ok()) << a.Describe() << "\n" << cluster_.broker()->Describe();
    const json& params = a.body["job"]["params"];
    ASSERT_TRUE(params.is_string()) << a.Describe();
    EXPECT_EQ(params.get<std::string>(), "(params not shown: nested deeper than 64 levels)");
  }
  ASSERT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();

  // The queued one goes to a worker, which cannot decode it and says so.
  cluster_.StartWorker(1);
  const std::string id = "j" + std::to_string(seq);
  json job = WaitForState(id, {"succeeded", "dead", "cancelled"});
  EXPECT_EQ(job.value("state", ""), "dead") << job.dump();
  EXPECT_NE(job.value("error", "").find("nested deeper than 64 levels"), std::string::npos) << job.dump();
  EXPECT_EQ(job.value("attempt", 0), 1) << "refused once, not retried: " << job.dump();
  Answer stats = c.Stats(answer_timeout);
  ASSERT_TRUE(stats.ok()) << stats.Describe();
  ASSERT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

// Defect: a worker's report that is not UTF-8 (a binary stderr tail, an
// error text) must not lose the result: it is recorded, repaired.
TEST_F(BadInputTest, ResultWithBinaryStderrIsRecorded) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  const Ms answer_timeout = Scaled(Ms(30000));
  const std::string fffd = "\xef\xbf\xbd";
  {
    SCOPED_TRACE("a protocol-level worker sends raw bytes");
    WireClient w(cluster_.endpoint());
    proto::Ready ready;
    ready.worker = "binary-tails";
    ready.host = "h";
    ready.kinds = {"test.noop"};
    ready.slots = 1;
    ready.heartbeat_ms = 600000;  // no heartbeats needed for this test
    std::string body;
    proto::Encode(ready, &body);
    ASSERT_TRUE(w.Send(proto::Command::kReady, body));
    const std::string id = SubmitOne(Spec("test.noop", json::object(), 1));
    ASSERT_FALSE(id.empty());
    proto::JobMsg job;
    bool got_job = false;
    for (int i = 0; i < 20 && !got_job; ++i) {
      auto m = w.Receive(answer_timeout);
      ASSERT_TRUE(m.has_value()) << "no JOB for the wire worker";
      if (m->command == static_cast<std::uint8_t>(proto::Command::kJob))
        got_job = proto::Decode(m->body, &job).ok();
    }
    ASSERT_TRUE(got_job);
    ASSERT_EQ(job.job, id);
    proto::JobResult r;
    r.job = job.job;
    r.attempt = job.attempt;
    r.outcome = Outcome::kFailed;
    r.retryable = false;
    r.error = "exit 3: \xff\xfe";
    r.stderr_tail = std::string("\x7f" "ELF\x02\x01\x01\xc3") + "tail";
    r.stdout_tail = "fine";
    r.exit_code = 3;
    body.clear();
    proto::Encode(r, &body);
    ASSERT_TRUE(w.Send(proto::Command::kResult, body));
    bool acked = false;
    for (int i = 0; i < 20 && !acked; ++i) {
      auto m = w.Receive(answer_timeout);
      ASSERT_TRUE(m.has_value()) << "no ACK for a RESULT with a binary tail";
      ASSERT_NE(m->command, static_cast<std::uint8_t>(proto::Command::kError)) << m->Json().dump();
      acked = m->command == static_cast<std::uint8_t>(proto::Command::kAck);
    }
    json j = WaitForState(id, {"succeeded", "dead", "cancelled"});
    ASSERT_EQ(j.value("state", ""), "dead") << j.dump();
    ASSERT_EQ(j["attempts"].size(), 1u) << j.dump();
    const json& a = j["attempts"][0];
    EXPECT_EQ(a.value("outcome", ""), "failed") << j.dump();
    EXPECT_EQ(a.value("error", ""), "exit 3: " + fffd + fffd);
    EXPECT_EQ(a.value("stderr", ""), std::string("\x7f" "ELF\x02\x01\x01") + fffd + "tail");
    EXPECT_EQ(a.value("stdout", ""), "fine");
  }
  {
    SCOPED_TRACE("the real worker: an exec child writing binary to stderr");
    cluster_.StartWorker(1, {"--allow-exec"});
    const std::string id = SubmitOne(Spec(
        "exec", json{{"command", "/bin/sh"}, {"args", json::array({"-c", "printf 'bin\\377\\376end' >&2"})}}, 1));
    ASSERT_FALSE(id.empty());
    json j = WaitForState(id, {"succeeded", "dead", "cancelled"});
    ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump();
    ASSERT_FALSE(j["attempts"].empty()) << j.dump();
    EXPECT_EQ(j["attempts"].back().value("stderr", ""), "bin" + fffd + fffd + "end") << j.dump();
  }
  ASSERT_TRUE(cluster_.broker()->Running()) << cluster_.broker()->Describe();
}

}  // namespace
}  // namespace sluice::testing
