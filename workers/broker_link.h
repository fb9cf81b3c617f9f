// BrokerLink: the worker's one connection to the broker, and its liveness.
//
// A DEALER socket connected to the broker's ROUTER. When the broker has
// been silent for 3 heartbeat intervals it is presumed gone: the socket is
// closed (dropping whatever it still queues) and a new one connected — the
// zguide's "paranoid pirate" pattern; a new socket gets a new routing id,
// and the worker introduces itself again with READY. Any message from the
// broker counts as a sign of life; the worker sends HEARTBEAT when it has
// sent nothing else for one interval.
//
// Time is passed in (`now`), so the decisions here are plain arithmetic.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "schemas/protocol.h"
#include "workers/cancel_token.h"

namespace sluice::worker {

class BrokerLink {
 public:
  static constexpr int kLivenessIntervals = 3;

  BrokerLink(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds heartbeat);

  // Closes the current socket, if any, and connects a new one; the broker
  // gets a fresh 3 intervals to speak. Throws zmq::error_t if the endpoint
  // is malformed (the first call, at startup, reports that).
  void Reconnect(Clock::time_point now);

  // Sends one message without blocking; false if ZeroMQ refused it (the
  // caller's data, e.g. an unacked RESULT, is re-sent after a reconnect).
  bool Send(proto::Command command, std::string_view body, Clock::time_point now);

  // Records a message from the broker.
  void Heard(Clock::time_point now);
  // Nothing heard for kLivenessIntervals intervals since the last message
  // or (re)connect.
  bool Silent(Clock::time_point now) const;
  // Nothing sent for one interval.
  bool HeartbeatDue(Clock::time_point now) const;
  // The earliest time Silent() or HeartbeatDue() can become true.
  Clock::time_point NextDeadline() const;

  // False from Reconnect() until the first message arrives on the new socket.
  bool heard_since_connect() const { return heard_since_connect_; }
  zmq::socket_t& socket() { return *socket_; }
  const std::string& endpoint() const { return endpoint_; }

  // Closes the socket, giving queued messages (a last BYE) up to `linger`
  // to leave.
  void Close(std::chrono::milliseconds linger);

 private:
  zmq::context_t& context_;
  const std::string endpoint_;
  const std::chrono::milliseconds heartbeat_;
  std::unique_ptr<zmq::socket_t> socket_;
  Clock::time_point last_heard_{};
  Clock::time_point last_sent_{};
  bool heard_since_connect_ = false;
};

}  // namespace sluice::worker
