#include "schemas/envelope.h"

namespace sluice::proto {

bool ReceiveMessage(zmq::socket_t& socket, bool has_routing_id, Incoming* out,
                    FrameError* error) {
  out->frames.clear();
  out->routing_id.clear();
  out->body = {};
  out->command = 0;
  out->user_id.clear();
  *error = FrameError::kNone;
  while (true) {
    zmq::message_t msg;
    auto r = socket.recv(msg, out->frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
    if (!r) return false;  // nothing waiting (only possible on the first frame)
    bool more = msg.more();
    out->frames.push_back(std::move(msg));
    if (!more) break;
    if (out->frames.size() > 16) {
      // Drain the rest of an absurd multipart message.
      zmq::message_t rest;
      while (socket.get(zmq::sockopt::rcvmore) && socket.recv(rest, zmq::recv_flags::none)) {}
      break;
    }
  }
  // Metadata travels with the frames the peer sent (not the routing id the
  // ROUTER prepends).
  if (const char* user = zmq_msg_gets(out->frames.back().handle(), "User-Id")) out->user_id = user;
  *error = ParseFrames(has_routing_id, out);
  return true;
}

FrameError ParseFrames(bool has_routing_id, Incoming* out) {
  out->routing_id.clear();
  out->body = {};
  out->command = 0;
  if (out->frames.empty()) return FrameError::kGarbage;
  std::size_t i = 0;
  if (has_routing_id) {
    out->routing_id.assign(out->frames[0].data<char>(), out->frames[0].size());
    i = 1;
  }
  const std::size_t n = out->frames.size() - i;
  if (n < 2 || n > 3) return FrameError::kGarbage;
  std::string_view proto(out->frames[i].data<char>(), out->frames[i].size());
  if (proto != kProtocol) {
    // Our family, another version: answer so the peer knows. Anything else is garbage.
    return (proto.size() >= 6 && proto.size() <= 16 && proto.substr(0, 6) == "SLUICE")
               ? FrameError::kVersion
               : FrameError::kGarbage;
  }
  if (out->frames[i + 1].size() != 1) return FrameError::kGarbage;
  out->command = *out->frames[i + 1].data<std::uint8_t>();
  if (n == 3) out->body = std::string_view(out->frames[i + 2].data<char>(), out->frames[i + 2].size());
  if (CommandName(out->command) == nullptr) return FrameError::kUnknownCommand;
  return FrameError::kNone;
}

bool SendMessage(zmq::socket_t& socket, std::string_view routing_id, Command command,
                 std::string_view body) {
  try {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!routing_id.empty()) {
      if (!socket.send(zmq::buffer(routing_id), more)) return false;
    }
    // With a routing id accepted, the remaining frames are queued atomically.
    if (!socket.send(zmq::buffer(kProtocol), more)) return false;
    std::uint8_t code = static_cast<std::uint8_t>(command);
    if (body.empty()) return socket.send(zmq::buffer(&code, 1), zmq::send_flags::dontwait).has_value();
    if (!socket.send(zmq::buffer(&code, 1), more)) return false;
    return socket.send(zmq::buffer(body), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;  // EHOSTUNREACH with ROUTER_MANDATORY: the peer is gone
  }
}

}  // namespace sluice::proto
