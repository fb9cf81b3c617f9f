// ZapHandler: the broker's ZeroMQ authentication handler (ZAP, RFC 27).
//
// With CURVE on, libzmq asks the handler about every new connection's
// client key before the connection is accepted. The handler runs on its own
// thread with a REP socket on inproc://zeromq.zap.01 in the broker's
// context, and answers from the AuthorizedKeys it was last given:
//   - a listed key: 200, with the key (Z85) as the connection's user id;
//     the broker reads it from every message's metadata and looks the key
//     up again, so a key removed later (SIGHUP) is refused at once;
//   - anything else: 400; logged with the peer's address and key, at most
//     kLogBurst lines per kLogWindowMs (then how many went unlogged).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "broker/authorized_keys.h"
#include "schemas/status.h"

namespace sluice::broker {

class ZapHandler {
 public:
  static constexpr int kLogBurst = 10;
  static constexpr std::int64_t kLogWindowMs = 10000;

  explicit ZapHandler(zmq::context_t& context);
  ~ZapHandler();  // stops and joins the thread
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds the ZAP endpoint and starts the thread. Call before the broker's
  // socket binds.
  Status Start(std::shared_ptr<const AuthorizedKeys> keys);
  // Swaps the keys new handshakes are checked against (thread-safe).
  void SetKeys(std::shared_ptr<const AuthorizedKeys> keys);

  std::uint64_t refused() const { return refused_.load(); }

 private:
  void Loop();
  void LogRefusal(const std::string& address, const std::string& key, const char* why);

  zmq::context_t& context_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::shared_ptr<const AuthorizedKeys> keys_;
  std::atomic<std::uint64_t> refused_{0};
  // Rate limit of the refusal log (the thread's own).
  std::int64_t window_start_ms_ = 0;
  int logged_in_window_ = 0;
  std::uint64_t unlogged_ = 0;
};

}  // namespace sluice::broker
