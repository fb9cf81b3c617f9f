#include "broker/prefetch_window.h"

#include <algorithm>

namespace sluice::broker {

void PrefetchWindow::OnSend(std::int64_t now_us, std::size_t held_before) {
  if (held_before == 0 || mark_us_ < 0) mark_us_ = now_us;  // a busy spell starts
}

void PrefetchWindow::OnResult(std::int64_t now_us, std::size_t held_after) {
  if (mark_us_ >= 0) {
    const double sample = static_cast<double>(std::max<std::int64_t>(0, now_us - mark_us_));
    // A new average moves 1/8 of the way: results come in bursts (several
    // RESULTs in one read), so single samples are noisy.
    period_us_ = period_us_ <= 0 ? std::max(sample, 1.0) : period_us_ + (sample - period_us_) / 8;
  }
  mark_us_ = held_after == 0 ? -1 : now_us;  // idle time is not the worker's pace
}

std::uint32_t PrefetchWindow::Allowance(std::int64_t now_us, std::uint32_t declared) const {
  if (period_us_ <= 0 || declared == 0) return 0;
  double pace = period_us_;
  if (mark_us_ >= 0) pace = std::max(pace, static_cast<double>(now_us - mark_us_));
  pace = std::max(pace, 1.0);
  const double window = static_cast<double>(target_us_) / pace;
  return window >= declared ? declared : static_cast<std::uint32_t>(window);
}

}  // namespace sluice::broker
