// The in-process broker test fixture: the broker's event loop on a thread,
// with a clock the test moves, talking the real protocol over TCP to DEALER
// sockets played by the test (Peer).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/broker.h"
#include "schemas/envelope.h"
#include "schemas/messages.h"

namespace sluice::broker::testing {

using proto::Command;
using json = nlohmann::json;

// Moving it on wakes the broker it is attached to, which looks at its
// timers at once (no waiting for the loop's next timeout).
class FakeClock : public Clock {
 public:
  std::int64_t NowMs() const override { return now_.load(); }
  void Advance(std::int64_t ms) {
    now_ += ms;
    if (const Broker* b = broker_.load()) b->Wake();
  }
  void Attach(const Broker* b) { broker_.store(b); }

 private:
  std::atomic<std::int64_t> now_{1'800'000'000'000};
  std::atomic<const Broker*> broker_{nullptr};
};

struct Msg {
  std::uint8_t cmd = 0;
  std::string body;
  json Json() const { return body.empty() ? json::object() : json::from_msgpack(body); }
};

// A DEALER peer speaking SLUICE1.
class Peer {
 public:
  Peer(zmq::context_t& ctx, const std::string& endpoint) : s_(ctx, zmq::socket_type::dealer) {
    s_.set(zmq::sockopt::linger, 0);
    s_.connect(endpoint);
  }
  void Send(Command c, const std::string& body) { ASSERT_TRUE(proto::SendMessage(s_, {}, c, body)); }
  void SendJson(Command c, const json& j) {
    auto v = json::to_msgpack(j);
    Send(c, std::string(v.begin(), v.end()));
  }
  // The next message, skipping HEARTBEATs; cmd 0 on timeout.
  Msg Recv(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return {};
      zmq_pollitem_t item{s_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, static_cast<long>(left)) <= 0) continue;
      proto::Incoming in;
      proto::FrameError err;
      if (!proto::ReceiveMessage(s_, false, &in, &err)) continue;
      if (in.command == static_cast<std::uint8_t>(Command::kHeartbeat)) continue;
      return {in.command, std::string(in.body)};
    }
  }
  // A fence, for checking that the broker sends this peer nothing (more):
  // it answers one connection's requests in order, and sends what a turn
  // produced before the replies of later turns. After two STATS round trips
  // everything the broker was going to send because of what happened before
  // this call has arrived. Returns those messages (HEARTBEATs left out).
  std::vector<Msg> UntilFence() {
    std::vector<Msg> before;
    for (int round = 0; round < 2; ++round) {
      const std::uint64_t req = ++req_;
      SendJson(Command::kStats, {{"req", req}});
      while (true) {
        Msg m = Recv(10000);
        if (m.cmd == 0) {
          ADD_FAILURE() << "no reply to the fence";
          return before;
        }
        if (m.cmd == static_cast<std::uint8_t>(Command::kReply) && m.Json().value("req", 0u) == req) break;
        before.push_back(std::move(m));
      }
    }
    return before;
  }
  json Request(Command c, json body) {
    body["req"] = ++req_;
    SendJson(c, body);
    Msg m = Recv();
    EXPECT_NE(m.cmd, 0) << "no reply";
    return m.cmd ? m.Json() : json::object();
  }
  void Ready(const std::string& id, std::uint32_t slots, std::vector<proto::JobAttempt> running = {},
             std::uint32_t hb = 1000, std::uint32_t prefetch = 0,
             std::vector<std::string> kinds = {"k"}, bool adaptive = false) {
    proto::Ready r;
    r.prefetch = prefetch;
    r.adaptive = adaptive;
    r.worker = id;
    r.host = "test-host";
    r.kinds = std::move(kinds);
    r.slots = slots;
    r.heartbeat_ms = hb;
    r.running = std::move(running);
    std::string b;
    proto::Encode(r, &b);
    Send(Command::kReady, b);
  }
  void Result(const std::string& job, std::uint32_t attempt, Outcome o, std::string error = {},
              bool retryable = true) {
    proto::JobResult r;
    r.job = job;
    r.attempt = attempt;
    r.retryable = retryable;
    r.outcome = o;
    r.error = std::move(error);
    std::string b;
    proto::Encode(r, &b);
    Send(Command::kResult, b);
  }

 private:
  zmq::socket_t s_;
  std::uint64_t req_ = 0;
};

class BrokerLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-loop-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    config_.endpoint = "tcp://127.0.0.1:*";
    config_.state_path = (dir_ / "state.sqlite").string();
    config_.retry.base_ms = 10000;
  }
  void TearDown() override {
    StopBroker();
    std::filesystem::remove_all(dir_);
  }
  void StartBroker() {
    stop_ = false;
    broker_ = std::make_unique<Broker>(config_, &clock_);
    sluice::Status s = broker_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    endpoint_ = broker_->bound_endpoint();
    config_.endpoint = endpoint_;  // a restart binds the same port
    clock_.Attach(broker_.get());
    thread_ = std::thread([this] { run_status_ = broker_->Run(stop_); });
  }
  void StopBroker() {
    if (!broker_) return;
    stop_ = true;
    broker_->Wake();
    thread_.join();
    clock_.Attach(nullptr);
    EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
    broker_.reset();
  }
  std::string Submit(Peer& c, json spec) {
    json r = c.Request(Command::kSubmit, {{"jobs", json::array({spec})}});
    return r["jobs"][0]["id"];
  }
  json Status(Peer& c, const std::string& id) { return c.Request(Command::kStatus, {{"id", id}}); }
  json Stats(Peer& c) { return c.Request(Command::kStats, json::object())["stats"]; }

  FakeClock clock_;
  BrokerConfig config_;
  std::filesystem::path dir_;
  std::unique_ptr<Broker> broker_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  sluice::Status run_status_;
  std::string endpoint_;
  zmq::context_t ctx_{1};
};

}  // namespace sluice::broker::testing
