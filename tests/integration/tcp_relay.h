// TcpRelay: a TCP man-in-the-middle for tests. It listens on 127.0.0.1 (a
// free port), forwards every connection to a target port on 127.0.0.1, and
// records every byte that passes, both ways: what an eavesdropper on the
// wire would see.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::testing {

class TcpRelay {
 public:
  explicit TcpRelay(int target_port);
  ~TcpRelay();  // stops the thread, closes every socket
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  // Everything relayed so far, both directions, in order of arrival.
  std::string Recorded() const;
  std::uint64_t bytes() const { return bytes_.load(); }

 private:
  void Loop();

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> bytes_{0};
  mutable std::mutex mu_;
  std::string recorded_;
  std::thread thread_;
};

}  // namespace sluice::testing
