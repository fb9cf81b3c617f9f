#include "workers/cancel_token.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace sluice::worker {

Outcome OutcomeFor(StopReason reason) {
  switch (reason) {
    case StopReason::kNone: return Outcome::kSucceeded;
    case StopReason::kCancelled: return Outcome::kCancelled;
    case StopReason::kTimedOut: return Outcome::kTimedOut;
    case StopReason::kReturned: return Outcome::kReturned;
  }
  return Outcome::kFailed;
}

std::string_view Describe(StopReason reason) {
  switch (reason) {
    case StopReason::kNone: return "not stopped";
    case StopReason::kCancelled: return "cancelled by the broker";
    case StopReason::kTimedOut: return "timed out";
    case StopReason::kReturned: return "returned: the worker is shutting down";
  }
  return "stopped";
}

CancelToken::CancelToken(Clock::time_point deadline)
    : deadline_(deadline), fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

CancelToken::~CancelToken() {
  if (fd_ >= 0) ::close(fd_);
}

void CancelToken::Cancel(StopReason reason) {
  if (reason == StopReason::kNone) return;
  if (Clock::now() >= deadline_) reason = StopReason::kTimedOut;
  StopReason expected = StopReason::kNone;
  if (!reason_.compare_exchange_strong(expected, reason)) return;
  if (fd_ >= 0) {
    std::uint64_t one = 1;
    ssize_t ignored = ::write(fd_, &one, sizeof one);
    (void)ignored;
  }
}

StopReason CancelToken::reason() const {
  StopReason r = reason_.load(std::memory_order_acquire);
  if (r != StopReason::kNone) return r;
  if (deadline_ != Clock::time_point::max() && Clock::now() >= deadline_) return StopReason::kTimedOut;
  return StopReason::kNone;
}

StopReason CancelToken::WaitUntil(Clock::time_point until) const {
  const Clock::time_point end = std::min(until, deadline_);
  while (true) {
    StopReason r = reason();
    if (r != StopReason::kNone) return r;
    Clock::time_point now = Clock::now();
    if (now >= end) return StopReason::kNone;
    int timeout = PollTimeoutMs(now, end);
    if (fd_ < 0) timeout = std::min(timeout, 10);
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, fd_ >= 0 ? 1 : 0, timeout);  // EINTR: just look again
  }
}

int PollTimeoutMs(Clock::time_point now, Clock::time_point t) {
  if (t <= now) return 0;
  if (t == Clock::time_point::max()) return INT_MAX;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - now).count();
  auto ms = (us + 999) / 1000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace sluice::worker
