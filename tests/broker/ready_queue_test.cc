#include "broker/ready_queue.h"

#include <gtest/gtest.h>

namespace sluice::broker {
namespace {

TEST(ReadyQueues, HigherPriorityThenOlderFirst) {
  ReadyQueues q;
  q.Push("default", "a", {0, 5, 1});
  q.Push("default", "a", {0, 3, 1});
  q.Push("default", "b", {7, 9, 1});
  q.Push("default", "a", {-1, 1, 1});
  auto all = [](const ReadyEntry&) { return true; };
  std::unordered_set<std::string> kinds = {"a", "b"};
  std::vector<std::int64_t> order;
  while (auto e = q.PopBest({"default"}, kinds, all)) order.push_back(e->seq);
  EXPECT_EQ(order, (std::vector<std::int64_t>{9, 3, 5, 1}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(ReadyQueues, OnlyServedQueuesAndKinds) {
  ReadyQueues q;
  q.Push("etl", "a", {0, 1, 1});
  q.Push("default", "x", {0, 2, 1});
  auto all = [](const ReadyEntry&) { return true; };
  EXPECT_FALSE(q.PopBest({"default"}, {"a"}, all).has_value());
  auto e = q.PopBest({"default", "etl"}, {"a"}, all);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->seq, 1);
}

TEST(ReadyQueues, StaleEntriesAreDropped) {
  ReadyQueues q;
  q.Push("default", "a", {0, 1, 1});
  q.Push("default", "a", {0, 2, 1});
  auto e = q.PopBest({"default"}, {"a"}, [](const ReadyEntry& r) { return r.seq != 1; });
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->seq, 2);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace sluice::broker
