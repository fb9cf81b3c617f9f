// Framing: how a protocol message sits in ZeroMQ frames.
//
//   [routing id]   only on the broker's ROUTER side
//   "SLUICE1"      protocol frame (proto::kProtocol)
//   <1 byte>       command code (proto::Command)
//   [body]         msgpack map; may be omitted when empty
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "schemas/protocol.h"

namespace sluice::proto {

struct Incoming {
  std::string routing_id;     // empty on DEALER side
  std::uint8_t command = 0;
  std::string_view body;      // points into frames[]
  std::vector<zmq::message_t> frames;
  // The connection's ZAP user id (the broker's: the peer's CURVE public key,
  // Z85), from the message's metadata; empty without authentication.
  std::string user_id;
};

enum class FrameError {
  kNone,
  kGarbage,         // not our framing at all: drop, log
  kVersion,         // our framing, another protocol version: answer ERROR version
  kUnknownCommand,  // our framing and version, unknown command byte: answer ERROR
};

// Receives one whole message without blocking. Returns false when none is
// waiting. `has_routing_id` is true on a ROUTER socket.
bool ReceiveMessage(zmq::socket_t& socket, bool has_routing_id, Incoming* out,
                    FrameError* error);

// What ReceiveMessage does once the frames are in: checks out->frames and
// sets routing_id, command and body from them. Needs no socket, so tests and
// the wire fuzzer (tests/fuzz) check the framing directly. No frames at all
// is kGarbage.
FrameError ParseFrames(bool has_routing_id, Incoming* out);

// Sends one message without blocking. Returns false (and sends nothing) when
// the peer is gone (ROUTER_MANDATORY: EHOSTUNREACH) or its queue is full.
bool SendMessage(zmq::socket_t& socket, std::string_view routing_id, Command command,
                 std::string_view body);

}  // namespace sluice::proto
