#include "broker/wakeup.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace sluice::broker {

Wakeup::Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Wakeup::~Wakeup() {
  if (fd_ >= 0) ::close(fd_);
}

void Wakeup::Poke() const {
  if (fd_ < 0) return;
  const std::uint64_t one = 1;
  // EAGAIN (the counter is full) means a wakeup is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

void Wakeup::Drain() const {
  if (fd_ < 0) return;
  std::uint64_t v = 0;
  [[maybe_unused]] ssize_t n = ::read(fd_, &v, sizeof v);
}

}  // namespace sluice::broker
