#include "pipeline/period.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Period P(const char* s, PeriodUnit u) {
  auto p = ParsePeriod(s, u);
  EXPECT_TRUE(p.has_value()) << s;
  return p.value_or(Period{});
}

TEST(Period, ParsesAndRejects) {
  EXPECT_EQ(FormatPeriod(P("2024-03", PeriodUnit::kMonth)), "2024-03");
  EXPECT_EQ(FormatPeriod(P("2024-03-15", PeriodUnit::kMonth)), "2024-03");
  EXPECT_EQ(FormatPeriod(P("2024-02-29", PeriodUnit::kDay)), "2024-02-29");
  EXPECT_EQ(FormatPeriod(P("2024", PeriodUnit::kYear)), "2024");
  for (const char* bad : {"2023-02-29", "2024-13", "2024-00", "24-03", "2024/03", "2024-03-32", ""})
    EXPECT_FALSE(ParsePeriod(bad, PeriodUnit::kDay).has_value()) << bad;
}

TEST(Period, StepsOverMonthAndYearEnds) {
  EXPECT_EQ(FormatPeriod(Step(P("2024-01", PeriodUnit::kMonth), -1)), "2023-12");
  EXPECT_EQ(FormatPeriod(Step(P("2023-12", PeriodUnit::kMonth), 2)), "2024-02");
  EXPECT_EQ(FormatPeriod(Step(P("2024-03-01", PeriodUnit::kDay), -1)), "2024-02-29");
  EXPECT_EQ(FormatPeriod(Step(P("2023-03-01", PeriodUnit::kDay), -1)), "2023-02-28");
  EXPECT_EQ(FormatPeriod(Step(P("2024-12-31", PeriodUnit::kDay), 1)), "2025-01-01");
  EXPECT_EQ(FormatPeriod(Step(P("2024", PeriodUnit::kYear), -3)), "2021");
}

TEST(Period, AtAnInstant) {
  // 2024-02-29T23:59:59Z
  EXPECT_EQ(FormatPeriod(PeriodAt(1709251199000LL, PeriodUnit::kDay)), "2024-02-29");
  EXPECT_EQ(FormatPeriod(PeriodAt(1709251199000LL, PeriodUnit::kMonth)), "2024-02");
}

TEST(Period, ExpandsTemplatesAndLeavesTheRest) {
  Period p = P("2024-03-05", PeriodUnit::kDay);
  EXPECT_EQ(ExpandPeriodTemplate("https://x/{year}/{month}/f-{date}_{day}.csv?k=${env:KEY}&{other}", p),
            "https://x/2024/03/f-2024-03-05_05.csv?k=${env:KEY}&{other}");
}

}  // namespace
}  // namespace sluice
