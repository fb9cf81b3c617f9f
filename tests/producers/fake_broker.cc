#include "tests/producers/fake_broker.h"

#include <chrono>
#include <stdexcept>

#include <zmq.hpp>

#include "schemas/envelope.h"

namespace sluice::testing {

using json = nlohmann::json;

namespace {
std::uint64_t ReqOf(const FakeBroker::Request& r) {
  return r.body.is_object() ? r.body.value("req", std::uint64_t{0}) : 0;
}
}  // namespace

FakeBroker::FakeBroker(Handler handler) : handler_(std::move(handler)) {
  std::atomic<bool> bound{false};
  std::string endpoint;
  thread_ = std::thread([this, &endpoint, &bound] { Serve(&endpoint, &bound); });
  while (!bound.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  endpoint_ = endpoint;
  if (endpoint_.empty()) throw std::runtime_error("FakeBroker: could not bind");
}

FakeBroker::~FakeBroker() {
  stop_ = true;
  thread_.join();
}

void FakeBroker::Serve(std::string* endpoint, std::atomic<bool>* bound) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::router);
  socket.set(zmq::sockopt::linger, 0);
  try {
    socket.bind("tcp://127.0.0.1:*");
    *endpoint = socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t&) {
  }
  bound->store(true);
  if (endpoint->empty()) return;
  while (!stop_.load()) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(20));
    proto::Incoming in;
    proto::FrameError error;
    while (proto::ReceiveMessage(socket, true, &in, &error)) {
      if (error != proto::FrameError::kNone) continue;
      Request r{static_cast<proto::Command>(in.command), json(), std::string(in.body)};
      if (!in.body.empty()) r.body = json::from_msgpack(r.raw.begin(), r.raw.end(), true, false);
      if (r.body.is_discarded()) r.body = json();
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
      }
      for (const Answer& a : handler_(r)) {
        std::string body;
        if (a.body.is_string())
          body = a.body.get<std::string>();
        else
          json::to_msgpack(a.body, body);
        proto::SendMessage(socket, in.routing_id, a.command, body);
      }
    }
  }
}

std::vector<FakeBroker::Request> FakeBroker::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::size_t FakeBroker::count(proto::Command command) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& r : requests_) n += r.command == command;
  return n;
}

FakeBroker::Answer FakeBroker::Reply(const Request& request, json fields) {
  fields["req"] = ReqOf(request);
  fields["ok"] = true;
  return {proto::Command::kReply, std::move(fields)};
}

FakeBroker::Answer FakeBroker::Error(const Request& request, std::string code, std::string message) {
  return {proto::Command::kError,
          {{"req", ReqOf(request)}, {"ok", false}, {"code", code}, {"message", message}}};
}

}  // namespace sluice::testing
