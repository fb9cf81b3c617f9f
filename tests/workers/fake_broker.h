// FakeBroker: a ROUTER socket bound on tcp://127.0.0.1:* that plays the
// broker's side of PROTOCOL.md §5 for worker tests. The test drives it:
// it receives what the worker sends and sends what the test asks.
//
// While a test waits in Receive*() or Pump(), the fake beats (HEARTBEAT)
// to the last peer it heard from every `beat` so the worker does not
// presume it gone, unless set_silent(true).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "schemas/curve_cert.h"
#include "schemas/messages.h"
#include "schemas/protocol.h"

namespace sluice::worker::testing {

using namespace std::chrono_literals;

struct Received {
  std::string peer;  // routing id
  proto::Command command{};
  std::string body;
};

class FakeBroker {
 public:
  // Binds tcp://127.0.0.1:`port` (0: any free port). With `curve_server`
  // (a key pair with its secret), a CURVE server with those keys that lets
  // any client key in (no ZAP handler), as libzmq does.
  explicit FakeBroker(int port = 0, std::chrono::milliseconds beat = 100ms,
                      const curve::KeyPair* curve_server = nullptr);

  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }
  void set_silent(bool silent) { silent_ = silent; }
  // The peer that last sent something.
  const std::string& peer() const { return peer_; }

  // The next message (any command), or nullopt after `timeout`.
  std::optional<Received> Receive(std::chrono::milliseconds timeout);
  // The next message with `command`; other commands are dropped, except
  // that every message is passed to `seen` first if set.
  std::optional<Received> ReceiveCommand(proto::Command command, std::chrono::milliseconds timeout);
  // Receives (and beats) for `duration`, calling `seen` for each message.
  void Pump(std::chrono::milliseconds duration);
  // Receives (and beats) until `done()` or `timeout`; returns done().
  bool PumpUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);

  void Send(const std::string& peer, proto::Command command, std::string_view body);
  void SendJob(const std::string& peer, const std::string& job, std::uint32_t attempt,
               const std::string& kind, const std::string& params_msgpack,
               std::uint64_t timeout_ms = 0);
  void SendCancel(const std::string& peer, const std::string& job, std::uint32_t attempt);
  void SendAck(const std::string& peer, const std::vector<proto::JobAttempt>& acks);
  // ERROR {req: 0, code, message}.
  void SendError(const std::string& peer, std::string_view code, const std::string& message);
  // Raw frames, for garbage tests.
  void SendFrames(const std::string& peer, const std::vector<std::string>& frames);

  // Waits until a connection fails its handshake with this broker for
  // `protocol_error` (ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: a plain
  // client at a CURVE broker; ..._CRYPTOGRAPHIC: a client that trusts
  // another broker's key); other events are skipped. The fence for "nothing
  // got through".
  bool WaitForFailedHandshake(std::uint32_t protocol_error, std::chrono::milliseconds timeout);

  // Called for every message received (including those ReceiveCommand skips).
  std::function<void(const Received&)> seen;

 private:
  void BeatIfDue();

  zmq::context_t context_{1};
  zmq::socket_t socket_;
  zmq::socket_t monitor_;  // the socket's handshake failures (zmq_socket_monitor)
  std::string endpoint_;
  int port_ = 0;
  std::chrono::milliseconds beat_;
  std::chrono::steady_clock::time_point last_beat_{};
  bool silent_ = false;
  std::string peer_;
};

// Decodes a RESULT body or fails the test.
proto::JobResult DecodeResult(const Received& m);
proto::Ready DecodeReady(const Received& m);

}  // namespace sluice::worker::testing
