// Wakeup: an eventfd the broker's loop polls beside its socket. Poke() from
// any thread (or a signal handler) ends the loop's wait at once: a stop
// request, or a test's FakeClock moving time on, is seen in microseconds,
// not at the loop's next timeout (up to a second).
#pragma once

namespace sluice::broker {

class Wakeup {
 public:
  Wakeup();   // an eventfd; fd() is -1 if the kernel refused one (then Poke does nothing)
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  int fd() const { return fd_; }
  // Thread-safe and async-signal-safe (one write(2)).
  void Poke() const;
  // Called by the loop after the fd polled readable: resets it.
  void Drain() const;

 private:
  int fd_ = -1;
};

}  // namespace sluice::broker
