#include "schemas/messages.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <vector>
#include <msgpack.hpp>

#include "schemas/protocol.h"

namespace sluice::proto {
namespace {

template <typename T>
std::string PackValue(const T& v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return {b.data(), b.size()};
}

TEST(Messages, ReadyRoundTrip) {
  Ready r;
  r.worker = "host-1-abc";
  r.host = "host";
  r.pid = 1234;
  r.queues = {"default", "etl"};
  r.kinds = {"test.noop", "exec"};
  r.slots = 4;
  r.heartbeat_ms = 500;
  r.version = "0.1.0";
  r.running = {{"j1", 2}, {"j9", 1}};
  r.prefetch = 16;
  r.adaptive = true;
  std::string body;
  Encode(r, &body);
  Ready d;
  ASSERT_TRUE(Decode(body, &d).ok());
  EXPECT_TRUE(d.adaptive);
  EXPECT_EQ(d.worker, r.worker);
  EXPECT_EQ(d.queues, r.queues);
  EXPECT_EQ(d.kinds, r.kinds);
  EXPECT_EQ(d.slots, 4u);
  EXPECT_EQ(d.heartbeat_ms, 500u);
  EXPECT_EQ(d.prefetch, 16u);
  ASSERT_EQ(d.running.size(), 2u);
  EXPECT_EQ(d.running[1].job, "j9");
  EXPECT_EQ(d.running[0].attempt, 2u);
}

TEST(Messages, RecallDoneAndSubmitNotifyRoundTrip) {
  RecallMsg recall{{{"j1", 2}, {"j7", 1}}};
  std::string body;
  Encode(recall, &body);
  RecallMsg r;
  ASSERT_TRUE(Decode(body, &r).ok());
  ASSERT_EQ(r.jobs.size(), 2u);
  EXPECT_EQ(r.jobs[1].job, "j7");
  EXPECT_EQ(r.jobs[0].attempt, 2u);
  EXPECT_FALSE(Decode(PackValue(std::map<std::string, int>{{"jobs", 1}}), &r).ok());

  DoneMsg done{"j3", JobState::kDead};
  body.clear();
  Encode(done, &body);
  DoneMsg d;
  ASSERT_TRUE(Decode(body, &d).ok());
  EXPECT_EQ(d.job, "j3");
  EXPECT_EQ(d.state, JobState::kDead);

  Submit submit;
  submit.req = 7;
  submit.notify = true;
  submit.jobs.push_back({});
  submit.jobs[0].kind = "test.noop";
  body.clear();
  Encode(submit, &body);
  Submit back;
  ASSERT_TRUE(Decode(body, &back).ok());
  EXPECT_TRUE(back.notify);
  // Absent: false, as a client of an earlier PROTOCOL.md sends it.
  submit.notify = false;
  body.clear();
  Encode(submit, &body);
  Submit plain;
  ASSERT_TRUE(Decode(body, &plain).ok());
  EXPECT_FALSE(plain.notify);
}

TEST(Messages, ReadyWithoutQueuesServesDefault) {
  std::string body = PackValue(std::map<std::string, int>{{"slots", 2}});
  Ready d;
  Status s = Decode(body, &d);
  EXPECT_FALSE(s.ok());  // kinds and worker are required
  EXPECT_NE(s.message().find("READY"), std::string::npos);
}

TEST(Messages, SubmitRoundTripKeepsParamsBytes) {
  Submit s;
  s.req = 7;
  JobSpec j;
  j.kind = "test.sleep";
  j.params = PackValue(std::map<std::string, int>{{"ms", 250}});
  j.queue = "etl";
  j.priority = -3;
  j.max_attempts = 2;
  j.delay_ms = 1000;
  j.key = "k1";
  s.jobs = {j, JobSpec{.kind = "test.noop"}};
  std::string body;
  Encode(s, &body);
  Submit d;
  ASSERT_TRUE(Decode(body, &d).ok()) << Decode(body, &d).ToString();
  EXPECT_EQ(d.req, 7u);
  ASSERT_EQ(d.jobs.size(), 2u);
  EXPECT_EQ(d.jobs[0].params, j.params);
  EXPECT_EQ(d.jobs[0].priority, -3);
  EXPECT_EQ(d.jobs[0].key, "k1");
  EXPECT_EQ(d.jobs[1].queue, "default");
  EXPECT_EQ(d.jobs[1].params, kEmptyMap);
}

TEST(Messages, SubmitRejectsBadKindNamingTheIndex) {
  Submit s;
  s.req = 1;
  s.jobs = {JobSpec{.kind = "ok.kind"}, JobSpec{.kind = "../etc"}};
  std::string body;
  Encode(s, &body);
  Submit d;
  Status st = Decode(body, &d);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("jobs[1]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("kind"), std::string::npos);
}

TEST(Messages, SubmitRejectsOversizedParams) {
  Submit s;
  s.req = 1;
  JobSpec j{.kind = "k"};
  j.params = PackValue(std::map<std::string, std::string>{{"blob", std::string(kMaxParamsBytes + 10, 'x')}});
  s.jobs = {j};
  std::string body;
  Encode(s, &body);
  Submit d;
  Status st = Decode(body, &d);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("params"), std::string::npos);
}

TEST(Messages, GarbageNeverThrows) {
  const std::string inputs[] = {"", "\xc1", "\x81\xa3job", std::string(100, '\xff'), "\x92\x01\x02",
                                PackValue(42), PackValue(std::vector<int>{1, 2})};
  for (const auto& in : inputs) {
    JobResult r;
    EXPECT_FALSE(Decode(in, &r).ok());
    Submit s;
    EXPECT_FALSE(Decode(in, &s).ok());
    Ready rd;
    EXPECT_FALSE(Decode(in, &rd).ok());
  }
}

TEST(Messages, ResultClampsLongTextAndKeepsTails) {
  JobResult r;
  r.job = "j5";
  r.attempt = 3;
  r.outcome = Outcome::kFailed;
  r.error = std::string(kMaxErrorBytes * 3, 'e');
  r.stdout_tail = std::string(kMaxTailBytes, 'a') + "END";
  r.retryable = false;
  r.exit_code = 2;
  std::string body;
  Encode(r, &body);
  JobResult d;
  ASSERT_TRUE(Decode(body, &d).ok());
  EXPECT_EQ(d.error.size(), kMaxErrorBytes);
  EXPECT_EQ(d.stdout_tail.size(), kMaxTailBytes);
  EXPECT_EQ(d.stdout_tail.substr(d.stdout_tail.size() - 3), "END");
  EXPECT_FALSE(d.retryable);
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_EQ(d.outcome, Outcome::kFailed);
}

TEST(Messages, ResultRejectsLostOutcomeAndZeroAttempt) {
  JobResult r;
  r.job = "j5";
  r.attempt = 1;
  r.outcome = Outcome::kLost;
  std::string body;
  Encode(r, &body);
  JobResult d;
  EXPECT_FALSE(Decode(body, &d).ok());
  r.outcome = Outcome::kSucceeded;
  r.attempt = 0;
  body.clear();
  Encode(r, &body);
  EXPECT_FALSE(Decode(body, &d).ok());
}

TEST(Messages, AckAndErrorRoundTrip) {
  Ack a;
  a.acks = {{"j1", 1}, {"j2", 3}};
  std::string body;
  Encode(a, &body);
  Ack d;
  ASSERT_TRUE(Decode(body, &d).ok());
  ASSERT_EQ(d.acks.size(), 2u);
  EXPECT_EQ(d.acks[1].attempt, 3u);
  ErrorMsg e{9, "not_found", "no job j9"};
  body.clear();
  Encode(e, &body);
  ErrorMsg ed;
  ASSERT_TRUE(Decode(body, &ed).ok());
  EXPECT_EQ(ed.req, 9u);
  EXPECT_EQ(ed.code, "not_found");
  EXPECT_EQ(PeekReq(body), 9u);
}

TEST(Messages, HeartbeatMayBeEmptyOrCarrySlots) {
  Heartbeat h;
  EXPECT_TRUE(Decode("", &h).ok());
  EXPECT_FALSE(h.slots.has_value());
  std::string body;
  Encode(Heartbeat{0}, &body);
  ASSERT_TRUE(Decode(body, &h).ok());
  ASSERT_TRUE(h.slots.has_value());
  EXPECT_EQ(*h.slots, 0u);
}

// Defect: a RESULT whose stderr tail (or error text) is not UTF-8 must not
// lose the result: the text is repaired with U+FFFD, never refused.
TEST(Messages, ResultWithBinaryTailsIsRepairedNotRefused) {
  JobResult r;
  r.job = "j7";
  r.attempt = 1;
  r.outcome = Outcome::kFailed;
  r.error = "bad \xff byte";
  r.stderr_tail = std::string("\x00\x01\xfe\xff\x80", 5) + " core dumped";
  r.stdout_tail = "ok \xe2\x82";  // a character cut short
  r.outputs = PackValue(std::map<std::string, std::string>{{"file", "x\xffy"}});
  std::string body;
  Encode(r, &body);
  JobResult d;
  Status s = Decode(body, &d);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(d.error, "bad " + fffd + " byte");
  EXPECT_EQ(d.stderr_tail, std::string("\x00\x01", 2) + fffd + fffd + fffd + " core dumped");
  EXPECT_EQ(d.stdout_tail, "ok " + fffd);
  msgpack::object_handle h = msgpack::unpack(d.outputs.data(), d.outputs.size());
  const auto outputs = h.get().as<std::map<std::string, std::string>>();
  EXPECT_EQ(outputs.at("file"), "x" + fffd + "y");

  // A tail of multi-byte characters is clamped between characters, and a
  // tail of pure binary junk still fits its limit once repaired.
  std::string e_acute;
  for (int i = 0; i < 3000; ++i) e_acute += "\xc3\xa9";
  r.stdout_tail = "x" + e_acute;
  r.stderr_tail = std::string(3 * kMaxTailBytes, '\xff');
  body.clear();
  Encode(r, &body);
  ASSERT_TRUE(Decode(body, &d).ok());
  EXPECT_EQ(d.stdout_tail, e_acute.substr(e_acute.size() - kMaxTailBytes));
  EXPECT_LE(d.stderr_tail.size(), kMaxTailBytes);
  EXPECT_EQ(d.stderr_tail.substr(0, 3), fffd);
}

// What a client submits must be UTF-8: refused (bad_request), never stored.
TEST(Messages, SubmitRefusesStringsThatAreNotUtf8) {
  auto decode = [](const std::function<void(JobSpec&)>& change) {
    Submit m;
    m.req = 1;
    JobSpec j;
    j.kind = "test.noop";
    change(j);
    m.jobs.push_back(j);
    std::string body;
    Encode(m, &body);
    Submit d;
    return Decode(body, &d);
  };
  EXPECT_TRUE(decode([](JobSpec& j) { j.key = "caf\xc3\xa9"; }).ok());
  Status s = decode([](JobSpec& j) { j.key = "k\xff"; });
  EXPECT_EQ(s.message(), "SUBMIT jobs[0]: field 'key' is not valid UTF-8");
  s = decode([](JobSpec& j) { j.concurrency_key = "\xc0\x80"; });
  EXPECT_EQ(s.message(), "SUBMIT jobs[0]: field 'concurrency_key' is not valid UTF-8");
  s = decode([](JobSpec& j) { j.params = PackValue(std::map<std::string, std::string>{{"url", "http://x/\xff"}}); });
  EXPECT_EQ(s.message(), "SUBMIT jobs[0]: field 'params' holds a string that is not valid UTF-8");
  s = decode([](JobSpec& j) { j.params = PackValue(std::map<std::string, int>{{"k\xed\xa0\x80", 1}}); });
  EXPECT_FALSE(s.ok());
  s = decode([](JobSpec& j) {
    j.params = PackValue(std::map<std::string, std::vector<std::string>>{{"args", {"ok", "\xfe"}}});
  });
  EXPECT_FALSE(s.ok());
  // Binary values (msgpack bin) are not strings: they pass.
  EXPECT_TRUE(decode([](JobSpec& j) { j.params = std::string("\x81\xa1" "b\xc4\x01\xff", 6); }).ok());
  // kind and queue are names (ASCII), as before.
  EXPECT_FALSE(decode([](JobSpec& j) { j.queue = "q\xc3\xa9"; }).ok());
}

// Defect: run_at_ms above INT64_MAX wrapped to a time in the past. Times
// and durations that could overflow int64 millisecond arithmetic are refused.
TEST(Messages, SubmitRefusesTimesThatOverflow) {
  auto decode = [](std::string_view key, std::uint64_t v) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_map(2);
    pk.pack("req");
    pk.pack(1);
    pk.pack("jobs");
    pk.pack_array(1);
    pk.pack_map(2);
    pk.pack("kind");
    pk.pack("test.noop");
    pk.pack(std::string(key));
    pk.pack(v);
    Submit d;
    Status s = Decode(std::string_view(b.data(), b.size()), &d);
    if (s.ok()) {
      EXPECT_EQ(d.jobs.at(0).run_at_ms, key == "run_at_ms" ? v : 0u);
    }
    return s;
  };
  EXPECT_TRUE(decode("run_at_ms", static_cast<std::uint64_t>(kMaxUnixMs)).ok());
  for (std::uint64_t v : {static_cast<std::uint64_t>(kMaxUnixMs) + 1,
                          static_cast<std::uint64_t>(INT64_MAX), static_cast<std::uint64_t>(INT64_MAX) + 1,
                          UINT64_MAX}) {
    Status s = decode("run_at_ms", v);
    EXPECT_FALSE(s.ok()) << v;
    EXPECT_EQ(s.message(), "SUBMIT jobs[0]: field 'run_at_ms' must be at most 253402300799999");
  }
  EXPECT_TRUE(decode("delay_ms", kMaxDelayMs).ok());
  EXPECT_TRUE(decode("timeout_ms", kMaxDurationMs).ok());
  EXPECT_TRUE(decode("backoff_ms", kMaxDurationMs).ok());
  for (const char* key : {"delay_ms", "timeout_ms", "backoff_ms"}) {
    EXPECT_FALSE(decode(key, kMaxDelayMs + 1).ok()) << key;
    EXPECT_FALSE(decode(key, UINT64_MAX).ok()) << key;
  }
}

// A READY's host and version are for display: repaired, not refused. The
// worker id is an id: refused.
TEST(Messages, ReadyRepairsDisplayTextAndRefusesABadWorkerId) {
  Ready r;
  r.worker = "w1";
  r.host = "h\xff";
  r.version = "1.0\xc3";
  r.kinds = {"test.noop"};
  std::string body;
  Encode(r, &body);
  Ready d;
  ASSERT_TRUE(Decode(body, &d).ok());
  EXPECT_EQ(d.host, "h\xef\xbf\xbd");
  EXPECT_EQ(d.version, "1.0\xef\xbf\xbd");
  r.worker = "w\xff";
  body.clear();
  Encode(r, &body);
  EXPECT_EQ(Decode(body, &d).message(), "READY: field 'worker' is not valid UTF-8");
}

TEST(Messages, CommandNamesCoverTheTable) {
  EXPECT_STREQ(CommandName(0x01), "READY");
  EXPECT_STREQ(CommandName(0x10), "SUBMIT");
  EXPECT_EQ(CommandName(0x99), nullptr);
}

}  // namespace
}  // namespace sluice::proto
