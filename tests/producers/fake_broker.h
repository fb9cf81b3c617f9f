// A stand-in for sluice-broker in tests: a ROUTER socket bound to
// tcp://127.0.0.1:* and served by its own thread. Every request is handed to
// a handler, which returns what to send back — nothing (a silent broker),
// one reply, or several (stale ones, answers to earlier requests).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "schemas/protocol.h"

namespace sluice::testing {

class FakeBroker {
 public:
  struct Request {
    proto::Command command;
    nlohmann::json body;  // the msgpack body as JSON (null when empty or not msgpack)
    std::string raw;      // the body as received
  };
  struct Answer {
    proto::Command command;  // kReply or kError (or anything, to test robustness)
    nlohmann::json body;     // sent as msgpack; a string body is sent as these raw bytes
  };
  // Called on the broker's thread, one request at a time.
  using Handler = std::function<std::vector<Answer>(const Request&)>;

  explicit FakeBroker(Handler handler);
  ~FakeBroker();  // stops and joins the thread
  FakeBroker(const FakeBroker&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;

  // "tcp://127.0.0.1:<port>", read back with ZMQ_LAST_ENDPOINT.
  const std::string& endpoint() const { return endpoint_; }

  // Everything received so far, in order.
  std::vector<Request> requests() const;
  std::size_t count(proto::Command command) const;

  // A REPLY {req, ok: true, ...fields} answering `request`.
  static Answer Reply(const Request& request, nlohmann::json fields = nlohmann::json::object());
  // An ERROR {req, ok: false, code, message} answering `request`.
  static Answer Error(const Request& request, std::string code, std::string message);

 private:
  void Serve(std::string* endpoint, std::atomic<bool>* bound);

  Handler handler_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::testing
