#include "workers/output_tail.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::worker {
namespace {

TEST(OutputTail, KeepsEverythingBelowCapacity) {
  OutputTail tail(8);
  tail.Append("abc", 3);
  tail.Append("de", 2);
  EXPECT_EQ(tail.str(), "abcde");
  EXPECT_EQ(tail.total_bytes(), 5u);
}

TEST(OutputTail, KeepsTheLastBytesAcrossManySmallAppends) {
  OutputTail tail(5);
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string piece = std::to_string(i) + ",";
    tail.Append(piece.data(), piece.size());
    all += piece;
    ASSERT_EQ(tail.str(), all.substr(all.size() > 5 ? all.size() - 5 : 0)) << "after " << i;
  }
  EXPECT_EQ(tail.total_bytes(), all.size());
}

TEST(OutputTail, OneHugeAppendKeepsItsEnd) {
  OutputTail tail(4);
  tail.Append("xy", 2);
  std::string big(1000, 'a');
  big += "WXYZ";
  tail.Append(big.data(), big.size());
  EXPECT_EQ(tail.str(), "WXYZ");
}

TEST(OutputTail, DefaultCapacityIsTheProtocolTail) {
  OutputTail tail;
  std::string big(proto::kMaxTailBytes * 3, 'q');
  big.back() = 'E';
  tail.Append(big.data(), big.size());
  EXPECT_EQ(tail.str().size(), proto::kMaxTailBytes);
  EXPECT_EQ(tail.str().back(), 'E');
}

TEST(OutputTail, DropsAPartialUtf8SequenceAtTheCut) {
  OutputTail tail(4);
  const std::string s = "ab\xC3\xA9xyz";  // "abéxyz": the cut lands inside 'é'
  tail.Append(s.data(), s.size());
  EXPECT_EQ(tail.str(), "xyz");
}

}  // namespace
}  // namespace sluice::worker
