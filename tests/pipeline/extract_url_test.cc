// ResolveExtractUrl: the one place an extract.http url template becomes the
// URL fetched, for the broker's cursor lookup and the worker's GET alike.
#include "pipeline/extract_url.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

// 2024-03-15T12:00:00Z
constexpr long long kMarch15 = 1710504000000;

std::string Url(std::string_view tmpl, std::string_view date, PeriodUnit unit, unsigned back = 0) {
  auto r = ResolveExtractUrl(tmpl, date, unit, kMarch15, back);
  EXPECT_TRUE(r.has_value()) << tmpl << " " << date;
  return r ? r->url : "";
}

TEST(ExtractUrl, TheDateParamInItsUnit) {
  EXPECT_EQ(Url("https://o/{year}-{month}.csv", "2024-03", PeriodUnit::kMonth), "https://o/2024-03.csv");
  EXPECT_EQ(Url("https://o/{date}.csv", "2024-03-09", PeriodUnit::kDay), "https://o/2024-03-09.csv");
  // In a month period {day} is 01, whatever day the date names.
  EXPECT_EQ(Url("https://o/{date}/{day}", "2024-03-09", PeriodUnit::kMonth), "https://o/2024-03-01/01");
  EXPECT_EQ(Url("https://o/{year}/{month}", "2024-07-09", PeriodUnit::kYear), "https://o/2024/01");
}

TEST(ExtractUrl, WithoutADateTheUnitHoldingNow) {
  EXPECT_EQ(Url("https://o/{date}", "", PeriodUnit::kDay), "https://o/2024-03-15");
  EXPECT_EQ(Url("https://o/{date}", "", PeriodUnit::kMonth), "https://o/2024-03-01");
  EXPECT_EQ(Url("https://o/{year}", "", PeriodUnit::kYear), "https://o/2024");
}

TEST(ExtractUrl, TheBrokersDateOfTodayGivesTheWorkersUrl) {
  // The broker sends a job without a date today's day; the worker reads it
  // in the job's unit. Both resolve the same URL.
  for (PeriodUnit unit : {PeriodUnit::kDay, PeriodUnit::kMonth, PeriodUnit::kYear})
    EXPECT_EQ(Url("https://o/{year}/{month}/{day}/{date}", "2024-03-15", unit),
              Url("https://o/{year}/{month}/{day}/{date}", "", unit));
}

TEST(ExtractUrl, StepsBackForAFallback) {
  auto r = ResolveExtractUrl("https://o/{year}-{month}.csv", "2024-02", PeriodUnit::kMonth, kMarch15, 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->url, "https://o/2023-11.csv");
  EXPECT_EQ(FormatPeriod(r->period), "2023-11");
  EXPECT_EQ(Url("https://o/{date}", "2024-03-01", PeriodUnit::kDay, 1), "https://o/2024-02-29");
}

TEST(ExtractUrl, SecretsAndOtherBracesStay) {
  EXPECT_EQ(Url("https://o/{month}?k=${env:KEY}&x={other}", "2024-03", PeriodUnit::kMonth),
            "https://o/03?k=${env:KEY}&x={other}");
}

TEST(ExtractUrl, ABadDateHasNoUrl) {
  for (const char* bad : {"2024-13", "2023-02-29", "yesterday", "2024/03"})
    EXPECT_FALSE(ResolveExtractUrl("https://o/{date}", bad, PeriodUnit::kMonth, kMarch15).has_value()) << bad;
}

TEST(ExtractUrl, HasPeriodPlaceholders) {
  for (const char* yes : {"https://o/{year}", "{month}", "a{day}b", "x/{date}.csv"})
    EXPECT_TRUE(HasPeriodPlaceholders(yes)) << yes;
  for (const char* no : {"https://o/latest.csv", "{region}", "{ date}", "${env:DATE}", "year"})
    EXPECT_FALSE(HasPeriodPlaceholders(no)) << no;
}

}  // namespace
}  // namespace sluice
