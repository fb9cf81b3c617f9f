// The worker's reconnect schedule: ReconnectPatience() (pure arithmetic) and
// BrokerLink's liveness decisions with the time passed in. No timing: every
// `now` here is made up, and no socket ever reaches a broker.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "workers/broker_link.h"

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

constexpr ms kBase = 3000ms;  // 3 intervals of the default 1 s heartbeat
constexpr ms kCap = 30000ms;  // 10 bases

TEST(ReconnectPatience, IsTheBaseWhileTheBrokerSpeaks) {
  EXPECT_EQ(ReconnectPatience(0, kBase, kCap, 0.0), kBase);
  EXPECT_EQ(ReconnectPatience(0, kBase, kCap, 0.9), kBase) << "no jitter on a healthy connection";
}

TEST(ReconnectPatience, DoublesFromTheBaseUpToTheCap) {
  // min(cap, base * 2^(n-1)) without jitter: 3, 6, 12, 24, 30, 30 s.
  const ms expected[] = {3000ms, 6000ms, 12000ms, 24000ms, 30000ms, 30000ms, 30000ms};
  for (std::uint64_t n = 1; n <= 7; ++n) EXPECT_EQ(ReconnectPatience(n, kBase, kCap, 0.0), expected[n - 1]) << n;
}

TEST(ReconnectPatience, JitterAddsUpToAQuarter) {
  for (std::uint64_t n : {1u, 2u, 3u, 4u, 5u, 40u}) {
    const ms plain = ReconnectPatience(n, kBase, kCap, 0.0);
    EXPECT_EQ(ReconnectPatience(n, kBase, kCap, 0.5), plain + plain / 8) << n;
    const ms most = ReconnectPatience(n, kBase, kCap, 0.999999);
    EXPECT_GE(most, plain) << n;
    EXPECT_LT(most, plain + plain / 4) << n;
    EXPECT_GE(most, plain + plain / 4 - 1ms) << n;
  }
}

TEST(ReconnectPatience, OutOfRangeJitterIsClamped) {
  const ms plain = ReconnectPatience(2, kBase, kCap, 0.0);
  EXPECT_EQ(ReconnectPatience(2, kBase, kCap, -1.0), plain);
  EXPECT_EQ(ReconnectPatience(2, kBase, kCap, std::nan("")), plain);
  EXPECT_LT(ReconnectPatience(2, kBase, kCap, 7.0), plain + plain / 4);
}

TEST(ReconnectPatience, NeverOverflowsForLongOutages) {
  for (std::uint64_t n : {std::uint64_t{63}, std::uint64_t{64}, std::uint64_t{65}, std::uint64_t{1000},
                          std::numeric_limits<std::uint64_t>::max()}) {
    const ms p = ReconnectPatience(n, kBase, kCap, 0.0);
    EXPECT_EQ(p, kCap) << n;
  }
  // The largest heartbeat (1 h): base 3 h, cap 30 h.
  const ms base = 3 * 3600000ms, cap = 10 * base;
  EXPECT_EQ(ReconnectPatience(1u << 20, base, cap, 0.0), cap);
  EXPECT_LT(ReconnectPatience(1u << 20, base, cap, 0.99), cap + cap / 4);
}

TEST(ReconnectPatience, IsNeverBelowTheBase) {
  for (std::uint64_t n = 0; n < 100; ++n)
    for (double j : {0.0, 0.3, 0.99}) EXPECT_GE(ReconnectPatience(n, 30ms, 300ms, j), 30ms) << n << " " << j;
}

