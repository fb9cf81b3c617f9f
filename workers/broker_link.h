// BrokerLink: the worker's one connection to the broker, and its liveness.
//
// A DEALER socket connected to the broker's ROUTER, a CURVE client of it
// when the worker has keys (--curve-key, --broker-key: applied to every
// socket, before connect). When the broker has been silent for the
// connection's patience it is presumed gone: the socket is closed (dropping
// whatever it still queues) and a new one connected — the zguide's
// "paranoid pirate" pattern; a new socket gets a new routing id, and the
// worker introduces itself again with READY. Any message from the broker
// counts as a sign of life, except ERROR `forbidden`; the worker sends
// HEARTBEAT when it has sent nothing else for one interval.
//
// Backoff. A connection's patience is 3 heartbeat intervals (the base) while
// the broker speaks. After the n-th consecutive connection that ended
// without a sign of life (silent, or refused), the next one waits
//   min(cap, base * 2^(n-1)) + 0-25% random jitter,   cap = 10 * base,
// i.e. 3, 6, 12, 24, 30, 30... s (+ jitter) at the default 1 s heartbeat,
// so a pool of workers cut off together neither hammers the broker's host
// nor comes back in lockstep. The first message from the broker resets it.
// Within one socket libzmq retries the TCP connection itself from 100 ms,
// doubling up to the base (ZMQ_RECONNECT_IVL / _MAX), so a broker that comes
// back is reached within one base interval whatever the patience: the
// READY queued on the socket goes out then.
//
// Refusal. ERROR `forbidden` (the broker does not authorize this worker's
// key as a worker's) makes the link refused: it counts as a failed
// connection, nothing more is sent on the socket (Send() returns false,
// HeartbeatDue() is false), messages from the broker no longer count as
// signs of life, and ReconnectDue() becomes true after the backoff above;
// the new connection tries again with READY.
//
// Time is passed in (`now`), so the decisions here are plain arithmetic.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "schemas/curve_cert.h"
#include "schemas/protocol.h"
#include "workers/cancel_token.h"

namespace sluice::worker {

inline constexpr int kBackoffCapBases = 10;   // the cap, in base patiences
inline constexpr double kMaxBackoffJitter = 0.25;
// libzmq's first TCP reconnect interval (its default, set explicitly).
inline constexpr std::chrono::milliseconds kTcpReconnectIvl{100};

// The patience of a connection after `failures` consecutive connections
// ended without a sign of life from the broker: `base` for 0; else
// min(cap, base * 2^(failures-1)) stretched by `jitter` (clamped to [0, 1))
// times kMaxBackoffJitter. Never less than `base` when cap >= base.
std::chrono::milliseconds ReconnectPatience(std::uint64_t failures, std::chrono::milliseconds base,
                                            std::chrono::milliseconds cap, double jitter);

class BrokerLink {
 public:
  // The base patience, in heartbeat intervals.
  static constexpr int kLivenessIntervals = 3;

  // `keys`: empty for plain TCP. `random01` returns uniform values in
  // [0, 1) for the jitter (default: a generator seeded from random_device).
  BrokerLink(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds heartbeat,
             curve::ClientKeys keys = {}, std::function<double()> random01 = {});

  // Connects a new socket and closes the current one, if any; the broker
  // gets the patience ReconnectPatience(failures()) to speak. Clears the
  // refusal. Throws zmq::error_t if the endpoint is malformed (the first
  // call, at startup, reports that); the current socket is then kept.
  void Reconnect(Clock::time_point now);

  // Sends one message without blocking; false if ZeroMQ refused it or the
  // link is refused (the caller's data, e.g. an unacked RESULT, is re-sent
  // after a reconnect).
  bool Send(proto::Command command, std::string_view body, Clock::time_point now);

  // Records a sign of life from the broker: resets the backoff.
  void Heard(Clock::time_point now);
  // Counts the current connection as failed for silence (call before
  // Reconnect() when ReconnectDue() and not refused()).
  void CountFailure();
  // The broker refused this worker's key: counts a failure and waits the
  // backoff before ReconnectDue().
  void Refuse(Clock::time_point now);

  // Time for a new connection: nothing heard within the patience since the
  // last message or (re)connect, or the wait after a refusal is over.
  bool ReconnectDue(Clock::time_point now) const { return now >= give_up_at_; }
  // Nothing sent for one interval (never while refused).
  bool HeartbeatDue(Clock::time_point now) const;
  // The earliest time ReconnectDue() or HeartbeatDue() can become true.
  Clock::time_point NextDeadline() const;

  // False from Reconnect() until the first message arrives on the new socket.
  bool heard_since_connect() const { return heard_since_connect_; }
  bool refused() const { return refused_; }
  // Consecutive connections that ended without a sign of life.
  std::uint64_t failures() const { return failures_; }
  // The current connection's patience (or, refused, the wait).
  std::chrono::milliseconds patience() const { return patience_; }
  // What the next connection will get.
  std::chrono::milliseconds next_patience() const { return next_patience_; }
  std::chrono::milliseconds base() const { return base_; }
  std::chrono::milliseconds cap() const { return cap_; }
  bool curve() const { return !keys_.server_z85.empty(); }
  zmq::socket_t& socket() { return *socket_; }
  const std::string& endpoint() const { return endpoint_; }

  // Closes the socket, giving queued messages (a last BYE) up to `linger`
  // to leave.
  void Close(std::chrono::milliseconds linger);

 private:
  void PlanNext();

  zmq::context_t& context_;
  const std::string endpoint_;
  const std::chrono::milliseconds heartbeat_;
  const std::chrono::milliseconds base_;
  const std::chrono::milliseconds cap_;
  const curve::ClientKeys keys_;
  std::function<double()> random01_;
  std::unique_ptr<zmq::socket_t> socket_;
  Clock::time_point last_sent_{};
  Clock::time_point give_up_at_{};
  std::chrono::milliseconds patience_;
  std::chrono::milliseconds next_patience_;
  std::uint64_t failures_ = 0;
  bool heard_since_connect_ = false;
  bool refused_ = false;
};

}  // namespace sluice::worker
