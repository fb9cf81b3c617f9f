#include "broker/duration_flag.h"

#include <gtest/gtest.h>

namespace sluice::broker {
namespace {

TEST(DurationFlag, UnitsAndPlainSeconds) {
  EXPECT_EQ(ParseDurationMs("5"), 5000);
  EXPECT_EQ(ParseDurationMs("0.5"), 500);
  EXPECT_EQ(ParseDurationMs("250ms"), 250);
  EXPECT_EQ(ParseDurationMs("10m"), 600000);
  EXPECT_EQ(ParseDurationMs("2h"), 7200000);
  EXPECT_EQ(ParseDurationMs("7d"), 604800000);
  for (const char* bad : {"", "x", "-1", "5y", "1e400", "nan"}) EXPECT_FALSE(ParseDurationMs(bad)) << bad;
}

}  // namespace
}  // namespace sluice::broker
