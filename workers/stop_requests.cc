#include "workers/stop_requests.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace sluice::worker {

StopRequests::StopRequests() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

StopRequests::~StopRequests() {
  if (fd_ >= 0) ::close(fd_);
}

void StopRequests::Request() {
  std::uint64_t one = 1;
  ssize_t ignored = ::write(fd_, &one, sizeof one);
  (void)ignored;
}

unsigned StopRequests::Take() {
  std::uint64_t n = 0;
  if (::read(fd_, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) return 0;
  return static_cast<unsigned>(n);
}

}  // namespace sluice::worker
