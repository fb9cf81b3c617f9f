#include "workers/broker_link.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <random>

#include "schemas/envelope.h"

namespace sluice::worker {

std::chrono::milliseconds ReconnectPatience(std::uint64_t failures, std::chrono::milliseconds base,
                                            std::chrono::milliseconds cap, double jitter) {
  if (failures == 0) return base;
  // base * 2^(failures-1), doubling only while under the cap (no overflow).
  std::chrono::milliseconds wait = base;
  for (std::uint64_t i = 1; i < failures && wait < cap; ++i) wait *= 2;
  wait = std::min(wait, cap);
  if (!(jitter > 0)) jitter = 0;  // also NaN
  if (jitter >= 1) jitter = std::nextafter(1.0, 0.0);
  const double extra = static_cast<double>(wait.count()) * kMaxBackoffJitter * jitter;
  return wait + std::chrono::milliseconds(static_cast<long long>(extra));
}

namespace {

std::function<double()> DefaultRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

int ClampMs(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<long long>(d.count(), 1, INT_MAX));
}

}  // namespace

BrokerLink::BrokerLink(zmq::context_t& context, std::string endpoint,
                       std::chrono::milliseconds heartbeat, curve::ClientKeys keys,
                       std::function<double()> random01)
    : context_(context),
      endpoint_(std::move(endpoint)),
      heartbeat_(heartbeat),
      base_(kLivenessIntervals * heartbeat),
      cap_(kBackoffCapBases * base_),
      keys_(std::move(keys)),
      random01_(random01 ? std::move(random01) : DefaultRandom()),
      patience_(base_),
      next_patience_(base_) {}

void BrokerLink::Reconnect(Clock::time_point now) {
  give_up_at_ = now + next_patience_;  // also when this attempt throws: no retry in a tight loop
  auto socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  socket->set(zmq::sockopt::linger, 0);
  // Outbound traffic is bounded by the protocol (one RESULT per JOB, and the
  // broker sends no more JOBs than there are slots), so never refuse a send
  // for a full queue: a refused RESULT would sit unsent until a reconnect.
  socket->set(zmq::sockopt::sndhwm, 0);
  socket->set(zmq::sockopt::maxmsgsize, proto::kMaxMessageBytes);
  // libzmq's own TCP reconnects back off too (plus its own jitter of up to
  // one reconnect_ivl), from 100 ms up to one base patience.
  const std::chrono::milliseconds ivl = std::min(kTcpReconnectIvl, base_);
  socket->set(zmq::sockopt::reconnect_ivl, ClampMs(ivl));
  socket->set(zmq::sockopt::reconnect_ivl_max, ClampMs(std::max(ivl, base_)));
  curve::ApplyClientKeys(*socket, keys_);
  socket->connect(endpoint_);  // throws for a malformed endpoint; the old socket stays
  if (socket_) Close(std::chrono::milliseconds(0));
  socket_ = std::move(socket);
  patience_ = next_patience_;
  give_up_at_ = now + patience_;
  last_sent_ = now;
  heard_since_connect_ = false;
  refused_ = false;
}

bool BrokerLink::Send(proto::Command command, std::string_view body, Clock::time_point now) {
  if (!socket_ || refused_) return false;
  last_sent_ = now;
  return proto::SendMessage(*socket_, {}, command, body);
}

void BrokerLink::PlanNext() {
  next_patience_ = ReconnectPatience(failures_, base_, cap_, failures_ == 0 ? 0.0 : random01_());
}

void BrokerLink::Heard(Clock::time_point now) {
  heard_since_connect_ = true;
  refused_ = false;
  if (failures_ != 0) {
    failures_ = 0;
    PlanNext();
  }
  patience_ = base_;
  give_up_at_ = now + base_;
}

void BrokerLink::CountFailure() {
  ++failures_;
  PlanNext();
}

void BrokerLink::Refuse(Clock::time_point now) {
  CountFailure();
  refused_ = true;
  patience_ = next_patience_;
  give_up_at_ = now + patience_;
}

bool BrokerLink::HeartbeatDue(Clock::time_point now) const {
  return !refused_ && now - last_sent_ >= heartbeat_;
}

Clock::time_point BrokerLink::NextDeadline() const {
  if (refused_) return give_up_at_;
  return std::min(give_up_at_, last_sent_ + heartbeat_);
}

void BrokerLink::Close(std::chrono::milliseconds linger) {
  if (!socket_) return;
  socket_->set(zmq::sockopt::linger, static_cast<int>(linger.count()));
  socket_->close();
  socket_.reset();
}

}  // namespace sluice::worker
