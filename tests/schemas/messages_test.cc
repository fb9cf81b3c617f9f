#include "schemas/messages.h"

#include <gtest/gtest.h>
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
  std::string body;
  Encode(r, &body);
  Ready d;
  ASSERT_TRUE(Decode(body, &d).ok());
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

TEST(Messages, CommandNamesCoverTheTable) {
  EXPECT_STREQ(CommandName(0x01), "READY");
  EXPECT_STREQ(CommandName(0x10), "SUBMIT");
  EXPECT_EQ(CommandName(0x99), nullptr);
}

}  // namespace
}  // namespace sluice::proto