// A link to a port nothing listens on: connect() succeeds at once (libzmq
// connects in the background), and nothing is ever heard.
class LinkTest : public ::testing::Test {
 protected:
  zmq::context_t context_{1};
  double jitter_ = 0.0;
  BrokerLink link_{context_, "tcp://127.0.0.1:1", 1000ms, {}, [this] { return jitter_; }};
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(LinkTest, BaseAndCapFollowTheHeartbeat) {
  EXPECT_EQ(link_.base(), 3000ms);
  EXPECT_EQ(link_.cap(), 30000ms);
  EXPECT_FALSE(link_.curve());
}

TEST_F(LinkTest, SilentConnectionsBackOffAndAMessageResetsThat) {
  Clock::time_point now = t0_;
  link_.Reconnect(now);
  EXPECT_EQ(link_.patience(), 3000ms);
  EXPECT_FALSE(link_.ReconnectDue(now + 2999ms));
  EXPECT_TRUE(link_.ReconnectDue(now + 3000ms));
  // Silent connections in a row: 3, 6, 12, 24, 30, 30 s.
  const ms expected[] = {3000ms, 6000ms, 12000ms, 24000ms, 30000ms, 30000ms};
  for (std::uint64_t n = 1; n <= 6; ++n) {
    now += link_.patience();
    ASSERT_TRUE(link_.ReconnectDue(now));
    link_.CountFailure();
    EXPECT_EQ(link_.failures(), n);
    link_.Reconnect(now);
    EXPECT_EQ(link_.patience(), expected[n - 1]) << n;
    EXPECT_FALSE(link_.ReconnectDue(now + expected[n - 1] - 1ms)) << n;
    EXPECT_EQ(link_.NextDeadline(), now + 1000ms) << "heartbeats go on meanwhile";
  }
  // The broker answers: the next silence is judged on the base again.
  now += 10ms;
  link_.Heard(now);
  EXPECT_EQ(link_.failures(), 0u);
  EXPECT_EQ(link_.patience(), 3000ms);
  EXPECT_FALSE(link_.ReconnectDue(now + 2999ms));
  EXPECT_TRUE(link_.ReconnectDue(now + 3000ms));
  now += 3000ms;
  link_.CountFailure();
  link_.Reconnect(now);
  EXPECT_EQ(link_.patience(), 3000ms) << "the first silent reconnect after a message gets the base";
}

TEST_F(LinkTest, JitterComesFromTheInjectedSource) {
  link_.Reconnect(t0_);
  jitter_ = 0.5;
  link_.CountFailure();
  link_.CountFailure();  // 2 in a row: 6 s, +12.5%
  EXPECT_EQ(link_.next_patience(), 6750ms);
  link_.Reconnect(t0_);
  EXPECT_EQ(link_.patience(), 6750ms);
}

TEST_F(LinkTest, TheDefaultRandomSourceSpreadsAPool) {
  // Workers cut off together: their patiences differ, within [P, 1.25 P).
  zmq::context_t context(1);
  std::set<long long> seen;
  for (int i = 0; i < 200; ++i) {
    BrokerLink link(context, "tcp://127.0.0.1:1", 1000ms);
    link.CountFailure();
    link.CountFailure();
    link.CountFailure();  // 3 in a row: 12 s + 0-3 s
    EXPECT_GE(link.next_patience(), 12000ms);
    EXPECT_LT(link.next_patience(), 15000ms);
    seen.insert(link.next_patience().count());
  }
  EXPECT_GT(seen.size(), 50u) << "the jitter hardly varies";
}

TEST_F(LinkTest, ARefusalSendsNothingAndRetriesAfterTheBackoff) {
  Clock::time_point now = t0_;
  link_.Reconnect(now);
  link_.Send(proto::Command::kHeartbeat, {}, now);  // queued for the connection
  now += 100ms;
  link_.Refuse(now);
  EXPECT_TRUE(link_.refused());
  EXPECT_EQ(link_.failures(), 1u);
  EXPECT_EQ(link_.patience(), 3000ms);
  EXPECT_FALSE(link_.Send(proto::Command::kHeartbeat, {}, now)) << "nothing goes out on a refused link";
  EXPECT_FALSE(link_.HeartbeatDue(now + 60s));
  EXPECT_EQ(link_.NextDeadline(), now + 3000ms);
  EXPECT_FALSE(link_.ReconnectDue(now + 2999ms));
  EXPECT_TRUE(link_.ReconnectDue(now + 3000ms));

  // Refused again on the next connection: twice the wait.
  now += 3000ms;
  link_.Reconnect(now);
  EXPECT_FALSE(link_.refused());
  link_.Send(proto::Command::kReady, {}, now);
  link_.Refuse(now);
  EXPECT_EQ(link_.failures(), 2u);
  EXPECT_EQ(link_.patience(), 6000ms);
  EXPECT_TRUE(link_.ReconnectDue(now + 6000ms));

  // A silent connection after that counts too; then the key is accepted.
  now += 6000ms;
  link_.Reconnect(now);
  now += link_.patience();
  link_.CountFailure();
  link_.Reconnect(now);
  EXPECT_EQ(link_.patience(), 12000ms);
  link_.Heard(now + 5ms);
  EXPECT_FALSE(link_.refused());
  EXPECT_EQ(link_.failures(), 0u);
  EXPECT_EQ(link_.patience(), 3000ms);
  EXPECT_TRUE(link_.HeartbeatDue(now + 1000ms));
}

}  // namespace
}  // namespace sluice::worker
