#include "fake_broker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "schemas/envelope.h"

namespace sluice::worker::testing {

FakeBroker::FakeBroker(int port, std::chrono::milliseconds beat, const curve::KeyPair* curve_server)
    : socket_(context_, zmq::socket_type::router), beat_(beat) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  if (curve_server != nullptr) {
    socket_.set(zmq::sockopt::curve_server, true);
    socket_.set(zmq::sockopt::curve_secretkey, curve_server->secret_z85);
  }
  const std::string monitor = "inproc://fake-broker-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  if (zmq_socket_monitor(socket_.handle(), monitor.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
    ADD_FAILURE() << "zmq_socket_monitor: " << zmq_strerror(zmq_errno());
  monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(monitor);
  socket_.bind("tcp://127.0.0.1:" + (port == 0 ? std::string("*") : std::to_string(port)));
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  port_ = std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1));
}

bool FakeBroker::WaitForFailedHandshake(std::uint32_t protocol_error, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    zmq::pollitem_t item{monitor_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(end - now) + 1ms) <= 0) continue;
    // An event: a frame of its 16-bit number and 32-bit value, then one of the endpoint.
    zmq::message_t event, address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) continue;
    if (event.more()) (void)monitor_.recv(address, zmq::recv_flags::none);
    if (event.size() < 6) continue;
    std::uint16_t number;
    std::uint32_t value;
    std::memcpy(&number, event.data(), sizeof number);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
    if (number == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && value == protocol_error) return true;
  }
}

std::optional<Received> FakeBroker::Receive(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    BeatIfDue();
    proto::Incoming in;
    proto::FrameError error;
    if (proto::ReceiveMessage(socket_, /*has_routing_id=*/true, &in, &error)) {
      if (error != proto::FrameError::kNone) continue;  // a worker never sends garbage; skip
      Received r{in.routing_id, static_cast<proto::Command>(in.command), std::string(in.body)};
      peer_ = r.peer;
      if (seen) seen(r);
      return r;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return std::nullopt;
    auto wait = std::min<std::chrono::steady_clock::duration>(end - now, beat_ / 2);
    zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(wait) + 1ms);
  }
}

std::optional<Received> FakeBroker::ReceiveCommand(proto::Command command,
                                                   std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return std::nullopt;
    auto m = Receive(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
    if (!m) return std::nullopt;
    if (m->command == command) return m;
  }
}

void FakeBroker::Pump(std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return;
    Receive(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
  }
}

bool FakeBroker::PumpUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    Receive(10ms);
  }
  return true;
}

void FakeBroker::BeatIfDue() {
  if (silent_ || peer_.empty()) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_beat_ < beat_) return;
  last_beat_ = now;
  proto::SendMessage(socket_, peer_, proto::Command::kHeartbeat, {});  // a vanished peer: ignored
}

void FakeBroker::Send(const std::string& peer, proto::Command command, std::string_view body) {
  ASSERT_TRUE(proto::SendMessage(socket_, peer, command, body)) << "send to the worker failed";
}

void FakeBroker::SendJob(const std::string& peer, const std::string& job, std::uint32_t attempt,
                         const std::string& kind, const std::string& params_msgpack,
                         std::uint64_t timeout_ms) {
  proto::JobMsg m;
  m.job = job;
  m.attempt = attempt;
  m.kind = kind;
  m.queue = "default";
  m.params = params_msgpack;
  m.timeout_ms = timeout_ms;
  std::string body;
  proto::Encode(m, &body);
  Send(peer, proto::Command::kJob, body);
}

void FakeBroker::SendCancel(const std::string& peer, const std::string& job, std::uint32_t attempt) {
  std::string body;
  proto::Encode(proto::CancelMsg{job, attempt}, &body);
  Send(peer, proto::Command::kCancel, body);
}

void FakeBroker::SendAck(const std::string& peer, const std::vector<proto::JobAttempt>& acks) {
  std::string body;
  proto::Encode(proto::Ack{acks}, &body);
  Send(peer, proto::Command::kAck, body);
}

void FakeBroker::SendError(const std::string& peer, std::string_view code, const std::string& message) {
  proto::ErrorMsg e{0, std::string(code), message};
  std::string body;
  proto::Encode(e, &body);
  Send(peer, proto::Command::kError, body);
}

void FakeBroker::SendFrames(const std::string& peer, const std::vector<std::string>& frames) {
  socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  for (std::size_t i = 0; i < frames.size(); ++i)
    socket_.send(zmq::buffer(frames[i]),
                 i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

proto::JobResult DecodeResult(const Received& m) {
  proto::JobResult r;
  EXPECT_EQ(m.command, proto::Command::kResult);
  Status s = proto::Decode(m.body, &r);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return r;
}

proto::Ready DecodeReady(const Received& m) {
  proto::Ready r;
  EXPECT_EQ(m.command, proto::Command::kReady);
  Status s = proto::Decode(m.body, &r);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return r;
}

}  // namespace sluice::worker::testing
