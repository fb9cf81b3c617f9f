#include "producers/seconds.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

std::uint64_t Ms(const char* text) {
  auto r = ParseSecondsToMs(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : 0;
}

TEST(ParseSecondsToMs, WholeSeconds) {
  EXPECT_EQ(Ms("0"), 0u);
  EXPECT_EQ(Ms("5"), 5000u);
  EXPECT_EQ(Ms("1800"), 1'800'000u);
}

TEST(ParseSecondsToMs, FractionsAreExactMilliseconds) {
  EXPECT_EQ(Ms("0.5"), 500u);
  EXPECT_EQ(Ms("0.1"), 100u);
  EXPECT_EQ(Ms(".25"), 250u);
  EXPECT_EQ(Ms("10."), 10'000u);
  EXPECT_EQ(Ms("1.001"), 1001u);
  EXPECT_EQ(Ms("2.5000000"), 2500u);
}

TEST(ParseSecondsToMs, SubMillisecondsRoundToNearest) {
  EXPECT_EQ(Ms("0.0004"), 0u);
  EXPECT_EQ(Ms("0.0005"), 1u);
  EXPECT_EQ(Ms("1.9996"), 2000u);
}

TEST(ParseSecondsToMs, RefusesWhatIsNotPlainSeconds) {
  for (const char* bad : {"", ".", "-1", "+1", "1e3", "5s", " 5", "5 ", "inf", "nan", "0x10",
                          "1.2.3", "abc", "1,5"}) {
    auto r = ParseSecondsToMs(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "'";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(ParseSecondsToMs, RefusesAbsurdlyLongDurationsInsteadOfOverflowing) {
  EXPECT_EQ(Ms("10000000000"), 10'000'000'000'000u);
  EXPECT_FALSE(ParseSecondsToMs("10000000000.5").ok());
  EXPECT_FALSE(ParseSecondsToMs("99999999999999999999999").ok());
}

}  // namespace
}  // namespace sluice
