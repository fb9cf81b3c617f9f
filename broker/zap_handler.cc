#include "broker/zap_handler.h"

#include <chrono>
#include <vector>

#include "broker/log.h"
#include "schemas/curve_cert.h"

namespace sluice::broker {
namespace {

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a log line may show of a peer's bytes: printable ASCII, bounded.
std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 128)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context) : context_(context) {}

ZapHandler::~ZapHandler() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

Status ZapHandler::Start(std::shared_ptr<const AuthorizedKeys> keys) {
  SetKeys(std::move(keys));
  try {
    socket_ = zmq::socket_t(context_, zmq::socket_type::rep);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
  } catch (const zmq::error_t& e) {
    return Status::Internal(std::string("cannot start the ZAP handler: ") + e.what());
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void ZapHandler::SetKeys(std::shared_ptr<const AuthorizedKeys> keys) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_ = std::move(keys);
}

void ZapHandler::Loop() {
  while (!stop_.load()) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
      // version, request id, domain, address, identity, mechanism, credentials...
      std::vector<zmq::message_t> frames;  // the first 16 frames; the rest are read and dropped
      for (bool more = true; more;) {
        zmq::message_t m;
        if (!socket_.recv(m)) break;
        more = m.more();
        if (frames.size() < 16) frames.push_back(std::move(m));
      }
      auto text = [&](std::size_t i) { return i < frames.size() ? frames[i].to_string() : std::string(); };
      std::string status = "400", status_text = "not authorized", user_id;
      const std::string address = text(3), mechanism = text(5);
      std::string key;
      if (text(0) != "1.0") {
        status = "500";
        status_text = "unsupported ZAP version";
      } else if (mechanism != "CURVE" || frames.size() < 7 || frames[6].size() != 32) {
        status_text = "CURVE is required";
        LogRefusal(address, "", "not a CURVE handshake");
      } else {
        char z85[curve::kKeyZ85Length + 1];
        zmq_z85_encode(z85, static_cast<const std::uint8_t*>(frames[6].data()), 32);
        key = z85;
        std::shared_ptr<const AuthorizedKeys> keys;
        {
          std::lock_guard<std::mutex> lock(mu_);
          keys = keys_;
        }
        if (keys && keys->Find(key) != nullptr) {
          status = "200";
          status_text = "OK";
          user_id = key;
        } else {
          LogRefusal(address, key, "key not authorized");
        }
      }
      if (status != "200") refused_++;
      const std::string reply[] = {"1.0", text(1), status, status_text, user_id, ""};
      for (std::size_t i = 0; i < std::size(reply); ++i)
        socket_.send(zmq::buffer(reply[i]), i + 1 < std::size(reply) ? zmq::send_flags::sndmore : zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      Logf("ZAP handler: %s", e.what());
      // A REP socket out of step: start over.
      try {
        socket_.close();
        socket_ = zmq::socket_t(context_, zmq::socket_type::rep);
        socket_.set(zmq::sockopt::linger, 0);
        socket_.bind("inproc://zeromq.zap.01");
      } catch (const zmq::error_t&) {
        return;
      }
    }
  }
  socket_.close();
}

void ZapHandler::LogRefusal(const std::string& address, const std::string& key, const char* why) {
  const std::int64_t now = SteadyMs();
  if (now - window_start_ms_ >= kLogWindowMs) {
    if (unlogged_ > 0)
      Logf("refused %llu more handshakes in the last %llds (not logged one by one)",
           static_cast<unsigned long long>(unlogged_), static_cast<long long>(kLogWindowMs / 1000));
    window_start_ms_ = now;
    logged_in_window_ = 0;
    unlogged_ = 0;
  }
  if (logged_in_window_ >= kLogBurst) {
    unlogged_++;
    return;
  }
  logged_in_window_++;
  Logf("refused a handshake from %s (key %s): %s", Printable(address).c_str(),
       key.empty() ? "none" : key.c_str(), why);
}

}  // namespace sluice::broker
