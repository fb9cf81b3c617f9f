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

  const ConcurrencyGate::Valid all = [](const ReadyEntry&) { return true; };
  g.Park("lake", {"default", "load", {0, 2, 1}, 1});
  g.Park("lake", {"default", "load", {0, 3, 1}, 1});
  EXPECT_EQ(g.parked(), 2u);
  std::vector<ParkedJob> unparked;
  EXPECT_FALSE(g.Release({1, 2}, all, &unparked));  // another attempt of the job holds nothing
  EXPECT_TRUE(unparked.empty());
  EXPECT_TRUE(g.Release({1, 1}, all, &unparked));
  // One slot free: one job back, the older; the other stays parked.
  ASSERT_EQ(unparked.size(), 1u);
  EXPECT_EQ(unparked[0].entry.seq, 2);
  EXPECT_EQ(g.parked(), 1u);
  EXPECT_EQ(g.running("lake"), 0);
  EXPECT_FALSE(g.Holds({1, 1}));
  EXPECT_FALSE(g.Release({1, 1}, all, &unparked));  // released once
  EXPECT_EQ(g.holders(), 0u);
}

// Parked jobs come back best first (priority, then age), as many as there
// are free slots, and stale ones (cancelled while parked) are dropped
// without taking a slot.
TEST(ConcurrencyGate, ReleasesUnparkTheBestValidJobsForTheFreeSlots) {
  ConcurrencyGate g;
  for (std::int64_t seq = 1; seq <= 3; ++seq) g.Hold("src", {seq, 1});
  EXPECT_FALSE(g.MayRun("src", 3));
  // seq 10..14; 12 has a higher priority; 11 was cancelled.
  for (std::int64_t seq = 10; seq <= 14; ++seq)
    g.Park("src", {"default", "extract.http", {seq == 12 ? 5 : 0, seq, 1}, 3});
  const ConcurrencyGate::Valid not_11 = [](const ReadyEntry& e) { return e.seq != 11; };
  std::vector<ParkedJob> unparked;
  ASSERT_TRUE(g.Release({1, 1}, not_11, &unparked));
  ASSERT_EQ(unparked.size(), 1u);
  EXPECT_EQ(unparked[0].entry.seq, 12);  // the higher priority first
  // Two free slots (unparked jobs count only once they run: one that
  // cannot run yet parks again when dispatch finds the key full).
  ASSERT_TRUE(g.Release({2, 1}, not_11, &unparked));
  ASSERT_EQ(unparked.size(), 3u);
  EXPECT_EQ(unparked[1].entry.seq, 10);
  EXPECT_EQ(unparked[2].entry.seq, 13);  // 11 is stale: dropped, no slot taken
  ASSERT_TRUE(g.Release({3, 1}, not_11, &unparked));
  ASSERT_EQ(unparked.size(), 4u);
  EXPECT_EQ(unparked[3].entry.seq, 14);
  EXPECT_EQ(g.parked(), 0u);
}

// A job unparked for a free slot was cancelled before it ran: Unpark, with
// no release, brings the next one back.
TEST(ConcurrencyGate, UnparkWithoutAReleaseFillsAFreeSlot) {
  ConcurrencyGate g;
  g.Hold("k", {1, 1});
  g.Park("k", {"default", "x", {0, 5, 1}, 1});
  g.Park("k", {"default", "x", {0, 6, 1}, 1});
  const ConcurrencyGate::Valid all = [](const ReadyEntry&) { return true; };
  std::vector<ParkedJob> unparked;
  g.Unpark("k", all, &unparked);
  EXPECT_TRUE(unparked.empty()) << "the slot is taken";
  ASSERT_TRUE(g.Release({1, 1}, all, &unparked));
  ASSERT_EQ(unparked.size(), 1u);  // seq 5, then cancelled before it ran
  g.Unpark("k", all, &unparked);
  ASSERT_EQ(unparked.size(), 2u);
  EXPECT_EQ(unparked[1].entry.seq, 6);
  EXPECT_EQ(g.parked(), 0u);
}

TEST(ConcurrencyGate, AnEmptyKeyHoldsNothing) {
  ConcurrencyGate g;
  g.Hold("", {7, 1});
  EXPECT_FALSE(g.Holds({7, 1}));
  EXPECT_EQ(g.holders(), 0u);
}

}  // namespace
}  // namespace sluice::broker
