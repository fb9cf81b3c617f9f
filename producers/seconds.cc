#include "producers/seconds.h"

#include <string>

namespace sluice {

Result<std::uint64_t> ParseSecondsToMs(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a number of seconds (e.g. 5 or 0.5)");
  };
  constexpr std::uint64_t kMaxWholeSeconds = 10'000'000'000ull;
  std::uint64_t whole = 0;
  std::size_t i = 0;
  std::size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (whole > kMaxWholeSeconds)
      return Status::InvalidArgument("'" + std::string(text) + "' seconds is too long");
  }
  // Milliseconds from the fraction, computed in integers so "0.1" is exactly
  // 100 ms; a fourth digit and beyond only round.
  std::uint64_t frac_ms = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::uint64_t scale = 100;
    bool round_up = false;
    for (std::size_t k = 0; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++k, ++digits) {
      const std::uint64_t d = static_cast<std::uint64_t>(text[i] - '0');
      if (k < 3) {
        frac_ms += d * scale;
        scale /= 10;
      } else if (k == 3) {
        round_up = d >= 5;
      }
    }
    if (round_up) ++frac_ms;
  }
  if (digits == 0 || i != text.size()) return bad();
  if (whole == kMaxWholeSeconds && frac_ms > 0)
    return Status::InvalidArgument("'" + std::string(text) + "' seconds is too long");
  return whole * 1000 + frac_ms;
}

}  // namespace sluice
