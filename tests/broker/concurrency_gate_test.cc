// ConcurrencyGate: slots per key are held by attempts, not by job states.
#include "broker/concurrency_gate.h"

#include <gtest/gtest.h>

namespace sluice::broker {
namespace {

TEST(ConcurrencyGate, AnAttemptHoldsOneSlotUntilItIsReleased) {
  ConcurrencyGate g;
  EXPECT_TRUE(g.MayRun("lake", 1));
  g.Hold("lake", {1, 1});
  g.Hold("lake", {1, 1});  // the same attempt again: still one slot
  EXPECT_EQ(g.running("lake"), 1);
  EXPECT_TRUE(g.Holds({1, 1}));
  EXPECT_FALSE(g.MayRun("lake", 1));
  EXPECT_TRUE(g.MayRun("lake", 2));
  EXPECT_TRUE(g.MayRun("other", 1));
  EXPECT_TRUE(g.MayRun("", 1));  // no key: never held back

  g.Park("lake", {"default", "load", {0, 2, 1}});
  g.Park("lake", {"default", "load", {0, 3, 1}});
  EXPECT_EQ(g.parked(), 2u);
  std::vector<ParkedJob> unparked;
  EXPECT_FALSE(g.Release({1, 2}, &unparked));  // another attempt of the job holds nothing
  EXPECT_TRUE(unparked.empty());
  EXPECT_TRUE(g.Release({1, 1}, &unparked));
  EXPECT_EQ(unparked.size(), 2u);
  EXPECT_EQ(g.parked(), 0u);
  EXPECT_EQ(g.running("lake"), 0);
  EXPECT_FALSE(g.Holds({1, 1}));
  EXPECT_FALSE(g.Release({1, 1}, &unparked));  // released once
  EXPECT_EQ(g.holders(), 0u);
}

TEST(ConcurrencyGate, AnEmptyKeyHoldsNothing) {
  ConcurrencyGate g;
  g.Hold("", {7, 1});
  EXPECT_FALSE(g.Holds({7, 1}));
  EXPECT_EQ(g.holders(), 0u);
}

}  // namespace
}  // namespace sluice::broker
