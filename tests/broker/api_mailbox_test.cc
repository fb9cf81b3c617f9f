// ApiMailbox: a request reaches the loop's side and its answer the asker;
// an answer for an asker who gave up is dropped; Close lets a waiting asker
// go at once. Fences, not sleeps: the "loop" here answers only once it has
// seen the request pending.
#include "broker/api_mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace sluice::broker {
namespace {

using namespace std::chrono_literals;

TEST(ApiMailbox, ARequestAndItsAnswer) {
  std::atomic<int> wakes{0};
  ApiMailbox box([&] { wakes++; });
  std::thread loop([&] {
    while (!box.pending()) std::this_thread::yield();
    auto reqs = box.Take();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_TRUE(ApiMailbox::IsMailboxId(reqs[0].routing_id));
    EXPECT_NE(reqs[0].routing_id, reqs[1].routing_id);
    EXPECT_EQ(reqs[0].body, "a");
    EXPECT_EQ(reqs[1].command, proto::Command::kList);
    // Answered out of order: each goes to its own slot.
    box.Deliver(reqs[1].routing_id, proto::Command::kError, "answer-b");
    box.Deliver(reqs[0].routing_id, proto::Command::kReply, "answer-a");
  });
  auto answers = box.Ask({{proto::Command::kStats, "a"}, {proto::Command::kList, "b"}}, std::chrono::hours(1));
  loop.join();
  ASSERT_TRUE(answers.has_value());
  ASSERT_EQ(answers->size(), 2u);
  EXPECT_EQ((*answers)[0].command, proto::Command::kReply);
  EXPECT_EQ((*answers)[0].body, "answer-a");
  EXPECT_EQ((*answers)[1].body, "answer-b");
  EXPECT_EQ(wakes, 1);  // one wake for the batch
  EXPECT_FALSE(box.pending());
}

TEST(ApiMailbox, CloseLetsAWaitingAskerGo) {
  ApiMailbox box([] {});
  std::optional<std::vector<ApiMailbox::Answer>> got = std::vector<ApiMailbox::Answer>{};
  std::thread asker([&] { got = box.Ask({{proto::Command::kStats, "x"}}, std::chrono::hours(1)); });
  while (!box.pending()) std::this_thread::yield();  // the request is queued: the asker waits
  box.Close();
  asker.join();  // would wait an hour without Close
  EXPECT_FALSE(got.has_value());
  EXPECT_FALSE(box.pending());
  EXPECT_FALSE(box.Ask({{proto::Command::kStats, "y"}}, std::chrono::hours(1)).has_value());  // closed: at once
}

TEST(ApiMailbox, AnAnswerForAnAskerWhoGaveUpIsDropped) {
  ApiMailbox box([] {});
  EXPECT_FALSE(box.Ask({{proto::Command::kStats, "x"}}, 0ms).has_value());  // nobody answers in 0 ms
  auto reqs = box.Take();
  ASSERT_EQ(reqs.size(), 1u);
  box.Deliver(reqs[0].routing_id, proto::Command::kReply, "late");  // no slot: dropped, no crash
  // Ids that are not the mailbox's: ROUTER's own (5 bytes, leading zero), a peer's, junk digits.
  EXPECT_FALSE(ApiMailbox::IsMailboxId(std::string("\0\x01\x02\x03\x04", 5)));
  EXPECT_FALSE(ApiMailbox::IsMailboxId(std::string("\0api:", 5)));
  EXPECT_FALSE(ApiMailbox::IsMailboxId("api:1"));
  box.Deliver(std::string("\0api:zz", 7), proto::Command::kReply, "junk");
}

}  // namespace
}  // namespace sluice::broker
