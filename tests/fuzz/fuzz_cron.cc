// Cron fuzzer: expression text through ParseCron. An expression that
// parses must print (ToString) to one that parses back equal; its next and
// previous fire times must match it, lie on the right side of the instant,
// agree with each other, and leave no fire time out when they are near.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "pipeline/workflows/cron_expr.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using sluice::workflows::CronExpr;

constexpr std::int64_t kNear = 2 * 86400;  // checked minute by minute

void CheckAround(const CronExpr& e, std::int64_t t) {
  if (auto n = e.NextAfter(t)) {
    FUZZ_CHECK(*n > t, "NextAfter(%lld) = %lld", static_cast<long long>(t), static_cast<long long>(*n));
    FUZZ_CHECK(e.Matches(*n), "NextAfter(%lld) = %lld does not match", static_cast<long long>(t),
               static_cast<long long>(*n));
    FUZZ_CHECK(e.PrevAtOrBefore(*n) == *n, "PrevAtOrBefore(NextAfter) != NextAfter");
    if (*n - t <= kNear)
      for (std::int64_t m = (t / 60 + 1) * 60; m < *n; m += 60)
        FUZZ_CHECK(!e.Matches(m), "NextAfter(%lld) skipped %lld", static_cast<long long>(t),
                   static_cast<long long>(m));
  }
  if (auto p = e.PrevAtOrBefore(t)) {
    FUZZ_CHECK(*p <= t, "PrevAtOrBefore(%lld) = %lld", static_cast<long long>(t), static_cast<long long>(*p));
    FUZZ_CHECK(e.Matches(*p), "PrevAtOrBefore(%lld) = %lld does not match", static_cast<long long>(t),
               static_cast<long long>(*p));
    if (t - *p <= kNear)
      for (std::int64_t m = *p + 60; m <= t; m += 60)
        FUZZ_CHECK(!e.Matches(m), "PrevAtOrBefore(%lld) skipped %lld", static_cast<long long>(t),
                   static_cast<long long>(m));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::workflows;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = ParseCron(text);
  if (!e.ok()) return 0;
  FUZZ_CHECK(e->text() == text, "text() is not the input");
  const std::string canonical = e->ToString();
  auto again = ParseCron(canonical);
  FUZZ_CHECK(again.ok(), "ToString() '%s' does not parse: %s", canonical.c_str(),
             again.status().message().c_str());
  FUZZ_CHECK(*again == *e, "ToString() '%s' parses to another schedule", canonical.c_str());
  FUZZ_CHECK(again->ToString() == canonical, "ToString() not canonical: '%s'", canonical.c_str());

  // Instants: a fixed one, one the input picks, and the ends of the range.
  const std::uint64_t h = std::hash<std::string_view>{}(text);
  const std::uint64_t span = static_cast<std::uint64_t>(kCronMaxUnixSeconds - kCronMinUnixSeconds);
  CheckAround(*e, 1700000123);
  CheckAround(*e, kCronMinUnixSeconds + static_cast<std::int64_t>(h % span));
  CheckAround(*e, kCronMaxUnixSeconds - 90);
  CheckAround(*e, kCronMinUnixSeconds + 30);
  return 0;
}
