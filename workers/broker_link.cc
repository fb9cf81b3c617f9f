#include "workers/broker_link.h"

#include <algorithm>

#include "schemas/envelope.h"

namespace sluice::worker {

BrokerLink::BrokerLink(zmq::context_t& context, std::string endpoint,
                       std::chrono::milliseconds heartbeat)
    : context_(context), endpoint_(std::move(endpoint)), heartbeat_(heartbeat) {}

void BrokerLink::Reconnect(Clock::time_point now) {
  if (socket_) Close(std::chrono::milliseconds(0));
  auto socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  socket->set(zmq::sockopt::linger, 0);
  // Outbound traffic is bounded by the protocol (one RESULT per JOB, and the
  // broker sends no more JOBs than there are slots), so never refuse a send
  // for a full queue: a refused RESULT would sit unsent until a reconnect.
  socket->set(zmq::sockopt::sndhwm, 0);
  socket->set(zmq::sockopt::maxmsgsize, proto::kMaxMessageBytes);
  socket->connect(endpoint_);
  socket_ = std::move(socket);
  last_heard_ = now;
  last_sent_ = now;
  heard_since_connect_ = false;
}

bool BrokerLink::Send(proto::Command command, std::string_view body, Clock::time_point now) {
  if (!socket_) return false;
  last_sent_ = now;
  return proto::SendMessage(*socket_, {}, command, body);
}

void BrokerLink::Heard(Clock::time_point now) {
  last_heard_ = now;
  heard_since_connect_ = true;
}

bool BrokerLink::Silent(Clock::time_point now) const {
  return now - last_heard_ >= kLivenessIntervals * heartbeat_;
}

bool BrokerLink::HeartbeatDue(Clock::time_point now) const { return now - last_sent_ >= heartbeat_; }

Clock::time_point BrokerLink::NextDeadline() const {
  return std::min(last_heard_ + kLivenessIntervals * heartbeat_, last_sent_ + heartbeat_);
}

void BrokerLink::Close(std::chrono::milliseconds linger) {
  if (!socket_) return;
  socket_->set(zmq::sockopt::linger, static_cast<int>(linger.count()));
  socket_->close();
  socket_.reset();
}

}  // namespace sluice::worker
