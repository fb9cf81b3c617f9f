#include "bench/zmq_floor.h"

#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench/measure.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kIdleMs = 50;  // how often the relay threads look at the stop flag

std::string LastEndpoint(zmq::socket_t& s) { return s.get(zmq::sockopt::last_endpoint); }

// Receives every frame of one message; false when nothing came in time.
// With timeout 0 (a caller that has just polled) it only tries a receive:
// no second poll of the socket's mailbox.
bool ReceiveAll(zmq::socket_t& s, std::vector<zmq::message_t>* frames, int timeout_ms) {
  if (timeout_ms != 0) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) <= 0) return false;
  }
  frames->clear();
  frames->emplace_back();
  if (!s.recv(frames->back(), zmq::recv_flags::dontwait)) return false;
  while (frames->back().more()) {
    frames->emplace_back();
    if (!s.recv(frames->back(), zmq::recv_flags::none)) return false;
  }
  return true;
}

void SendAll(zmq::socket_t& s, std::vector<zmq::message_t>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    (void)s.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

}  // namespace

bool MeasureZmqFloor(long count, long per_tick, long tick_us, long deadline_s, FloorResult* out) {
  if (count <= 0 || per_tick <= 0 || tick_us <= 0) return true;
  std::atomic<bool> stop{false};
  zmq::context_t relay_ctx(1), worker_ctx(1), client_ctx(1);
  // The relay ("broker"): a ROUTER for the producer, one for the worker.
  zmq::socket_t front(relay_ctx, zmq::socket_type::router), back(relay_ctx, zmq::socket_type::router);
  for (zmq::socket_t* s : {&front, &back}) {
    s->set(zmq::sockopt::linger, 0);
    s->bind("tcp://127.0.0.1:*");
  }
  const std::string front_ep = LastEndpoint(front), back_ep = LastEndpoint(back);
  std::thread relay([&] {
    std::string worker_id;
    std::vector<zmq::message_t> frames;
    zmq::pollitem_t items[2] = {{front.handle(), 0, ZMQ_POLLIN, 0}, {back.handle(), 0, ZMQ_POLLIN, 0}};
    while (!stop.load()) {
      if (zmq::poll(items, 2, std::chrono::milliseconds(kIdleMs)) <= 0) continue;
      if ((items[1].revents & ZMQ_POLLIN) && ReceiveAll(back, &frames, 0)) {
        // [worker, client, body]: a hello names the worker; an echo goes back.
        if (frames.size() == 2) worker_id = frames[0].to_string();
        else if (frames.size() == 3) {
          frames.erase(frames.begin());
          SendAll(front, frames);
        }
      }
      if ((items[0].revents & ZMQ_POLLIN) && ReceiveAll(front, &frames, 0) && !worker_id.empty()) {
        frames.insert(frames.begin(), zmq::message_t(worker_id.data(), worker_id.size()));
        SendAll(back, frames);  // [worker, client, body]
      }
    }
  });
  zmq::socket_t worker(worker_ctx, zmq::socket_type::dealer);
  worker.set(zmq::sockopt::linger, 0);
  worker.connect(back_ep);
  std::thread echo([&] {
    std::vector<zmq::message_t> frames;
    (void)worker.send(zmq::buffer("hello", 5), zmq::send_flags::none);
    while (!stop.load())
      if (ReceiveAll(worker, &frames, kIdleMs)) SendAll(worker, frames);
  });
  auto finish = [&] {
    stop = true;
    relay.join();
    echo.join();
  };

  zmq::socket_t client(client_ctx, zmq::socket_type::dealer);
  client.set(zmq::sockopt::linger, 0);
  client.connect(front_ep);
  const auto deadline = Clock::now() + std::chrono::seconds(deadline_s);
  // One round trip first: the relay knows the worker and every connection is up.
  std::vector<zmq::message_t> frames;
  bool up = false;
  while (!up && Clock::now() < deadline) {
    (void)client.send(zmq::buffer("warm", 4), zmq::send_flags::none);
    up = ReceiveAll(client, &frames, 100);
  }
  if (!up) {
    std::cerr << "the zmq floor's relay did not answer\n";
    finish();
    return false;
  }
  while (ReceiveAll(client, &frames, 0)) {}  // late answers to the retried warm-ups

  const int timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (timer_fd < 0) {
    std::perror("timerfd_create");
    finish();
    return false;
  }
  std::vector<std::int64_t> lat;
  lat.reserve(static_cast<std::size_t>(count));
  std::vector<std::int64_t> scheduled;  // by message number
  scheduled.reserve(static_cast<std::size_t>(count));
  std::string body(96, 'j');  // about a no-op JOB's size
  auto take = [&](int timeout_ms) {
    if (!ReceiveAll(client, &frames, timeout_ms)) return false;
    std::uint32_t n;
    if (frames.back().size() < sizeof n) return true;
    std::memcpy(&n, frames.back().data(), sizeof n);
    if (n < scheduled.size()) lat.push_back(SteadyUs(Clock::now()) - scheduled[n]);
    return true;
  };
  const auto start = Clock::now() + std::chrono::microseconds(tick_us);
  long sent = 0, tick = 0;
  bool ok = true;
  while (sent < count && ok) {
    const auto due = start + std::chrono::microseconds(tick * tick_us);
    const auto due_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(due_ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(due_ns % 1000000000);
    ::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr);
    while (Clock::now() < due) {
      zmq::pollitem_t items[2] = {{client.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, timer_fd, ZMQ_POLLIN, 0}};
      if (zmq::poll(items, 2, std::chrono::milliseconds(-1)) <= 0) continue;
      if (items[0].revents & ZMQ_POLLIN) (void)take(0);
      if (items[1].revents & ZMQ_POLLIN) {
        std::uint64_t expirations;
        (void)!::read(timer_fd, &expirations, sizeof expirations);
      }
    }
    for (long i = 0; i < per_tick && sent < count; ++i, ++sent) {
      const auto n = static_cast<std::uint32_t>(scheduled.size());
      scheduled.push_back(SteadyUs(due));
      std::memcpy(body.data(), &n, sizeof n);
      (void)client.send(zmq::buffer(body), zmq::send_flags::none);
    }
    ++tick;
    if (Clock::now() > deadline) ok = false;
  }
  while (ok && static_cast<long>(lat.size()) < count) {
    if (Clock::now() > deadline) ok = false;
    else (void)take(100);
  }
  ::close(timer_fd);
  finish();
  if (!ok) {
    std::cerr << "the zmq floor: " << lat.size() << " of " << count << " echoes before the deadline\n";
    return false;
  }
  std::sort(lat.begin(), lat.end());
  out->messages = count;
  out->p50_us = Quantile(lat, 0.50);
  out->p90_us = Quantile(lat, 0.90);
  out->p99_us = Quantile(lat, 0.99);
  out->max_us = static_cast<double>(lat.back());
  return true;
}

}  // namespace sluice::bench
