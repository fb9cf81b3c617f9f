// StopRequests: counts requests to stop the worker (SIGTERM, SIGINT, or a
// test) and makes them visible to the I/O loop's poll as a readable fd.
// The first request starts a graceful drain, the second cancels running jobs
// at once, the third stops waiting for the last ACKs (see worker.h).
#pragma once

namespace sluice::worker {

class StopRequests {
 public:
  StopRequests();
  ~StopRequests();
  StopRequests(const StopRequests&) = delete;
  StopRequests& operator=(const StopRequests&) = delete;

  // Async-signal-safe: may be called from a signal handler or any thread.
  void Request();
  // Readable while requests are waiting to be taken. -1 if it could not be
  // created (then requests are lost: the caller checks valid()).
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // How many requests arrived since the last call. Never blocks.
  unsigned Take();

 private:
  int fd_;
};

}  // namespace sluice::worker
