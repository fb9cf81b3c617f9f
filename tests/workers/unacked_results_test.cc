#include "workers/unacked_results.h"

#include <gtest/gtest.h>

namespace sluice::worker {
namespace {

TEST(UnackedResults, KeepsUntilAckedByJobAndAttempt) {
  UnackedResults u;
  u.Add({"j1", 1}, "r1");
  u.Add({"j1", 2}, "r2");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_FALSE(u.Ack({"j1", 3}));
  EXPECT_TRUE(u.Ack({"j1", 1}));
  EXPECT_FALSE(u.Ack({"j1", 1})) << "a duplicate ACK finds nothing";
  EXPECT_EQ(u.Find({"j1", 1}), nullptr);
  ASSERT_NE(u.Find({"j1", 2}), nullptr);
  EXPECT_EQ(*u.Find({"j1", 2}), "r2");
}

TEST(UnackedResults, InOrderIsOldestFirst) {
  UnackedResults u;
  for (int i = 0; i < 50; ++i) u.Add({"j" + std::to_string(i), 1}, "r" + std::to_string(i));
  u.Ack({"j10", 1});
  auto v = u.InOrder();
  ASSERT_EQ(v.size(), 49u);
  EXPECT_EQ(*v.front(), "r0");
  EXPECT_EQ(*v[10], "r11");
  EXPECT_EQ(*v.back(), "r49");
}

TEST(UnackedResults, AddingTheSamePairAgainReplacesAndMovesToTheEnd) {
  UnackedResults u;
  u.Add({"a", 1}, "old");
  u.Add({"b", 1}, "b");
  u.Add({"a", 1}, "new");
  EXPECT_EQ(u.size(), 2u);
  auto v = u.InOrder();
  EXPECT_EQ(*v[0], "b");
  EXPECT_EQ(*v[1], "new");
}

}  // namespace
}  // namespace sluice::worker
